"""Report writers (terminal, JSON, HTML, XLSX) and PII masking, on a hand-built AuditReport."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest
from rich.console import Console

from kefuguard.conversation.model import SHANGHAI
from kefuguard.conversation.results import AgentSummary, AuditReport, MetricResult
from kefuguard.io.masking import mask_report, mask_text, pii_spans
from kefuguard.io.reports import print_summary, render_html, report_dict, write_html, write_json, write_xlsx
from kefuguard.io.reports.common import fmt_metric_value, fmt_seconds, threshold_text

from .report_fixture import (
    BUYER_PHONE,
    BUYER_PHONE_MASKED,
    FINDINGS_BY_CATEGORY,
    HISTOGRAM,
    REJECT_ROWS,
    build_report,
)


@pytest.fixture(scope="module")
def report() -> AuditReport:
    return build_report()


# ------------------------------------------------------------------ masking
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("电话13812345678", "电话138****5678"),
        ("收件人 138 1234 5678 请核对", "收件人 138 **** 5678 请核对"),
        ("快递员电话13812345678", "快递员电话138****5678"),  # a mobile is masked whatever stands before it
        ("手机一三八一二三四五六七八", "手机一三八****五六七八"),
        ("身份证110101199003074514", "身份证110101********4514"),
        ("卡号 6222 0212 3456 7890 128 直接转", "卡号 **** **** **** ***0 128 直接转"),
        ("文三路478号华星时代广场A座1502室", "文三路***号华星时代广场*座****室"),
        ("北京市朝阳区建国路88号院3号楼2单元501", "北京市朝阳区建国路**号院*号楼*单元***"),
    ],
)
def test_mask_text_hides_pii_keeping_length(text, masked):
    assert mask_text(text) == masked
    assert len(mask_text(text)) == len(text)


@pytest.mark.parametrize(
    "text",
    [
        "订单号 250101123456789012 已发货",  # order numbers are not contact information
        "我知道了，3号发货",  # a date with 号 is not a house number without a road before it
        "这款是全网最低价，绝对正品",
        "满200减30，7天无理由退货",
        "",
    ],
)
def test_mask_text_leaves_other_text_alone(text):
    assert mask_text(text) == text
    assert pii_spans(text) == []


def test_pii_spans_name_the_kind():
    kinds = {kind for _, _, kind in pii_spans("电话13812345678，住文三路478号")}
    assert kinds == {"phone", "address"}


def test_mask_report_masks_messages_and_keeps_offsets(report):
    masked = mask_report(report)
    texts = [m.text for c in masked.flagged for m in c.messages]
    assert not any(BUYER_PHONE in t for t in texts)
    assert any(BUYER_PHONE_MASKED in t for t in texts)
    for conv in masked.flagged:
        for f in conv.findings:
            if f.kind == "message":
                assert conv.messages[f.message_index].text[f.start : f.end] == f.matched
    phone_finding = next(f for f in masked.flagged[0].findings if f.check_id == "pdd.privacy.full_phone")
    assert phone_finding.matched == BUYER_PHONE_MASKED
    assert not any(BUYER_PHONE in json.dumps(row, ensure_ascii=False) for row in masked.all_findings)
    # the input report is not changed
    assert BUYER_PHONE in report.flagged[0].messages[0].text


# ------------------------------------------------------------------ formats
def test_formats():
    assert fmt_seconds(45) == "45秒"
    assert fmt_seconds(372) == "6分12秒"
    assert fmt_seconds(3725) == "1小时02分"
    assert fmt_seconds(None) == "—"
    pct = MetricResult(
        metric="m", title="t", platform="jd", shop="s", value=85.2, threshold=80, comparison=">"
    )
    frac = MetricResult(
        metric="m", title="t", platform="jd", shop="s", value=0.852, threshold=0.8, comparison=">="
    )
    assert fmt_metric_value(pct, pct.value) == fmt_metric_value(frac, frac.value) == "85.2%"
    assert threshold_text(pct) == "＞ 80.0%"
    assert threshold_text(frac) == "≥ 80.0%"
    secs = MetricResult(metric="m", title="t", platform="jd", shop="s", value=95, unit="秒")
    assert fmt_metric_value(secs, secs.value) == "1分35秒"
    assert threshold_text(secs) == "—"


# ------------------------------------------------------------------ JSON
def test_write_json(report, tmp_path):
    out = write_json(report, tmp_path / "out" / "report.json")
    raw = out.read_text(encoding="utf-8")
    assert "客服质检报告" in raw and "\\u" not in raw  # readable Chinese
    assert raw.startswith('{\n  "generated_at"')  # indent 2
    data = json.loads(raw)
    back = AuditReport.model_validate(data)
    assert back.conversations == report.conversations
    assert back.response_time_histogram == HISTOGRAM
    assert len(back.flagged) == len(report.flagged)
    assert BUYER_PHONE not in raw and BUYER_PHONE_MASKED in raw


def test_write_json_unmasked(report, tmp_path):
    raw = write_json(report, tmp_path / "r.json", mask_pii=False).read_text(encoding="utf-8")
    assert BUYER_PHONE in raw
    assert report_dict(report, mask_pii=False)["flagged"][0]["messages"][0]["text"].endswith(BUYER_PHONE)


# ------------------------------------------------------------------ terminal
def _terminal(report: AuditReport, **kw) -> str:
    console = Console(record=True, width=220, color_system=None)
    print_summary(report, console, **kw)
    return console.export_text()


def test_print_summary(report):
    text = _terminal(report)
    for expected in (
        "会话数",
        "338",
        "3,547",
        "3,552 / 3,547 / 2 / 3",
        "优选家居旗舰店",
        "拼多多",
        "抖音/抖店",
        "3分钟有效回复率",
        "45.0%",
        "≥ 50.0%",
        "✗",
        "✓",
        "100,000",
        "客服排名",
        "小美",
        "jd_kefu_3",
        "违规类别分布",
        "导流/站外信息",
        "回复超时",
        report.disclaimer,
    ):
        assert expected in text, expected
    assert text.index("jd_kefu_3") < text.index("小美")  # best first


def test_print_summary_shows_top_and_bottom_of_long_rankings(report):
    agents = [
        AgentSummary(shop="店", platform="jd", agent_id=f"agent{i:02d}", mean_score=100 - i, rank=i + 1)
        for i in range(20)
    ]
    text = _terminal(report.model_copy(update={"agents": agents}), ranking_size=3)
    assert "前 3 名与后 3 名，共 20 人" in text
    for shown in ("agent00", "agent02", "agent17", "agent19"):
        assert shown in text
    assert "agent10" not in text and "…" in text


def test_print_summary_empty_report():
    text = _terminal(AuditReport(generated_at=dt.datetime(2024, 1, 1, tzinfo=SHANGHAI)))
    assert "会话数" in text and "估算" in text


# ------------------------------------------------------------------ HTML
class _Marks(HTMLParser):
    """Collects <mark> elements (class, data-rule, text) and every src/href."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[dict] = []
        self.refs: list[str] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.refs += [v for k, v in attrs if k in ("src", "href") and v]
        if tag == "mark":
            self._open = {"class": a.get("class", ""), "rule": a.get("data-rule", ""), "text": ""}

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag):
        if tag == "mark" and self._open is not None:
            self.marks.append(self._open)
            self._open = None


