"""Sales KPIs (issue 15) in every audit report format: HTML, XLSX, JSON and the terminal summary.

Small chats and orders, KPIs worked out by hand (all 2024, Asia/Shanghai):

pinduoduo 拼好店 (target: daily 询单转化率 ≥ 50%, seed 002):
  05-20  b1 asks, 小王 replies → o1 paid ¥100 ×2 (小王)     b2 asks, 小王 replies → o2 paid ¥50 ×1 (小王)
         b3 asks, 小李 replies, no order                    → shop 2/3 = 66.7% ✓; 小王 2/2 ✓; 小李 0/1 ✗
  05-21  b4 asks, 小李 replies → o4 ¥80 never paid          b5 asks, 小李 replies, no order
         b6 orders without asking → o6 paid ¥30 (silent)    → shop 0/2 = 0.0% ✗; 小李 0/2 ✗
  refund on o1: quality, disputed, 05-20 12:00 → 05-21 00:00 (12 h), 退款成功
  whole period: 询单 5, 下单 4 (b1 b2 b4 b6), 付款 3, 转化 2/5 = 40.0%, 落实 3/4 = 75.0%, 销售额 180,
  客单价 60, 件/单 4/3 = 1.33, 静默 1, 售后 12.0 h, 品质退款率 = 纠纷率 = 1/3 = 33.3%
tmall 天猫店 (no target): 05-20 b7 asks, T1 replies → o7 paid ¥200 → 100.0%, 无阈值
"""

from __future__ import annotations

import datetime as dt
import json
import re

import openpyxl
import pytest
from rich.console import Console

from kefuguard.conversation.model import SHANGHAI, Message, Role
from kefuguard.conversation.results import AuditReport, ImportSummary, KpiReport
from kefuguard.io.reports import print_summary, render_html, write_json, write_xlsx
from kefuguard.sales import Order, Refund, compute_kpis

from .report_fixture import build_report

D1, D2 = dt.date(2024, 5, 20), dt.date(2024, 5, 21)
PDD, TMALL = "拼好店", "天猫店"


def _at(day: dt.date, hm: str) -> dt.datetime:
    h, m = (int(x) for x in hm.split(":"))
    return dt.datetime(day.year, day.month, day.day, h, m, tzinfo=SHANGHAI)


def _chat(platform: str, shop: str, buyer: str, agent: str, day: dt.date, hm: str, text: str = "在吗") -> list[Message]:
    """The buyer asks at `hm`, the agent answers a minute later."""
    asked = _at(day, hm)
    common = {"conversation_id": f"{shop}-{buyer}-{day}", "platform": platform, "shop": shop, "buyer_id": buyer}
    return [
        Message(**common, role=Role.buyer, sent_at=asked, text=text),
        Message(**common, agent_id=agent, role=Role.agent, sent_at=asked + dt.timedelta(minutes=1), text="在的亲"),
    ]


def _order(oid: str, platform: str, shop: str, buyer: str, day: dt.date, hm: str, amount: float, items: int = 1,
           *, paid: bool = True) -> Order:
    created = _at(day, hm)
    return Order(order_id=oid, buyer_id=buyer, shop=shop, platform=platform, created_at=created,
                 paid_at=created + dt.timedelta(minutes=2) if paid else None, amount=amount, items=items)


