"""The audit report as an Excel workbook: 汇总, 客服, 违规明细, 指标, 销售指标 (with order exports), 处罚明细, 拒收行.

Every text cell is written with `write_string`, never `write`: chat text such as "=还在吗" or a
pasted link must stay text, not become a formula or a hyperlink (CSV/Excel formula injection).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import xlsxwriter

from kefuguard.conversation.results import BASIS_ZH, AuditReport
from kefuguard.io.reports.common import (
    KPI_COLUMNS,
    KPI_LEVEL_ZH,
    SEVERITIES,
    WHOLE_PERIOD_ZH,
    agent_label,
    category_zh,
    day_range,
    fmt_metric_value,
    import_counts_text,
    is_unassigned,
    kpi_imports,
    kpi_profile_text,
    kpi_requirements,
    kpi_sort_key,
    kpi_status,
    local_time,
    platform_zh,
    ranked_agents,
    severity_zh,
    status_zh,
    threshold_text,
    totals,
    unassigned_agents,
)
from kefuguard.masking import mask_report, mask_text

MAX_CELL_CHARS = 32767
MAX_ROWS = 1_048_576
MAX_WIDTH = 60

# all_findings row keys → column headers (unknown keys keep their own name, after these)
FINDING_COLUMNS = {
    "shop": "店铺",
    "platform": "平台",
    "agent": "客服",
    "agent_id": "客服",
    "conversation": "会话",
    "conversation_id": "会话",
    "time": "时间",
    "sent_at": "时间",
    "rule": "规则编号",
    "check_id": "规则编号",
    "title": "规则",
    "category": "类别",
    "severity": "严重程度",
    "matched": "命中内容",
    "text": "消息内容",
    "detail": "说明",
    "penalty": "处罚",
    "suggestion": "建议话术",
    "refusal": "拒绝语境",
    "source": "来源",
}
_TRANSLATE = {"platform": platform_zh, "category": category_zh, "severity": severity_zh}


def _width(value: Any) -> int:
    """Display width: CJK and full-width characters take two columns."""
    text = str(value) if value is not None else ""
    line = max(text.split("\n"), key=len) if text else ""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


class _Styled(NamedTuple):
    """A cell value with its own format (a pass/fail cell), overriding the column's."""

    value: Any
    fmt: Any


class _Sheet:
    """A worksheet written row by row, remembering column widths for the end."""

    def __init__(self, book: _Book, name: str) -> None:
        self.book = book
        self.ws = book.wb.add_worksheet(name)
        self.row = 0
        self.widths: dict[int, int] = {}

    def cell(self, row: int, col: int, value: Any, fmt=None) -> None:
        ws, f = self.ws, fmt or self.book.text
        if value is None or value == "":
            ws.write_blank(row, col, None, f)
        elif isinstance(value, bool):
            ws.write_string(row, col, "是" if value else "否", f)
        elif isinstance(value, int | float):
            ws.write_number(row, col, value, fmt or self.book.number)
        elif isinstance(value, dt.datetime):
            ws.write_datetime(row, col, local_time(value).replace(tzinfo=None), self.book.datetime)
        elif isinstance(value, dt.date):
            ws.write_datetime(row, col, dt.datetime.combine(value, dt.time()), self.book.date)
        else:
            if isinstance(value, dict | list):
                value = json.dumps(value, ensure_ascii=False)
            ws.write_string(row, col, str(value)[:MAX_CELL_CHARS], f)
        width = 19 if isinstance(value, dt.datetime) else _width(value)
        self.widths[col] = max(self.widths.get(col, 0), width)

    def line(self, values: Sequence[Any], fmts: Sequence[Any] | None = None) -> int:
        for col, value in enumerate(values):
            fmt = fmts[col] if fmts else None
            if isinstance(value, _Styled):
                value, fmt = value
            self.cell(self.row, col, value, fmt)
        self.row += 1
        return self.row - 1

    def header(self, names: Sequence[str]) -> int:
        return self.line(names, [self.book.header] * len(names))

    def table(
        self,
        names: Sequence[str],
        rows: Sequence[Sequence[Any]],
        fmts: Sequence[Any] | None = None,
        *,
        freeze: bool = True,
    ) -> None:
        """A header, rows, an autofilter over them and (by default) frozen panes below the header."""
        top = self.header(names)
        for values in rows:
            if self.row >= MAX_ROWS:
                break
            self.line(values, fmts)
        self.ws.autofilter(top, 0, max(self.row - 1, top), len(names) - 1)
        if freeze:
            self.ws.freeze_panes(top + 1, 0)

    def finish(self, minimum: int = 6) -> None:
        for col, width in self.widths.items():
            self.ws.set_column(col, col, min(max(width + 2, minimum), MAX_WIDTH))


