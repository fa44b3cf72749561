"""Importers and conversation assembly, end to end on small files written by the tests."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import tempfile
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from kefuguard.conversation.assemble import assemble_conversations, record_message
from kefuguard.conversation.model import SHANGHAI, Conversation, Message, Role
from kefuguard.io import ColumnError, ImportStats, Reject, RejectsWriter, import_logs, read_messages

ZH_HEADER = ["会话ID", "平台", "店铺", "客服账号", "买家", "角色", "发送时间", "消息内容", "快捷回复", "自动回复",
             "下单时间", "实付金额"]


def zh_row(cid: str, role: str, time: str, text: str, *, agent: str = "kf01", platform: str = "拼多多",
           shop: str = "旗舰店", quick: str = "否", auto: str = "否", order_time: str = "", paid: str = "") -> list[str]:
    return [cid, platform, shop, agent, "买家甲", role, time, text, quick, auto, order_time, paid]


def write_csv(path: Path, header: list[str], rows: list[list[Any]], encoding: str = "utf-8",
              delimiter: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def collect(paths: list[Path], **kwargs: Any) -> tuple[list[Conversation], ImportStats, list[Reject]]:
    rejects: list[Reject] = []
    convs, stats = import_logs(paths, rejects=rejects.append, **kwargs)
    out = list(convs)
    assert_balanced(stats, out, rejects)
    return out, stats, rejects


def assert_balanced(stats: ImportStats, convs: list[Conversation], rejects: list[Reject]) -> None:
    """Nothing silently dropped: every read row is a message out, a duplicate or a reject."""
    stats.verify()
    assert stats.read == stats.accepted + stats.duplicates + stats.rejected
    assert sum(len(c.messages) for c in convs) == stats.accepted
    assert len(rejects) == stats.rejected
    for f in stats.files.values():
        assert f.balanced


def by_id(convs: list[Conversation]) -> dict[str, Conversation]:
    return {c.conversation_id: c for c in convs}


# --- formats and encodings ----------------------------------------------------------------------


def test_gbk_csv_with_chinese_headers(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "导出.csv", ZH_HEADER, [
        zh_row("C1", "买家", "2024-05-01 10:00:00", "你好，这个裤子有货吗？"),
        zh_row("C1", "客服", "2024-05-01 10:00:40", "亲，有货的哦，喆、镕等生僻字也没问题", quick="是"),
        zh_row("C2", "顾客", "2024/05/01 11:00", "发货了吗", order_time="2024-04-30 09:00:00", paid="￥59.90"),
    ], encoding="gbk")
    convs, stats, rejects = collect([path])
    assert rejects == []
    assert stats.files[str(path)].encoding == "gb18030"
    c1 = by_id(convs)["C1"]
    assert c1.platform == "pinduoduo" and c1.shop == "旗舰店"
    assert [m.text for m in c1.messages] == ["你好，这个裤子有货吗？", "亲，有货的哦，喆、镕等生僻字也没问题"]
    assert c1.messages[1].role is Role.agent and c1.messages[1].quick_reply is True
    assert c1.messages[0].source == f"{path}:2"
    c2 = by_id(convs)["C2"].messages[0]
    assert c2.paid_amount == 59.9
    assert c2.order_time == dt.datetime(2024, 4, 30, 9, tzinfo=SHANGHAI)


def test_gb18030_only_characters(tmp_path: Path) -> None:
    # '𠮷' is outside GBK: only gb18030 decodes it, which is why that is the codec used.
    path = write_csv(tmp_path / "x.csv", ZH_HEADER, [
        zh_row("C1", "买家", "2024-05-01 10:00:00", "我姓吉，不是𠮷，请备注"),
        zh_row("C1", "客服", "2024-05-01 10:00:10", "好的亲，已经为您备注了"),
    ], encoding="gb18030")
    convs, _, rejects = collect([path])
    assert rejects == []
    assert convs[0].messages[0].text == "我姓吉，不是𠮷，请备注"


def test_utf8_bom_csv(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bom.csv", ZH_HEADER, [zh_row("C1", "买家", "2024-05-01 10:00:00", "在吗")],
                     encoding="utf-8-sig")
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    convs, stats, _ = collect([path])
    assert stats.files[str(path)].encoding == "utf-8-sig"
    assert convs[0].conversation_id == "C1"  # the BOM did not glue itself onto the first header


def test_tsv_with_crlf_and_multiline_text(tmp_path: Path) -> None:
    path = tmp_path / "x.tsv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\r\n")
        writer.writerow(["会话ID", "角色", "发送时间", "消息内容"])
        writer.writerow(["C1", "客服", "2024-05-01 10:00:00", "第一行\r\n第二行"])
        writer.writerow(["C1", "买家", "", "缺时间"])
    convs, _, rejects = collect([path], platform="淘宝", shop="小店")
    assert convs[0].messages[0].text == "第一行\r\n第二行"
    assert convs[0].platform == "taobao" and convs[0].shop == "小店"
    # The quoted record spans lines 2–3, so the bad row is on line 4 in an editor.
    assert [(r.line, r.reason) for r in rejects] == [(4, "发送时间为空 missing sent_at")]


def test_jsonl_with_native_types(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    lines = [
        {"conversation_id": "J1", "platform": "douyin", "shop": "抖店A", "agent_id": 1001, "role": "agent",
         "sent_at": 1714528923000, "text": "您好", "auto_reply": True, "paid_amount": 12},
        {"conversation_id": "J1", "platform": "douyin", "shop": "抖店A", "role": "buyer",
         "sent_at": "2024-05-01T10:01:00+08:00", "text": "发货", "buyer_reported": "是", "extra": {"a": 1}},
    ]
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n", encoding="utf-8")
    convs, stats, rejects = collect([path])
    assert rejects == []
    assert stats.files[str(path)].blank == 1
    assert stats.files[str(path)].ignored_columns == ["extra"]
    buyer, agent = convs[0].messages  # sorted by time: 10:01:00, then 10:02:03
    assert agent.agent_id == "1001" and agent.auto_reply and not agent.is_manual_reply
    assert agent.sent_at == dt.datetime(2024, 5, 1, 10, 2, 3, tzinfo=SHANGHAI)
    assert agent.paid_amount == 12.0
    assert buyer.buyer_reported is True and buyer.source == f"{path}:2"


def test_jsonl_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    good = {"会话ID": "J1", "平台": "京东", "店铺": "京东店", "角色": "买家", "发送时间": "2024-05-01 10:00:00",
            "消息内容": "你好"}
    path.write_text(
        json.dumps(good, ensure_ascii=False) + "\n"
        + '{"会话ID": "J1", "角色": \n'
        + "[1, 2]\n"
        + json.dumps({**good, "平台": "亚马逊"}, ensure_ascii=False) + "\n"
        + json.dumps({**good, "消息内容": ""}, ensure_ascii=False) + "\n"
        + json.dumps({**good, "角色": ["买家"]}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    convs, _, rejects = collect([path])
    assert len(convs[0].messages) == 1
    assert [r.line for r in rejects] == [2, 3, 4, 5, 6]
    assert rejects[4].reason.startswith("值类型无效 invalid cell value")
    assert rejects[0].reason.startswith("格式错误(JSON) malformed JSON")
    assert rejects[1].reason == "非JSON对象 not a JSON object: list"
    assert rejects[2].reason == "未知平台 unknown platform '亚马逊'"
    assert rejects[3].reason == "消息内容为空 empty text"
    assert rejects[1].raw == "[1, 2]"


def test_jsonl_whitespace_and_trailing_data(tmp_path: Path) -> None:
    obj = json.dumps({"conversation_id": "W", "role": "buyer", "sent_at": "2024-05-01 10:00:00", "text": "hi"})
    path = tmp_path / "w.ndjson"
    path.write_text(f"  {obj}  \r\n   \n{obj} x\n", encoding="utf-8")
    convs, stats, rejects = collect([path], platform="jd", shop="s")
    assert [m.text for m in convs[0].messages] == ["hi"]
    assert stats.files[str(path)].blank == 1
    assert [(r.line, r.reason.split(" ")[0]) for r in rejects] == [(3, "格式错误(JSON)")]


def test_xlsx_sheets_rows_and_cell_types(tmp_path: Path) -> None:
    header = ["会话编号", "店铺名称", "客服", "发送方", "时间", "内容", "实付金额"]
    path = write_xlsx(tmp_path / "导出.xlsx", {
        "说明": [["本文件由系统导出"], ["请勿修改"]],
        "5月1日": [
            ["拼多多聊天记录导出 2024-05-01"],  # title row above the header
            header,
            [123456, "A店", "kf1", "买家", dt.datetime(2024, 5, 1, 10, 0, 0), "在吗", None],
            [None, None, None, None, None, None, None],
            [123456, "A店", "kf1", "客服", "2024-05-01 10:00:30", "在的亲", 19.9],
            [123456, "A店", "kf1", "客服", None, "无时间", None],
        ],
    })
    convs, stats, rejects = collect([path], platform="pinduoduo")
    fstats = stats.files[str(path)]
    assert fstats.skipped_sheets == ["说明"]
    assert fstats.preamble == 1 and fstats.blank == 1 and fstats.read == 3
    conv = convs[0]
    assert conv.conversation_id == "123456"  # an Excel number, not "123456.0"
    assert [m.text for m in conv.messages] == ["在吗", "在的亲"]
    assert conv.messages[0].sent_at == dt.datetime(2024, 5, 1, 10, tzinfo=SHANGHAI)
    assert conv.messages[0].source == f"{path}[5月1日]:3"
    assert conv.messages[1].paid_amount == 19.9
    [reject] = rejects
    assert (reject.sheet, reject.line, reject.reason) == ("5月1日", 6, "发送时间为空 missing sent_at")
    assert reject.raw.startswith("123456\tA店\tkf1\t客服\t\t无时间")


def test_undecodable_line_becomes_a_reject(tmp_path: Path) -> None:
    header = "会话ID,平台,店铺,客服账号,角色,发送时间,消息内容,快捷回复\n"
    good = "C1,拼多多,店,kf,买家,2024-05-01 10:00:00,在吗,否\n"
    bad = "C1,拼多多,店,kf,客服,2024-05-01 10:00:05,亲您好,否\n".encode("gbk")
    path = tmp_path / "mixed.csv"
    path.write_bytes(header.encode() + good.encode() + bad + good.replace("10:00:00", "10:01:00").encode())
    convs, stats, rejects = collect([path])
    assert stats.files[str(path)].encoding == "utf-8"
    assert [m.text for m in convs[0].messages] == ["在吗", "在吗"]
    [reject] = rejects
    assert reject.line == 3 and reject.reason == "编码错误(无法按utf-8解码) undecodable bytes for utf-8"
    assert "\\x" in reject.raw  # the bad bytes are shown, escaped


def test_bad_rows_rejected_with_line_and_reason(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", ZH_HEADER, [
        zh_row("C1", "买家", "2024-05-01 10:00:00", "好的"),                  # 2 ok
        zh_row("C1", "客服", "", "没有时间"),                                # 3
        zh_row("C1", "店长", "2024-05-01 10:00:02", "角色不对"),              # 4
        zh_row("C1", "客服", "2024-05-01 10:00:03", "  "),                  # 5
        zh_row("C1", "客服", "2024-05-01 10:00:04", "平台不对", platform="亚马逊"),  # 6
        ["C1", "拼多多", "旗舰店"],                                          # 7
        zh_row("", "客服", "2024-05-01 10:00:05", "无会话"),                  # 8
        zh_row("C1", "客服", "2024-05-01 10:00:06", "金额", paid="-5"),       # 9
        zh_row("C1", "客服", "2024-05-01 10:00:07", "布尔", quick="也许"),    # 10
        zh_row("C1", "客服", "昨天下午", "坏时间"),                           # 11
    ])
    rejects_csv = tmp_path / "out" / "rejects.csv"
    convs, stats = import_logs([path], rejects=rejects_csv)
    out = list(convs)
    assert sum(len(c.messages) for c in out) == 1
    assert (stats.read, stats.accepted, stats.rejected, stats.duplicates) == (10, 1, 9, 0)

    raw = rejects_csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM so Excel reads it as UTF-8
    with rejects_csv.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["文件 file", "工作表 sheet", "行号 line", "原因 reason", "原始内容 raw"]
    got = [(r[0], int(r[2]), r[3]) for r in rows[1:]]
    assert got == [
        (str(path), 3, "发送时间为空 missing sent_at"),
        (str(path), 4, "未知角色 unknown role '店长'"),
        (str(path), 5, "消息内容为空 empty text"),
        (str(path), 6, "未知平台 unknown platform '亚马逊'"),
        (str(path), 7, "列数不符(应为 12 列，实际 3 列) wrong column count: expected 12, got 3"),
        (str(path), 8, "会话ID为空 empty conversation_id"),
        (str(path), 9, "实付金额无效 bad paid_amount '-5'"),
        (str(path), 10, "快捷回复不是是/否 quick_reply is not a boolean: '也许'"),
        (str(path), 11, "发送时间无法解析 unparseable sent_at: '昨天下午'"),
    ]
    assert rows[1][4] == "C1,拼多多,旗舰店,kf01,买家甲,客服,,没有时间,否,否,,"
    assert stats.files[str(path)].reasons["未知角色"] == 1


def test_malformed_csv_record_is_rejected_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(
        "会话ID,角色,发送时间,消息内容\n"
        "C1,买家,2024-05-01 10:00:00,ok\n"
        "C1,客服,2024-05-01 10:00:01,a\rb\n"
        "C1,客服,2024-05-01 10:00:02,fine\n",
        encoding="utf-8", newline="",
    )
    convs, _, rejects = collect([path], platform="jd", shop="s")
    assert [m.text for m in convs[0].messages] == ["ok", "fine"]
    assert len(rejects) == 1 and rejects[0].reason.startswith("格式错误(CSV)")


def test_file_without_newlines_is_not_hoarded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kefuguard.io.importers as importers

    monkeypatch.setattr(importers, "CHUNK_SIZE", 64)
    monkeypatch.setattr(importers, "MAX_LINE_BYTES", 256)
    path = tmp_path / "mac.csv"  # classic-Mac line ends: no '\n' anywhere
    path.write_text("会话ID,角色,发送时间,消息内容\r" + "C1,买家,2024-05-01 10:00:00,在吗\r" * 40, encoding="utf-8")
    with pytest.raises(ColumnError, match="表头无法解析"):
        import_logs([path], platform="jd", shop="s")


def test_json_array_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('[{"conversation_id": "x"}]', encoding="utf-8")
    with pytest.raises(ColumnError, match="JSONL"):
        import_logs([path])


def test_trailing_empty_cells_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("会话ID,角色,发送时间,消息内容\nC1,买家,2024-05-01 10:00:00,ok,,\n", encoding="utf-8")
    convs, _, rejects = collect([path], platform="jd", shop="s")
    assert rejects == [] and convs[0].messages[0].text == "ok"


# --- columns --------------------------------------------------------------------------------------


def test_unknown_columns_with_mapping(tmp_path: Path) -> None:
    header = ["session", "who", "ts", "content", "store", "seller_nick", "memo"]
    rows = [["S1", "买家", "2024-05-01 10:00:00", "hi", "店1", "kf9", "x"],
            ["S1", "客服", "2024-05-01 10:00:09", "您好", "店1", "kf9", "y"]]
    path = write_csv(tmp_path / "other.csv", header, rows)
    with pytest.raises(ColumnError, match="会话ID"):
        list(import_logs([path], platform="taobao")[0])
    mapping = {"session": "conversation_id", "who": "role", "ts": "sent_at", "content": "text",
               "seller_nick": "agent_id"}
    convs, stats, _ = collect([path], platform="taobao", mapping=mapping)
    conv = convs[0]
    assert (conv.conversation_id, conv.shop, conv.messages[1].agent_id) == ("S1", "店1", "kf9")
    assert stats.files[str(path)].ignored_columns == ["memo"]


def test_missing_platform_column_needs_a_default(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "np.csv", ["会话ID", "店铺", "角色", "发送时间", "消息内容"],
                     [["C1", "店", "买家", "2024-05-01 10:00:00", "hi"]])
    with pytest.raises(ColumnError, match=r"平台\(platform\)"):
        import_logs([path])
    convs, _, _ = collect([path], platform="快手")
    assert convs[0].platform == "kuaishou"


def test_header_errors_surface_before_any_work(tmp_path: Path) -> None:
    good = write_csv(tmp_path / "a.csv", ZH_HEADER, [zh_row("C1", "买家", "2024-05-01 10:00:00", "hi")])
    bad = write_csv(tmp_path / "b.csv", ["foo", "bar"], [["1", "2"]])
    # Alone, a file without a usable header is an error before any work is done...
    with pytest.raises(ColumnError) as info:
        import_logs([bad])
    assert str(bad) in str(info.value)
    # ...next to a readable one it is listed as unreadable (one reject, line 0) and the other is read.
    convs, stats, rejects = collect([good, bad])
    assert [c.conversation_id for c in convs] == ["C1"]
    assert stats.files[str(bad)].status == "unreadable" and "找不到表头" in stats.files[str(bad)].error
    assert [(r.file, r.line) for r in rejects] == [(str(bad), 0)]
    with pytest.raises(FileNotFoundError):
        import_logs([tmp_path / "nope.csv"])


# --- assembly -------------------------------------------------------------------------------------


def test_duplicates_are_dropped_and_counted(tmp_path: Path) -> None:
    a = write_csv(tmp_path / "a.csv", ZH_HEADER, [
        zh_row("C1", "买家", "2024-05-01 10:00:00", "在吗"),
        zh_row("C1", "买家", "2024-05-01 10:00:00", "在吗"),
        zh_row("C1", "客服", "2024-05-01 10:00:10", "在的", agent="kf1"),
        zh_row("C1", "客服", "2024-05-01 10:00:10", "在的", agent="kf2"),  # another agent: not a duplicate
    ])
    b = write_csv(tmp_path / "b.csv", ZH_HEADER, [
        zh_row("C1", "客服", "2024-05-01 10:00:10", "在的", agent="kf1"),  # same message in the next export
        zh_row("C1", "客服", "2024-05-01 10:00:10", "在的", agent="kf1", shop="别的店"),  # other shop's C1
    ])
    convs, stats, _ = collect([a, b])
    assert stats.files[str(a)].duplicates == 1 and stats.files[str(b)].duplicates == 1
    assert (stats.read, stats.accepted, stats.duplicates) == (6, 4, 2)
    convs.sort(key=lambda c: c.shop)
    assert [(c.shop, len(c.messages)) for c in convs] == [("别的店", 1), ("旗舰店", 3)]
    # The first occurrence survives.
    assert convs[1].messages[0].source == f"{a}:2"


def test_out_of_order_rows_are_sorted_stably(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", ZH_HEADER, [
        zh_row("C1", "客服", "2024-05-01 10:05:00", "third"),
        zh_row("C2", "买家", "2024-05-01 09:00:00", "other"),
        zh_row("C1", "买家", "2024-05-01 10:00:00", "first"),
        zh_row("C1", "客服", "2024-05-01T02:03:00Z", "second-a"),
        zh_row("C1", "买家", "2024-05-01 10:03:00", "second-b"),
    ])
    convs, _, _ = collect([path])
    assert [c.conversation_id for c in convs] == ["C1", "C2"]  # order of first appearance
    assert [m.text for m in convs[0].messages] == ["first", "second-a", "second-b", "third"]
    assert convs[0].started_at == dt.datetime(2024, 5, 1, 10, tzinfo=SHANGHAI)


def _random_rows(n: int, convs: int) -> list[list[str]]:
    import random

    rng = random.Random(7)
    rows = []
    for i in range(n):
        c = rng.randrange(convs)
        second = rng.randrange(600)
        rows.append(zh_row(f"C{c}", rng.choice(["买家", "客服", "机器人"]),
                           f"2024-05-01 10:{second // 60:02d}:{second % 60 // 10}0",
                           rng.choice(["在吗", "您好", "发货了吗", "亲，48小时内发货", f"订单{i % 50}"]),
                           shop=rng.choice(["A店", "B店"])))
    return rows


def _signature(convs: list[Conversation]) -> list[tuple[Any, ...]]:
    return sorted((c.conversation_id, c.platform, c.shop, tuple(m.model_dump_json() for m in c.messages))
                  for c in convs)


@pytest.mark.parametrize("budget", [20_000, 2_000])
def test_spill_to_disk_yields_the_same_conversations(tmp_path: Path, budget: int) -> None:
    path = write_csv(tmp_path / "big.csv", ZH_HEADER, _random_rows(3000, 120))
    memory, mstats, _ = collect([path])
    spill_root = tmp_path / "spill"
    spill_root.mkdir()
    spilled, sstats, _ = collect([path], memory_budget=budget, spill_dir=spill_root)
    assert _signature(spilled) == _signature(memory)
    assert (sstats.accepted, sstats.duplicates) == (mstats.accepted, mstats.duplicates)
    assert mstats.duplicates > 0
    assert list(spill_root.iterdir()) == []  # temporary partitions removed


def test_spill_directory_removed_when_consumer_stops_early(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "big.csv", ZH_HEADER, _random_rows(500, 50))
    convs, _ = import_logs([path], memory_budget=1000, spill_dir=tmp_path)
    next(convs)
    assert any(p.name.startswith("kefuguard-spill-") for p in tmp_path.iterdir())
    convs.close()
    assert not any(p.name.startswith("kefuguard-spill-") for p in tmp_path.iterdir())


def test_assemble_conversations_on_messages() -> None:
    def msg(cid: str, t: int, text: str, role: Role = Role.buyer) -> Message:
        return Message(conversation_id=cid, platform="jd", shop="s", role=role, text=text,
                       sent_at=dt.datetime(2024, 5, 1, 10, 0, t), source=f"mem:{t}")

    messages = [msg("A", 5, "late"), msg("B", 1, "b"), msg("A", 1, "early"), msg("A", 5, "late")]
    stats = ImportStats()
    for budget in (10**9, 1):
        convs = list(assemble_conversations(messages, memory_budget=budget, stats=stats))
        a = next(c for c in convs if c.conversation_id == "A")
        assert [m.text for m in a.messages] == ["early", "late"]
        assert a.messages[0] == msg("A", 1, "early")
    assert stats.unattributed_duplicates == 2


# --- fast construction and API details --------------------------------------------------------


def test_fast_messages_equal_validated_ones(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "v.csv", ZH_HEADER, [
        zh_row("C1", "自动回复", "2024-05-01T02:00:00Z", "欢迎光临", order_time="2024-04-30", paid="3"),
    ])
    [message] = list(read_messages(path))
    validated = Message.model_validate(message.model_dump())
    assert message == validated
    assert message.model_dump() == validated.model_dump()
    assert message.role is Role.agent and message.auto_reply and message.sent_at.tzinfo is SHANGHAI
    assert hash(message) == hash(validated) if message.model_config.get("frozen") else True
    assert record_message(tuple(validated.model_dump().values())) == validated
    with pytest.raises(ValueError, match="frozen"):
        message.text = "x"  # type: ignore[misc]


def test_read_messages_streams_and_counts(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", ZH_HEADER, [zh_row("C1", "买家", "2024-05-01 10:00:00", "hi"),
                                                     zh_row("C1", "买家", "", "x")])
    stats = ImportStats()
    stream = read_messages(path, stats=stats)
    first = next(stream)
    assert first.text == "hi"
    assert list(stream) == []
    f = stats.files[str(path)]
    assert (f.read, f.parsed, f.rejected) == (2, 1, 1)
    assert f.samples[0].line == 3
    # A stream that is never iterated can still be closed (import_logs' header probe does this).
    read_messages(path).close()


def test_progress_reports_bytes(tmp_path: Path) -> None:
    rows = _random_rows(200, 10)
    a = write_csv(tmp_path / "a.csv", ZH_HEADER, rows, encoding="gbk")
    b = tmp_path / "b.xlsx"
    write_xlsx(b, {"s": [ZH_HEADER, *rows]})
    calls: list[tuple[int, int]] = []
    convs, stats = import_logs([tmp_path], progress=lambda done, total: calls.append((done, total)))
    assert stats.bytes_total == os.path.getsize(a) + os.path.getsize(b)
    list(convs)
    assert calls and calls[-1] == (stats.bytes_total, stats.bytes_total)
    assert all(d1 <= d2 for (d1, _), (d2, _) in pairwise(calls))
    assert stats.read == 400 and stats.accepted + stats.duplicates == 400


def test_rejects_writer_context(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    with RejectsWriter(out) as writer:
        writer(Reject("f.xlsx", 7, "未知角色 unknown role 'x'", "a\tb", sheet="S1"))
    assert writer.count == 1
    text = out.read_text(encoding="utf-8-sig")
    assert "f.xlsx,S1,7,未知角色 unknown role 'x',a\tb" in text


def test_one_huge_conversation_under_a_tiny_budget(tmp_path: Path) -> None:
    rows = [zh_row("BIG", "买家" if i % 2 else "客服", f"2024-05-01 10:{i // 60 % 60:02d}:{i % 60:02d}", f"消息{i}")
            for i in range(400)]
    path = write_csv(tmp_path / "one.csv", ZH_HEADER, rows[::-1])
    [conv], stats, _ = collect([path], memory_budget=1, spill_dir=tmp_path)
    assert [m.text for m in conv.messages] == [f"消息{i}" for i in range(400)]
    assert stats.accepted == 400


def test_gbk_named_by_the_caller_decodes_as_gb18030(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", ZH_HEADER, [zh_row("C1", "买家", "2024-05-01 10:00:00", "𠮷野家")],
                     encoding="gb18030")
    convs, stats, rejects = collect([path], encoding="gbk")
    assert rejects == [] and convs[0].messages[0].text == "𠮷野家"
    assert stats.files[str(path)].encoding == "gb18030"


def test_temp_dir_default_is_system_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    path = write_csv(tmp_path / "x.csv", ZH_HEADER, _random_rows(100, 5))
    convs, _ = import_logs([path], memory_budget=1)
    assert len(list(convs)) > 0
    assert not any(p.name.startswith("kefuguard-spill-") for p in tmp_path.iterdir())