def make_kpis(pdd_shop: str = PDD, agent: str = "小王") -> KpiReport:
    chats = [
        *_chat("pinduoduo", pdd_shop, "b1", agent, D1, "10:00", "这个有货吗"),
        *_chat("pinduoduo", pdd_shop, "b2", agent, D1, "10:10", "能便宜点吗"),
        *_chat("pinduoduo", pdd_shop, "b3", "小李", D1, "10:20"),
        *_chat("pinduoduo", pdd_shop, "b4", "小李", D2, "09:00", "发什么快递"),
        *_chat("pinduoduo", pdd_shop, "b5", "小李", D2, "09:30"),
        *_chat("tmall", TMALL, "b7", "T1", D1, "15:00", "尺码怎么选"),
    ]
    orders = [
        _order("o1", "pinduoduo", pdd_shop, "b1", D1, "10:30", 100, 2),
        _order("o2", "pinduoduo", pdd_shop, "b2", D1, "10:40", 50),
        _order("o4", "pinduoduo", pdd_shop, "b4", D2, "09:10", 80, paid=False),
        _order("o6", "pinduoduo", pdd_shop, "b6", D2, "11:00", 30),
        _order("o7", "tmall", TMALL, "b7", D1, "15:30", 200),
    ]
    refunds = [Refund(order_id="o1", is_quality=True, dispute=True, status="退款成功",
                      requested_at=_at(D1, "12:00"), finished_at=_at(D2, "00:00"))]
    kpis = compute_kpis(chats, orders, refunds, "last_manual_24h")
    imports = {
        "orders": ImportSummary(read=7, accepted=5, duplicates=1, rejected=1),
        "refunds": ImportSummary(read=1, accepted=1),
    }
    return kpis.model_copy(update={"profile_title": "最后人工客服（24 小时）", "imports": imports})


@pytest.fixture(scope="module")
def kpis() -> KpiReport:
    return make_kpis()


@pytest.fixture(scope="module")
def report(kpis) -> AuditReport:
    return build_report().model_copy(update={"kpis": kpis})


def test_the_data_gives_the_hand_computed_kpis(kpis):
    """The arithmetic the report tests rely on (docstring), checked on the KpiReport itself."""
    day1 = kpis.row("shop", "pinduoduo", PDD, day=D1)
    assert (day1.consulted, day1.converted) == (3, 2)
    assert [r.passed for r in day1.results] == [True]
    assert [r.passed for r in kpis.row("shop", "pinduoduo", PDD, day=D2).results] == [False]
    total = kpis.row("shop", "pinduoduo", PDD)
    assert (total.consulted, total.ordered, total.paid, total.sales, total.silent_ordered) == (5, 4, 3, 180, 1)
    assert (total.handling_hours, total.quality_refund_rate, total.dispute_rate) == (12, 1 / 3, 1 / 3)


# ------------------------------------------------------------------ HTML
def _section(html: str) -> str:
    m = re.search(r'<section id="kpis".*?</section>', html, re.S)
    assert m, "no KPI section"
    return m.group(0)


def _cells(row_html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row_html, re.S)]


def _row(table_html: str, **attrs: str) -> str:
    """The <tr> of a table whose data-* attributes include `attrs`."""
    for m in re.finditer(r"<tr([^>]*)>(.*?)</tr>", table_html, re.S):
        if all(f'data-{k}="{v}"' in m.group(1) for k, v in attrs.items()):
            return m.group(0)
    raise AssertionError(f"no row with {attrs}")


def _table(section: str, table_id: str) -> str:
    return re.search(rf'<table[^>]*id="{table_id}".*?</table>', section, re.S).group(0)


@pytest.fixture(scope="module")
def kpi_html(report) -> str:
    return _section(render_html(report))


def test_html_section_profile_and_import_counts(report, kpi_html):
    html = render_html(report)
    assert '<a href="#kpis">销售指标</a>' in html
    assert "销售与售后指标" in kpi_html
    assert "口径 <b>最后人工客服（24 小时）（last_manual_24h）</b>" in kpi_html
    assert "订单导入：读取 7 · 接受 5 · 重复 1 · 拒绝 1" in kpi_html
    assert "售后导入：读取 1 · 接受 1 · 重复 0 · 拒绝 0" in kpi_html
    assert "静默下单 1 笔" in kpi_html
    assert "3 项未达标</b> / 共 5 项" in kpi_html  # shop 05-21, 小李 05-20 and 05-21 of 5 judged rows