class _Book:
    def __init__(self, path: Path) -> None:
        self.wb = xlsxwriter.Workbook(
            str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
        )
        add = self.wb.add_format
        base = {"font_name": "Microsoft YaHei", "font_size": 10, "valign": "top"}
        self.text = add({**base})
        self.wrap = add({**base, "text_wrap": True})
        self.number = add({**base, "num_format": "#,##0.##"})
        self.yuan = add({**base, "num_format": "#,##0.00"})
        self.score = add({**base, "num_format": "0.0"})
        self.datetime = add({**base, "num_format": "yyyy-mm-dd hh:mm:ss"})
        self.date = add({**base, "num_format": "yyyy-mm-dd"})
        self.header = add(
            {
                **base,
                "bold": True,
                "font_color": "#FFFFFF",
                "bg_color": "#1F3A68",
                "border": 1,
                "valign": "vcenter",
                "text_wrap": True,
            }
        )
        self.title = add({**base, "bold": True, "font_size": 14})
        self.key = add({**base, "bold": True, "bg_color": "#EEF2F8"})
        self.note = add({**base, "italic": True, "font_color": "#9A4A00"})
        self.good = add({**base, "font_color": "#12805C", "bg_color": "#E6F6EF"})
        self.bad = add({**base, "font_color": "#C4320A", "bg_color": "#FDECEA", "bold": True})
        self.muted = add({**base, "font_color": "#8A93A6"})
        self.count = add({**base, "num_format": "#,##0"})
        self.percent = add({**base, "num_format": "0.0%"})
        self.ratio = add({**base, "num_format": "0.00"})
        self.hours = add({**base, "num_format": "0.0"})

    def sheet(self, name: str) -> _Sheet:
        return _Sheet(self, name)

    def status(self, passed: bool | None) -> _Styled:
        """达标 / 未达标 / 无阈值, green / red / grey."""
        return _Styled(status_zh(passed), {True: self.good, False: self.bad, None: self.muted}[passed])

    def kpi_format(self, kind: str) -> Any:
        return {"count": self.count, "pct": self.percent, "yuan": self.yuan, "ratio": self.ratio,
                "hours": self.hours}[kind]