def _parse(html: str) -> _Marks:
    p = _Marks()
    p.feed(html)
    return p


@pytest.fixture(scope="module")
def html(report) -> str:
    return render_html(report)


def test_html_is_self_contained(html):
    assert html.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "<link" not in html and "@import" not in html
    assert not re.search(r"<script[^>]+src=", html)
    refs = _parse(html).refs
    assert refs and all(r.startswith("#") for r in refs), refs  # only in-page anchors
    assert not re.search(r"url\((?!data:)", html)


def test_html_highlights_violations(report, html):
    marks = _parse(html).marks
    located = [f for c in report.flagged for f in c.findings if f.kind == "message"]
    # overlapping spans (全网最低 / 最低价) merge into one mark
    assert len(marks) == len(located) - 1
    phone = next(m for m in marks if m["rule"] == "pdd.privacy.full_phone")
    assert phone["text"] == BUYER_PHONE_MASKED
    assert phone["class"] == "violation sev-major"
    wechat = next(m for m in marks if "common.diversion.wechat" in m["rule"])
    assert wechat["text"] == "加我微信" and wechat["class"] == "violation sev-critical"
    merged = next(m for m in marks if "conduct.superlative.zui" in m["rule"])
    assert merged["text"] == "全网最低价"
    assert merged["rule"].split() == ["conduct.superlative.whole_network", "conduct.superlative.zui"]


def test_html_shows_rule_penalty_and_suggestion_beside_the_chat(html):
    for text in (
        "引导添加微信",
        "common.diversion.wechat",
        "平台判定导流/发布第三方信息",
        "保证金 100,000 元",
        "亲，有任何问题直接在平台聊天窗口里留言就可以哦",
        "赔付买家 20 元",
    ):
        assert text in html, text