def test_html_shop_table_whole_period(kpi_html):
    table = _table(kpi_html, "kpi-shops")
    heads = re.findall(r"<th(?: [^>]*)?>(.*?)</th>", table)
    assert heads == ["店铺", "平台", "询单人数", "下单人数", "付款人数", "询单转化率", "落实率", "销售额", "客单价",
                     "件/单", "静默下单", "售后处理时长", "退款完结时长", "品质退款率", "纠纷率"]
    shop = _cells(_row(table, shop=PDD))
    assert shop == [PDD, "拼多多", "5", "4", "3", "40.0%", "75.0%", "180", "60", "1.33", "1", "12.0小时", "12.0小时",
                    "33.3%", "33.3%"]
    platform = _cells(_row(table, shop="", platform="pinduoduo"))
    assert platform[:3] == ["拼多多（平台合计）", "拼多多", "5"]
    tmall = _cells(_row(table, shop=TMALL))
    assert tmall[5:7] == ["100.0%", "100.0%"] and tmall[-4:] == ["—", "—", "0.0%", "0.0%"]  # None as —


def test_html_agent_table_whole_period(kpi_html):
    table = _table(kpi_html, "kpi-agents")
    assert _cells(_row(table, agent="小王"))[:9] == ["小王", PDD, "拼多多", "2", "2", "2", "100.0%", "100.0%", "150"]
    assert _cells(_row(table, agent="小李"))[:8] == ["小李", PDD, "拼多多", "3", "1", "0", "0.0%", "0.0%"]
    assert "静默下单" not in table  # silent orders belong to no agent


def test_html_daily_rows_pass_green_fail_red(kpi_html):
    table = _table(kpi_html, "kpi-daily")
    good = _row(table, level="shop", shop=PDD, day=D1.isoformat())
    assert good.startswith('<tr class="metric good"')
    assert "66.7%" in _cells(good) and '<span class="status good">✓ 达标</span>' in good
    assert "要求 ≥ 50.0%" in good
    bad = _row(table, level="shop", shop=PDD, day=D2.isoformat())
    assert bad.startswith('<tr class="metric bad"')
    assert '<span class="status bad">✗ 未达标</span>' in bad
    assert "<b>0.0%</b>" in bad and "要求 ≥ 50.0%" in bad  # a zero rate keeps the threshold's scale
    assert _row(table, level="agent", agent="小王", day=D1.isoformat()).startswith('<tr class="metric good"')
    assert _row(table, level="agent", agent="小李", day=D1.isoformat()).startswith('<tr class="metric bad"')
    tmall = _row(table, level="shop", shop=TMALL, day=D1.isoformat())
    assert tmall.startswith('<tr class="metric" ') and "100.0%" in _cells(tmall)  # no target on Tmall
    assert table.count('<tr class="metric good"') == 2 and table.count('<tr class="metric bad"') == 3


def test_html_escapes_shop_and_agent_names(report):
    evil = make_kpis(pdd_shop="<script>alert(1)</script>店", agent='<img src=x onerror="alert(2)">')
    section = _section(render_html(report.model_copy(update={"kpis": evil})))
    assert "<script>" not in section and "<img" not in section
    assert "&lt;script&gt;alert(1)&lt;/script&gt;店" in section
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in section


def test_html_without_kpis_has_no_section(report):
    html = render_html(report.model_copy(update={"kpis": None}))
    assert 'id="kpis"' not in html and "销售与售后指标" not in html and 'href="#kpis"' not in html


# ------------------------------------------------------------------ XLSX
@pytest.fixture(scope="module")
def workbook(report, tmp_path_factory):
    return openpyxl.load_workbook(write_xlsx(report, tmp_path_factory.mktemp("kpi") / "report.xlsx"))


def _records(ws) -> list[dict]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_xlsx_sheet_layout(workbook, kpis):
    assert workbook.sheetnames == ["汇总", "客服", "违规明细", "指标", "销售指标", "处罚明细", "拒收行"]
    ws = workbook["销售指标"]
    header = [c.value for c in ws[1]]
    assert header[:5] == ["层级", "平台", "店铺", "客服", "日期"]
    assert header[5:8] == ["询单人数", "转化人数", "售后咨询人数"] and header[-2:] == ["考核要求", "达标"]
    for label in ("询单转化率", "落实率", "销售额", "客单价", "件/单", "静默下单", "售后处理时长", "退款完结时长",
                  "品质退款率", "纠纷率"):
        assert label in header, label
    assert ws.max_row == 1 + len(kpis.rows)
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:{ws.cell(1, len(header)).column_letter}{ws.max_row}"
    assert ws["A1"].font.bold


