from __future__ import annotations

import json

from typer.testing import CliRunner

from kefuguard.cli import app
from tests.sales.data import write_all


def test_kpi_json(tmp_path):
    chats, orders, refunds = write_all(tmp_path)
    result = CliRunner().invoke(app, ["kpi", str(chats), "--orders", str(orders), "--refunds", str(refunds), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["profile"], data["orders"], data["silent_orders"]) == ("last_manual_24h", 10, 4)
    shop = next(r for r in data["rows"] if r["level"] == "shop" and r["shop"] == "拼店" and r["day"] == "2024-05-01")
    assert shop["conversion_rate"] == 0.5 and shop["results"][0]["passed"] is True
    assert data["import"]["orders"]["accepted"] == 10 and data["import"]["refunds"]["accepted"] == 3


def test_kpi_table_and_profile(tmp_path):
    chats, orders, _ = write_all(tmp_path)
    result = CliRunner().invoke(app, ["kpi", str(chats), "--orders", str(orders), "--profile", "same_day"])
    assert result.exit_code == 0, result.output
    assert "same_day" in result.output and "静默下单 5" in result.output
    bad = CliRunner().invoke(app, ["kpi", str(chats), "--orders", str(orders), "--profile", "nope"])
    assert bad.exit_code == 2 and "unknown attribution profile" in bad.output


def test_kpi_chat_map_reads_unknown_chat_headers(tmp_path):
    from tests.sales.data import CHAT_HEADER, CHATS, write_csv

    _, orders, _ = write_all(tmp_path)
    chats = write_csv(tmp_path / "odd.csv", ["会话编号X", *CHAT_HEADER[1:]], CHATS)
    bare = CliRunner().invoke(app, ["kpi", str(chats), "--orders", str(orders), "--json"])
    assert bare.exit_code != 0 or json.loads(bare.output)["import"]["chats"]["accepted"] == 0
    mapped = CliRunner().invoke(app, ["kpi", str(chats), "--orders", str(orders), "--json",
                                      "--chat-map", "会话编号X=conversation_id"])
    assert mapped.exit_code == 0, mapped.output
    assert json.loads(mapped.output)["import"]["chats"]["accepted"] == len(CHATS)


def test_a_column_map_without_both_sides_is_refused_alike_by_kpi_and_audit(tmp_path):
    chats, orders, _ = write_all(tmp_path)
    kpi = CliRunner().invoke(app, ["kpi", str(chats), "--orders", str(orders), "--refund-map", "=order_id"])
    assert kpi.exit_code == 2 and "--refund-map 需要 源列名=字段" in kpi.output
    audit = CliRunner().invoke(app, ["audit", str(chats), "--orders", str(orders), "--order-map", "单号",
                                     "--out", str(tmp_path / "o"), "--lang", "en"])
    assert audit.exit_code == 2 and "--order-map needs SOURCE=FIELD" in audit.output