def _summary(book: _Book, report: AuditReport) -> None:
    s = book.sheet("汇总")
    t = totals(report)
    imp = report.imports
    s.line([report.title], [book.title])
    s.row += 1
    pairs = [
        ("生成时间", report.generated_at),
        ("统计日期", day_range(report)),
        ("规则包", "、".join(report.packs)),
        ("会话数", report.conversations),
        ("消息数", report.messages),
        ("导入读取行", imp.read),
        ("导入接收行", imp.accepted),
        ("重复行", imp.duplicates),
        ("拒收行", imp.rejected),
        ("违规总数", t["findings"]),
        *[(f"违规（{severity_zh(sev)}）", report.findings_by_severity.get(sev, 0)) for sev in SEVERITIES],
        ("平均得分", round(t["mean_score"], 1)),
        ("指标未达标", f"{t['metrics_failed']} / {t['metrics']}"),
        ("预估罚款（元）", t["fine_yuan"]),
        ("预估赔付买家（元）", t["buyer_compensation_yuan"]),
        ("保证金风险（元）", t["deposit_at_risk_yuan"]),
        ("预估扣分", t["points"]),
    ]
    if report.kpis is not None:
        k = report.kpis
        pairs += [
            ("销售指标口径", kpi_profile_text(k)),
            ("订单数", k.orders),
            ("静默下单订单", k.silent_orders),
            ("售后记录", k.refunds),
            ("未匹配订单的售后", k.unmatched_refunds),
            *[(f"{label}导入", import_counts_text(counts)) for label, counts in kpi_imports(k)],
        ]
    for key, value in pairs:
        s.line([key, value], [book.key, None])
    s.line(["说明", report.disclaimer], [book.key, book.note])
    s.row += 1
    names = [
        "店铺",
        "平台",
        "会话",
        "消息",
        "违规",
        "平均分",
        "未达标指标",
        "罚款（元）",
        "赔付买家（元）",
        "保证金风险（元）",
        "扣分",
        "估算说明",
    ]
    rows = []
    for shop in report.shops:
        e = shop.exposure
        rows.append(
            [
                shop.shop,
                platform_zh(shop.platform),
                shop.conversations,
                shop.messages,
                shop.findings,
                round(shop.mean_score, 1),
                sum(1 for m in shop.metrics if m.passed is False),
                e.fine_yuan if e else 0,
                e.buyer_compensation_yuan if e else 0,
                e.deposit_at_risk_yuan if e else 0,
                e.points if e else 0,
                "；".join(e.notes) if e else "",
            ]
        )
    s.table(
        names,
        rows,
        [None, None, None, None, None, book.score, None, book.yuan, book.yuan, book.yuan, None, None],
        freeze=False,
    )
    s.ws.freeze_panes(1, 0)
    s.row += 1
    s.line(["违规类别", "次数"], [book.header, book.header])
    for code, n in sorted(report.findings_by_category.items(), key=lambda kv: -kv[1]):
        s.line([category_zh(code), n])
    s.row += 1
    s.line(["回复时长", "轮次"], [book.header, book.header])
    for label, n in report.response_time_histogram.items():
        s.line([label, n])
    s.widths[0] = max(s.widths.get(0, 0), 18)
    s.finish()


def _agents(book: _Book, report: AuditReport) -> None:
    s = book.sheet("客服")
    cats = sorted({c for a in report.agents for c in a.findings_by_category})
    names = [
        "名次",
        "客服",
        "店铺",
        "平台",
        "会话",
        "消息",
        "违规",
        *[f"{severity_zh(x)}" for x in SEVERITIES],
        "平均分",
        "最低分",
        "平均首响（秒）",
        *[category_zh(c) for c in cats],
    ]
    rows = []
    ranked = ranked_agents(report)
    for pos, a in enumerate([*ranked, *unassigned_agents(report)], start=1):
        rows.append(
            [
                "—" if is_unassigned(a) else (a.rank or pos),
                agent_label(a),
                a.shop,
                platform_zh(a.platform),
                a.conversations,
                a.messages,
                a.findings,
                *[a.findings_by_severity.get(x, 0) for x in SEVERITIES],
                round(a.mean_score, 1),
                round(a.min_score, 1),
                round(a.mean_first_response_seconds, 1)
                if a.mean_first_response_seconds is not None
                else None,
                *[a.findings_by_category.get(c, 0) for c in cats],
            ]
        )
    s.table(names, rows)
    s.finish()


def _findings(book: _Book, report: AuditReport) -> None:
    s = book.sheet("违规明细")
    keys: list[str] = []
    for row in report.all_findings:
        for k in row:
            if k not in keys:
                keys.append(k)
    known = [k for k in FINDING_COLUMNS if k in keys]
    keys = known + [k for k in keys if k not in FINDING_COLUMNS]
    names = [FINDING_COLUMNS.get(k, k) for k in keys]
    rows = []
    for row in report.all_findings:
        values = []
        for k in keys:
            v = row.get(k)
            if k in _TRANSLATE and isinstance(v, str):
                v = _TRANSLATE[k](v)
            elif k in ("time", "sent_at") and isinstance(v, str):
                v = _parse_time(v)
            values.append(v)
        rows.append(values)
    wrap = {"text", "suggestion", "penalty", "detail"}
    s.table(names, rows, [book.wrap if k in wrap else None for k in keys])
    s.finish()
    for col, k in enumerate(keys):
        if k in wrap:
            s.ws.set_column(col, col, 40 if k != "text" else 50, book.wrap)