def test_html_chat_roles_and_times(html):
    assert html.count('class="msg buyer') >= 4
    assert 'class="msg agent' in html and 'class="msg bot' in html
    assert "09:12:03" in html and "回复用时 6分12秒" in html
    assert 'class="gap slow"' in html


def test_html_conversation_notes_and_abuse_script(report, html):
    assert "会话问题" in html
    for title in ("回复超过3分钟", "敷衍短回复（少于5个字）", "漏回复", "缺少结束语", "首次响应超过30秒"):
        assert title in html, title
    assert html.count("建议按五步法处理") == sum(c.buyer_abuse for c in report.flagged) == 1
    assert "让顾客冷静" in html and "及时行动" in html


def test_html_escapes_all_text(html):
    assert "<b>能便宜点吗</b>" not in html
    assert "&lt;b&gt;能便宜点吗&lt;/b&gt;" in html


def test_html_embeds_chart_data_safely(report, html):
    m = re.search(r'<script id="kg-data" type="application/json">(.*?)</script>', html, re.S)
    data = json.loads(m.group(1))
    assert [b["label"] for b in data["histogram"]] == list(HISTOGRAM)
    assert [b["tone"] for b in data["histogram"]] == ["ok", "ok", "ok", "warn", "warn", "bad", "bad"]
    assert {c["code"]: c["value"] for c in data["categories"]} == FINDINGS_BY_CATEGORY
    assert [a["label"] for a in data["agents"]] == [
        a.agent_id for a in sorted(report.agents, key=lambda a: a.rank)
    ]
    evil = report.model_copy(update={"response_time_histogram": {"</script><script>alert(1)</script>": 1}})
    out = render_html(evil)
    assert "</script><script>alert(1)" not in out
    data = json.loads(
        re.search(r'<script id="kg-data" type="application/json">(.*?)</script>', out, re.S).group(1)
    )
    assert data["histogram"][0]["label"] == "</script><script>alert(1)</script>"


def test_html_shop_metrics_and_exposure(html, report):
    assert html.count('class="metric bad"') == 2 and html.count('class="metric good"') == 3
    assert "✗ 未达标" in html and "✓ 达标" in html and "无阈值" in html
    assert "罚款 ¥1,000" in html
    assert report.disclaimer in html
    assert html.count('class="agent-row"') == len(report.agents)


def test_html_unmasked_and_invalid_offsets(report):
    assert BUYER_PHONE in render_html(report, mask_pii=False)
    conv = report.flagged[3]
    bad = conv.findings[0].model_copy(update={"start": 50, "end": 60})
    broken = report.model_copy(update={"flagged": [conv.model_copy(update={"findings": [bad]})]})
    out = render_html(broken)
    assert "<mark" not in out  # no highlight where the offsets do not fit the text
    assert bad.title in out  # but the finding is still shown


def test_write_html_and_empty_report(report, tmp_path):
    out = write_html(report, tmp_path / "sub" / "report.html")
    assert out.read_text(encoding="utf-8").count('<article class="card conv') == len(report.flagged)
    empty = render_html(AuditReport(generated_at=dt.datetime(2024, 1, 1, tzinfo=SHANGHAI)))
    assert "没有问题会话" in empty


# ------------------------------------------------------------------ XLSX
@pytest.fixture(scope="module")
def workbook(tmp_path_factory):
    folder = tmp_path_factory.mktemp("xlsx")
    report = build_report(folder / "rejects.csv")
    path = write_xlsx(report, folder / "report.xlsx")
    return report, openpyxl.load_workbook(path)


def _rows(ws) -> list[tuple]:
    return [r for r in ws.iter_rows(values_only=True) if any(v is not None for v in r)]


def test_xlsx_sheets_and_layout(workbook):
    _, wb = workbook
    assert wb.sheetnames == ["汇总", "客服", "违规明细", "指标", "处罚明细", "拒收行"]
    for name in ("客服", "违规明细", "指标", "处罚明细", "拒收行"):
        ws = wb[name]
        assert ws.freeze_panes == "A2", name
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), name
        assert ws["A1"].font.bold, name
        assert ws.column_dimensions["A"].width > 6, name


def test_xlsx_summary(workbook):
    report, wb = workbook
    values = {r[0]: r[1] for r in _rows(wb["汇总"]) if r[0]}
    assert values["会话数"] == report.conversations
    assert values["导入读取行"] == 3552 and values["拒收行"] == 3
    assert values["保证金风险（元）"] == 100000
    assert values["说明"] == report.disclaimer
    assert values["优选家居旗舰店"] == "拼多多"
    assert values["导流/站外信息"] == 7
    assert wb["汇总"].auto_filter.ref.startswith("A")


