"""GET /v1/kpis (issue 15): the sales KPI rows an audit stores, their filters, tenant isolation and
roles, on SQLite and PostgreSQL; and uploads that carry order and refund exports.

The KPIs are the hand-computed ones of tests/sales/data.py (three platforms, silent orders, an order
outside the window, an after-sales-only buyer, a disputed refund, two agents serving one buyer).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from kefuguard.conversation.results import AuditReport, KpiReport, KpiRow
from kefuguard.io.importers import import_logs
from kefuguard.io.orders import read_orders, read_refunds
from kefuguard.sales import compute_kpis
from kefuguard.storage import record_audit_report
from kefuguard.storage.models import KPI_FIELDS, AuditRun
from tests.sales.data import ORDER_HEADER, REFUND_HEADER, write_all, write_csv
from tests.server.conftest import assert_error
from tests.server.test_audits import _wait

D1, D2, APR29 = "2024-05-01", "2024-05-02", "2024-04-29"
RESULT_KEYS = {"metric", "title", "value", "threshold", "comparison", "passed", "numerator", "denominator", "note"}


def _kpis(folder: Path, profile: str | None = None) -> KpiReport:
    chats, orders, refunds = write_all(folder)
    conversations, _ = import_logs([chats])
    return compute_kpis(conversations, read_orders([orders])[0], read_refunds([refunds])[0], profile=profile)


def _record(env, tenant, kpis: KpiReport | None) -> int:
    """A finished run of `tenant` whose report carries `kpis` (None: uploaded without orders)."""
    with env.db.session(immediate=True) as s:
        run = AuditRun(tenant_id=tenant.id, status="done", progress=1.0, params={"source": "upload"})
        s.add(run)
        s.flush()
        report = AuditReport(generated_at=dt.datetime.now(dt.UTC), kpis=kpis)
        record_audit_report(s, tenant.id, run.id, report)
        return run.id


def _expected(row: KpiRow) -> dict:
    judged = [r.passed for r in row.results if r.passed is not None]
    return {"level": row.level, "platform": row.platform, "shop": row.shop or None, "agent": row.agent_id or None,
            "day": row.day.isoformat() if row.day else None, **{name: getattr(row, name) for name in KPI_FIELDS},
            "passed": all(judged) if judged else None,
            "results": [r.model_dump(mode="json", include=RESULT_KEYS) for r in row.results]}


def _got(items: list[dict]) -> list[dict]:
    keys = set(_expected(KpiRow(level="shop", platform="x")))
    return [{k: v for k, v in item.items() if k in keys} for item in items]


def _list(env, role: str = "supervisor", **params) -> dict:
    r = env.client.get("/v1/kpis", headers=env.a.headers(role), params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def kpis(tmp_path) -> KpiReport:
    return _kpis(tmp_path)


@pytest.fixture
def run_id(env, kpis) -> int:
    return _record(env, env.a, kpis)


def _ids(env) -> tuple[int, dict[str, int]]:
    """拼店's shop id, and its agents' ids by name."""
    h = env.a.headers("supervisor")
    shop = next(s["id"] for s in env.client.get("/v1/shops", headers=h).json()["items"] if s["name"] == "拼店")
    agents = env.client.get("/v1/agents", headers=h, params={"shop_id": shop}).json()["items"]
    return shop, {a["external_id"]: a["id"] for a in agents}


def test_stored_rows_are_the_reports(env, kpis, run_id):
    page = _list(env, run_id=run_id)
    assert page["total"] == len(kpis.rows) == len(page["items"]) > 20
    assert _got(page["items"]) == [_expected(r) for r in kpis.rows]
    assert {i["run_id"] for i in page["items"]} == {run_id}
    # hand-computed (tests/sales/data.py): Pinduoduo's 05-01 conversion is 2 of 4 consulted buyers, on the 50% line
    shop = next(i for i in page["items"] if (i["level"], i["platform"], i["day"]) == ("shop", "pinduoduo", D1))
    assert (shop["consulted"], shop["converted"], shop["conversion_rate"], shop["passed"]) == (4, 2, 0.5, True)
    assert (shop["sales"], shop["avg_order_value"], shop["silent_ordered"], shop["silent_sales"]) == (220, 55, 2, 70)
    (result,) = shop["results"]
    assert (result["metric"], result["value"], result["threshold"], result["comparison"]) == (
        "conversion_rate", 0.5, 0.5, ">=")
    assert (result["numerator"], result["denominator"]) == (2, 4) and "这个询单是去掉售后等问题的人" in result["note"]
    a1 = next(i for i in page["items"] if (i["agent"], i["day"]) == ("A1", D1))
    assert (a1["conversion_rate"], a1["passed"], a1["results"][0]["passed"]) == (0.25, False, False)
    platform = next(i for i in page["items"] if (i["level"], i["platform"], i["day"]) == ("platform", "tmall", D2))
    assert (platform["shop_id"], platform["agent_id"], platform["passed"], platform["dispute_rate"]) == (
        None, None, None, 0.5)  # no tmall threshold; r8 disputed, 1 of 2 paid orders
    summary = env.client.get(f"/v1/audits/{run_id}", headers=env.a.headers("supervisor")).json()["summary"]
    assert summary["kpis"]["profile"] == "last_manual_24h"
    assert (summary["kpis"]["orders"], summary["kpis"]["silent_orders"], summary["kpis"]["unmatched_refunds"]) == (
        10, 4, 1)


def test_filters(env, kpis, run_id):
    shop_id, agents = _ids(env)
    rows = [_expected(r) for r in kpis.rows]

    def got(**params) -> list[dict]:
        return _got(_list(env, run_id=run_id, **params)["items"])

    assert got(level="shop", period="day", platform="拼多多") == [
        r for r in rows if r["level"] == "shop" and r["day"] and r["platform"] == "pinduoduo"]
    assert got(period="total") == [r for r in rows if r["day"] is None]
    assert got(day_from=D1, day_to=D1) == [r for r in rows if r["day"] == D1]
    assert got(day_from=D2) == [r for r in rows if r["day"] and r["day"] >= D2]
    # a shop: its shop and agent rows; an agent: theirs only
    assert got(shop_id=shop_id) == [r for r in rows if r["shop"] == "拼店"]
    a1 = got(agent_id=agents["A1"])
    assert [(r["agent"], r["day"]) for r in a1] == [("A1", APR29), ("A1", D1), ("A1", None)]
    # below the threshold: Pinduoduo's 04-29 (0 of 1) and A1's two days (0 of 1, 1 of 4)
    failed = got(passed="false")
    assert [(r["level"], r["agent"], r["day"], r["conversion_rate"]) for r in failed] == [
        ("shop", None, APR29, 0.0), ("agent", "A1", APR29, 0.0), ("agent", "A1", D1, 0.25)]
    assert {(r["agent"], r["day"]) for r in got(passed="true")} == {(None, D1), ("A2", D1)}
    page = _list(env, run_id=run_id, limit=5)
    assert (len(page["items"]), page["total"], page["next_offset"]) == (5, len(rows), 5)
    h = env.a.headers("supervisor")
    assert_error(env.client.get("/v1/kpis", headers=h, params={"day_from": D2, "day_to": D1}), 422)
    assert_error(env.client.get("/v1/kpis", headers=h, params={"level": "team"}), 422)
    assert_error(env.client.get("/v1/kpis", headers=h, params={"platform": "ebay"}), 422)


def test_tenants_and_roles(env, kpis, run_id):
    other = _record(env, env.b, kpis)
    a, b = env.a.headers("supervisor"), env.b.headers("supervisor")
    assert {i["run_id"] for i in _list(env)["items"]} == {run_id}  # without run_id: every run of A, none of B's
    assert env.client.get("/v1/kpis", headers=b, params={"limit": 1}).json()["total"] == len(kpis.rows)
    assert_error(env.client.get("/v1/kpis", headers=a, params={"run_id": other}), 404, "not_found")
    assert_error(env.client.get("/v1/kpis", headers=a, params={"run_id": 999999}), 404, "not_found")
    b_shop = next(s["id"] for s in env.client.get("/v1/shops", headers=b).json()["items"] if s["name"] == "拼店")
    assert _list(env, shop_id=b_shop)["total"] == 0
    # statistics: supervisors and admins, not agents
    assert _list(env, "admin", run_id=run_id)["total"] == len(kpis.rows)
    assert_error(env.client.get("/v1/kpis", headers=env.a.headers("agent")), 403, "forbidden")
    assert_error(env.client.get("/v1/kpis"), 401, "unauthorized")


def test_a_run_without_orders_has_no_kpis(env, run_id):
    without = _record(env, env.a, None)
    assert _list(env, run_id=without) == {"items": [], "total": 0, "limit": 500, "offset": 0, "next_offset": None}
    assert env.client.get(f"/v1/audits/{without}", headers=env.a.headers()).json()["summary"]["kpis"] is None
    assert _list(env)["total"] > 0  # the other run's rows are still there


def test_excel_export(env, kpis, run_id):
    h = env.a.headers("supervisor")
    r = env.client.get("/v1/exports/kpis", headers=h, params={"run_id": run_id, "period": "total", "lang": "zh"})
    assert r.status_code == 200, r.text
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[0][:6] == ("层级", "平台", "店铺", "客服", "日期", "询单人数")
    assert len(rows) == 1 + sum(1 for k in kpis.rows if k.day is None)
    pdd = next(row for row in rows if row[:3] == ("店铺", "拼多多", "拼店"))
    assert pdd[5:8] == (5, 2, 0.4)  # consulted b1 b2 b3 b7 b6, converted b1 b2
    assert_error(env.client.get("/v1/exports/kpis", headers=env.a.headers("agent")), 403)


# ---------------------------------------------------------------------------- uploads with exports
def _post(env, files: list[tuple[str, tuple[str, bytes]]], **data):
    return env.client.post("/v1/audits", headers=env.a.headers("supervisor"), files=files, data=data)


def test_upload_validation(env, tmp_path):
    chats, orders, refunds = write_all(tmp_path)
    chat = ("file", ("chats.csv", chats.read_bytes()))
    order = ("orders", ("orders.csv", orders.read_bytes()))
    assert_error(_post(env, [order]), 422)  # orders alone: no chats to audit
    refund = ("refunds", ("refunds.xlsx", refunds.read_bytes()))
    assert assert_error(_post(env, [chat, refund]), 422)["field"] == "refunds"  # refunds reach buyers through orders
    err = assert_error(_post(env, [chat] + [order] * 11), 422, "invalid")
    assert err["field"] == "orders"
    err = assert_error(_post(env, [chat, order], attribution="nope"), 422, "invalid")
    assert err["field"] == "attribution" and "last_manual_24h" in err["message_en"]
    for hours in ("0", "-3", "abc", "nan", "100000"):
        assert assert_error(_post(env, [chat, order], window_hours=hours), 422)["field"] == "window_hours"
    assert env.client.get("/v1/audits", headers=env.a.headers("supervisor")).json()["total"] == 0  # none started


def test_an_upload_with_orders_and_refunds_stores_its_kpis(env, tmp_path):
    """End to end: chats + orders + refunds in one upload → the audit → GET /v1/kpis."""
    chats, orders, refunds = write_all(tmp_path)
    files = [("file", ("chats.csv", chats.read_bytes())), ("orders", ("orders.csv", orders.read_bytes())),
             ("refunds", ("refunds.xlsx", refunds.read_bytes()))]
    h = env.a.headers("supervisor")
    r = _post(env, files, attribution="same_day")
    assert r.status_code == 202, r.text
    run = _wait(env.client, h, r.json()["id"])
    assert run["status"] == "done", run["error"]
    assert (run["params"]["orders"], run["params"]["refunds"], run["params"]["attribution"]) == (
        ["orders.csv"], ["refunds.xlsx"], "same_day")
    (tmp_path / "expected").mkdir()
    expected = _kpis(tmp_path / "expected", profile="same_day")
    page = _list(env, run_id=run["id"])
    assert _got(page["items"]) == [_expected(row) for row in expected.rows]
    assert run["summary"]["kpis"]["profile"] == "same_day" and run["summary"]["stored"]["kpis"] == len(expected.rows)
    assert run["summary"]["kpis"]["imports"]["orders"]["accepted"] == 10 and "order_rejects" in run["reports"]
    # every finding stored is the report's (the order-based checks judged the exports' times both times)
    report = env.client.get(f"/v1/audits/{run['id']}/reports/json", headers=h).json()
    stored = env.client.get("/v1/findings", headers=h, params={"run_id": run["id"], "limit": 1}).json()["total"]
    assert stored == run["findings"] == sum(report["findings_by_severity"].values())
    # same_day: o8 (05-02 09:00) had no reply that day → silent; Tmall's 05-01 consultation does not convert
    tmall = {(i["level"], i["day"]): i for i in page["items"] if i["platform"] == "tmall"}
    assert tmall[("shop", D2)]["silent_ordered"] == 2 and tmall[("shop", D1)]["conversion_rate"] == 0.0
    # the chats alone: no KPIs, and the run says so
    again = _post(env, [files[0]])
    plain = _wait(env.client, h, again.json()["id"])
    assert plain["status"] == "done" and plain["summary"]["kpis"] is None
    assert _list(env, run_id=plain["id"])["total"] == 0


def test_order_based_findings_are_stored_as_the_audit_judged_them(env, tmp_path):
    """The order-confirmation and refund-handling checks judge the exports' times; storage keeps
    exactly the findings the report has (tests/sales/test_audit_commerce.py works them out)."""
    from tests.sales.test_audit_commerce import CHATS, HEADER, ORDERS, REFUNDS

    files = [("file", ("chats.csv", write_csv(tmp_path / "c.csv", HEADER, CHATS).read_bytes())),
             ("orders", ("orders.csv", write_csv(tmp_path / "o.csv", ORDER_HEADER, ORDERS).read_bytes())),
             ("refunds", ("refunds.csv", write_csv(tmp_path / "r.csv", REFUND_HEADER, REFUNDS).read_bytes()))]
    h = env.a.headers("supervisor")
    run = _wait(env.client, h, _post(env, files).json()["id"])
    assert run["status"] == "done", run["error"]
    report = env.client.get(f"/v1/audits/{run['id']}/reports/json", headers=h).json()
    for check in ("audit.order_confirm", "audit.refund_handling"):
        found = sum(1 for f in report["all_findings"] if f["check_id"] == check)
        stored = env.client.get("/v1/findings", headers=h, params={"run_id": run["id"], "rule_id": check}).json()
        assert stored["total"] == found > 0, check
    assert any("o102" in f["detail"] for f in env.client.get(
        "/v1/findings", headers=h, params={"run_id": run["id"], "rule_id": "audit.order_confirm"}).json()["items"])