def test_xlsx_values_formats_and_pass_fail_colours(workbook):
    ws = workbook["销售指标"]
    header = [c.value for c in ws[1]]
    records = _records(ws)
    day1 = next(r for r in records if (r["层级"], r["店铺"], r["日期"]) == ("店铺", PDD, dt.datetime(2024, 5, 20)))
    assert day1["平台"] == "拼多多" and day1["询单人数"] == 3 and day1["询单转化率"] == pytest.approx(2 / 3)
    assert day1["达标"] == "达标" and day1["考核要求"] == "询单转化率 ≥ 50.0%"
    total = next(r for r in records if (r["层级"], r["店铺"], r["日期"]) == ("店铺", PDD, "合计"))
    assert (total["销售额"], total["客单价"], total["静默下单"], total["售后处理时长"]) == (180, 60, 1, 12)
    assert total["达标"] == "无阈值"
    row_of = {(r["层级"], r["店铺"], r["客服"], r["日期"]): i + 2 for i, r in enumerate(records)}
    status = header.index("达标") + 1
    passed = ws.cell(row_of[("店铺", PDD, None, dt.datetime(2024, 5, 20))], status)
    failed = ws.cell(row_of[("客服", PDD, "小李", dt.datetime(2024, 5, 21))], status)
    assert failed.value == "未达标" and failed.font.color.rgb.endswith("C4320A")
    assert passed.font.color.rgb.endswith("12805C")
    rate = ws.cell(row_of[("店铺", PDD, None, dt.datetime(2024, 5, 20))], header.index("询单转化率") + 1)
    assert rate.number_format == "0.0%"


def test_xlsx_summary_names_profile_and_imports(workbook):
    values = {r[0]: r[1] for r in workbook["汇总"].iter_rows(values_only=True) if r[0]}
    assert values["销售指标口径"] == "最后人工客服（24 小时）（last_manual_24h）"
    assert values["订单导入"] == "读取 7 · 接受 5 · 重复 1 · 拒绝 1"
    assert values["订单数"] == 5


def test_xlsx_without_kpis_has_no_sheet(report, tmp_path):
    wb = openpyxl.load_workbook(write_xlsx(report.model_copy(update={"kpis": None}), tmp_path / "r.xlsx"))
    assert "销售指标" not in wb.sheetnames
    assert "销售指标口径" not in [r[0] for r in wb["汇总"].iter_rows(values_only=True)]


# ------------------------------------------------------------------ JSON
def test_json_round_trips_kpis(report, kpis, tmp_path):
    raw = write_json(report, tmp_path / "report.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    assert data["kpis"]["profile"] == "last_manual_24h"
    assert any(r["day"] == "2024-05-20" for r in data["kpis"]["rows"])
    assert data["kpis"]["imports"]["orders"]["duplicates"] == 1
    assert AuditReport.model_validate(data).kpis == kpis
    assert json.loads(write_json(report.model_copy(update={"kpis": None}), tmp_path / "n.json")
                      .read_text(encoding="utf-8"))["kpis"] is None


# ------------------------------------------------------------------ terminal
def _terminal(report: AuditReport) -> str:
    console = Console(record=True, width=220, color_system=None)
    print_summary(report, console)
    return console.export_text()


def test_terminal_kpi_table(report):
    text = _terminal(report)
    assert "销售指标（整段时间，口径 最后人工客服（24 小时）（last_manual_24h））" in text
    line = next(x for x in text.splitlines() if PDD in x and "40.0%" in x)
    assert "75.0%" in line and "180" in line and "✗ 1/2" in line
    assert "订单导入 读取 7 · 接受 5 · 重复 1 · 拒绝 1" in text
    assert "销售指标" not in _terminal(report.model_copy(update={"kpis": None}))