def test_xlsx_agents(workbook):
    report, wb = workbook
    rows = _rows(wb["客服"])
    assert rows[0][:3] == ("名次", "客服", "店铺")
    assert [r[1] for r in rows[1:]] == [a.agent_id for a in sorted(report.agents, key=lambda a: a.rank)]


def test_xlsx_findings_are_text_and_masked(workbook):
    report, wb = workbook
    ws = wb["违规明细"]
    rows = _rows(ws)
    assert len(rows) == 1 + len(report.all_findings)
    header = rows[0]
    assert header[:5] == ("店铺", "平台", "客服", "会话", "时间")
    text_col = header.index("消息内容")
    texts = [r[text_col] for r in rows[1:]]
    assert any(BUYER_PHONE_MASKED in t for t in texts if t)
    assert not any(BUYER_PHONE in str(v) for r in rows for v in r)
    assert isinstance(rows[1][header.index("时间")], dt.datetime)
    assert rows[1][header.index("严重程度")] == "较重"


def test_xlsx_formula_text_stays_text(tmp_path, report):
    rows = [*report.all_findings, {"shop": "店", "text": "=SUM(A1:A9)", "matched": "=1+1"}]
    wb = openpyxl.load_workbook(
        write_xlsx(report.model_copy(update={"all_findings": rows}), tmp_path / "f.xlsx")
    )
    last = list(wb["违规明细"].iter_rows())[-1]
    cells = [c for c in last if c.value in ("=SUM(A1:A9)", "=1+1")]
    assert len(cells) == 2 and all(c.data_type == "s" for c in cells)


def test_xlsx_metrics(workbook):
    report, wb = workbook
    rows = _rows(wb["指标"])
    assert len(rows) == 1 + sum(len(s.metrics) for s in report.shops)
    header = rows[0]
    first = dict(zip(header, rows[1], strict=True))
    assert first["结果"] == "未达标" and first["实际值"] == "45.0%" and first["要求"] == "≥ 50.0%"
    assert first["数值"] == 45 and first["罚款（元）"] == 1000
    assert wb["指标"].cell(2, header.index("结果") + 1).font.color.rgb.endswith("C4320A")


def test_xlsx_rejects(workbook):
    _, wb = workbook
    rows = _rows(wb["拒收行"])
    assert rows[0] == ("文件 file", "工作表 sheet", "行号 line", "原因 reason", "原始内容 raw")
    assert [r[2] for r in rows[1:]] == [int(r[2]) for r in REJECT_ROWS]
    assert rows[3][4] == REJECT_ROWS[2][4]
    assert wb["拒收行"].cell(4, 5).data_type == "s"


def test_xlsx_without_rejects_file(report, tmp_path):
    wb = openpyxl.load_workbook(write_xlsx(report, tmp_path / "r.xlsx"))
    assert _rows(wb["拒收行"])[1][0].startswith("拒收明细文件不存在")
    empty = AuditReport(generated_at=dt.datetime(2024, 1, 1, tzinfo=SHANGHAI))
    wb = openpyxl.load_workbook(write_xlsx(empty, Path(tmp_path / "e.xlsx")))
    assert _rows(wb["拒收行"])[1][0] == "没有拒收行"
    assert wb.sheetnames == ["汇总", "客服", "违规明细", "指标", "处罚明细", "拒收行"]


def test_html_agent_chart_keeps_top_and_bottom_of_long_rankings(report):
    agents = [
        AgentSummary(shop="店", platform="jd", agent_id=f"agent{i:02d}", mean_score=100 - i, rank=i + 1)
        for i in range(40)
    ]
    out = render_html(report.model_copy(update={"agents": agents}))
    data = json.loads(
        re.search(r'<script id="kg-data" type="application/json">(.*?)</script>', out, re.S).group(1)
    )
    labels = [a["label"] for a in data["agents"]]
    assert labels == [f"agent{i:02d}" for i in (*range(15), *range(25, 40))]
    assert out.count('class="agent-row"') == 40  # the table keeps everyone


def test_mask_text_masks_a_landline_after_an_english_word():
    from kefuguard.io.masking import mask_text

    masked = mask_text("call me 0571-88886666")
    assert "88886666" not in masked and masked.startswith("call me 05")
    assert mask_text("SF1234567890 已发出") == "SF1234567890 已发出"  # a tracking number stays