def _parse_time(value: str) -> dt.datetime | str:
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return value


def _charges(book: _Book, report: AuditReport) -> None:
    """处罚明细: each shop's exposure line by line — which rule charged, on what basis, how often."""
    s = book.sheet("处罚明细")
    names = ["店铺", "平台", "规则", "名称", "依据", "次数", "金额（元）", "扣分", "处罚原文"]
    rows = [
        [shop.shop, platform_zh(shop.platform), c.rule, c.title, BASIS_ZH.get(c.basis, c.basis), c.events,
         c.yuan, c.points, c.penalty]
        for shop in report.shops if shop.exposure is not None
        for c in shop.exposure.charges
    ]
    s.table(names, rows, [None, None, None, None, None, None, book.yuan, None, None])
    s.finish()


def _metrics(book: _Book, report: AuditReport) -> None:
    s = book.sheet("指标")
    names = [
        "店铺",
        "平台",
        "客服",
        "日期",
        "指标",
        "指标编号",
        "实际值",
        "要求",
        "结果",
        "数值",
        "阈值",
        "单位",
        "分子",
        "分母",
        "罚款（元）",
        "说明",
    ]
    rows = [
        [
            m.shop,
            platform_zh(m.platform),
            m.agent_id or "",
            m.day,
            m.title,
            m.metric,
            fmt_metric_value(m, m.value),
            threshold_text(m),
            book.status(m.passed),
            m.value,
            m.threshold,
            m.unit,
            m.numerator,
            m.denominator,
            m.fine_yuan,
            m.note,
        ]
        for shop in report.shops
        for m in shop.metrics
    ]
    s.table(names, rows, [*[None] * 14, book.yuan, None])
    s.finish()


def _kpis(book: _Book, report: AuditReport) -> None:
    """销售指标: every KPI row (agent/shop/platform × day, 合计 = whole period), judged like 指标."""
    kpis = report.kpis
    if kpis is None:
        return
    s = book.sheet("销售指标")
    names = ["层级", "平台", "店铺", "客服", "日期", *[c.label for c in KPI_COLUMNS], "考核要求", "达标"]
    rows = [
        [
            KPI_LEVEL_ZH.get(r.level, r.level),
            platform_zh(r.platform),
            r.shop,
            r.agent_id,
            r.day or WHOLE_PERIOD_ZH,
            *[c.value(r) for c in KPI_COLUMNS],
            kpi_requirements(r),
            book.status(kpi_status(r)),
        ]
        for r in sorted(kpis.rows, key=kpi_sort_key)
    ]
    s.table(names, rows, [*[None] * 5, *[book.kpi_format(c.kind) for c in KPI_COLUMNS], None, None])
    s.finish()


def _rejects(book: _Book, report: AuditReport, mask_pii: bool) -> None:
    s = book.sheet("拒收行")
    path = report.imports.rejects_path
    if not path or not Path(path).is_file():
        s.header(["说明"])
        s.line(["没有拒收行" if not report.imports.rejected else f"拒收明细文件不存在：{path or '未记录'}"])
        s.ws.freeze_panes(1, 0)
        s.finish()
        return
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None) or [
            "文件 file",
            "工作表 sheet",
            "行号 line",
            "原因 reason",
            "原始内容 raw",
        ]
        rows = []
        for values in reader:
            if len(rows) >= MAX_ROWS - 1:
                break
            out: list[Any] = []
            for i, v in enumerate(values):
                if i == 2 and v.isdigit():
                    out.append(int(v))
                else:
                    out.append(mask_text(v) if mask_pii else v)
            rows.append(out)
    s.table(header, rows)
    s.finish()


def write_xlsx(report: AuditReport, path: str | os.PathLike[str], *, mask_pii: bool = True) -> Path:
    """Write the workbook; returns the path written. Needs only xlsxwriter (pinned)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if mask_pii:
        report = mask_report(report)
    book = _Book(out)
    try:
        _summary(book, report)
        _agents(book, report)
        _findings(book, report)
        _metrics(book, report)
        _kpis(book, report)
        _charges(book, report)
        _rejects(book, report, mask_pii)
    finally:
        book.wb.close()
    return out
