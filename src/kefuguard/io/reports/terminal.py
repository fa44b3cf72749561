"""The audit summary in the terminal (Rich): what a supervisor reads before opening the HTML."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from kefuguard.conversation.results import AuditReport, KpiReport, ShopSummary
from kefuguard.io.reports.common import (
    SEVERITIES,
    WHOLE_PERIOD_ZH,
    agent_label,
    category_zh,
    day_range,
    fmt_metric_value,
    fmt_number,
    fmt_seconds,
    fmt_yuan,
    import_counts_text,
    is_unassigned,
    kpi_columns,
    kpi_imports,
    kpi_name,
    kpi_profile_text,
    kpi_rows,
    platform_zh,
    ranked_agents,
    severity_zh,
    status_mark,
    threshold_text,
    totals,
    unassigned_agents,
)

RANKING_SIZE = 5
_SEVERITY_STYLE = {"critical": "bold red", "major": "dark_orange", "minor": "yellow", "info": "cyan"}
_STATUS_STYLE = {True: "green", False: "bold red", None: "dim"}
# the KPI columns (short headers) a terminal can hold; the HTML and XLSX reports have them all
_KPI_HEADS = {"consulted": "询单", "paid": "付款", "conversion_rate": "转化率", "fulfilment_rate": "落实率",
              "sales": "销售额", "avg_order_value": "客单价", "silent_ordered": "静默"}


def print_summary(
    report: AuditReport, console: Console | None = None, *, ranking_size: int = RANKING_SIZE
) -> None:
    """Print totals, per-shop metrics and exposure, agent ranking and findings by category."""
    console = console or Console()
    t = totals(report)
    period = day_range(report)
    head = Text()
    head.append(f"{report.title}\n", style="bold")
    head.append(f"生成时间 {report.generated_at:%Y-%m-%d %H:%M}")
    if period:
        head.append(f"  ·  日期 {period}")
    if report.packs:
        head.append(f"\n规则包 {'、'.join(report.packs)}", style="dim")
    console.print(Panel(head, expand=False))

    imp = report.imports
    overview = Table(title="总览", show_header=False, box=None, padding=(0, 2))
    overview.add_column(style="bold")
    overview.add_column(justify="right")
    overview.add_row("会话数", f"{report.conversations:,}")
    overview.add_row("消息数", f"{report.messages:,}")
    overview.add_row(
        "导入行：读取 / 接收 / 重复 / 拒收",
        f"{imp.read:,} / {imp.accepted:,} / {imp.duplicates:,} / {imp.rejected:,}",
    )
    if imp.rejects_path:
        overview.add_row("拒收明细", imp.rejects_path)
    for label, status in (("无法读取的文件", "unreadable"), ("跳过的文件", "skipped"), ("空文件", "empty")):
        names = [f.get("path", "") for f in imp.files if f.get("status") == status]
        if names:
            shown = "、".join(names[:5]) + (f" 等 {len(names)} 个" if len(names) > 5 else "")
            overview.add_row(label, shown)
    overview.add_row("违规总数", f"{t['findings']:,}")
    sev = "  ".join(f"{severity_zh(s)} {report.findings_by_severity.get(s, 0)}" for s in SEVERITIES)
    overview.add_row("按严重程度", sev)
    overview.add_row("平均得分", f"{t['mean_score']:.1f}")
    overview.add_row("指标未达标", f"{t['metrics_failed']} / {t['metrics']}")
    console.print(overview)

    if report.shops:
        console.print(_shops_table(report.shops))
        if any(shop.metrics for shop in report.shops):
            console.print(_metrics_table(report.shops))
    if report.kpis is not None:
        console.print(_kpi_table(report.kpis))
    if report.agents:
        console.print(_agents_table(report, ranking_size))
    if report.findings_by_category:
        cats = Table(title="违规类别分布")
        cats.add_column("类别")
        cats.add_column("次数", justify="right")
        cats.add_column("占比", justify="right")
        total = sum(report.findings_by_category.values()) or 1
        for code, n in sorted(report.findings_by_category.items(), key=lambda kv: -kv[1]):
            cats.add_row(category_zh(code), str(n), f"{n / total:.0%}")
        console.print(cats)
    console.print(Text(f"注：{report.disclaimer}", style="italic dim"))


def _shops_table(shops: list[ShopSummary]) -> Table:
    """One row per shop: volume, score and the estimated exposure (metrics get their own table,
    so both stay readable in an 80-column terminal)."""
    table = Table(title="店铺得分与预估处罚")
    for name, justify in (("店铺", "left"), ("平台", "left"), ("会话", "right"), ("违规", "right"),
                          ("平均分", "right"), ("罚款赔付¥", "right"), ("店规罚款¥", "right"),
                          ("保证金¥", "right"), ("扣分", "right")):
        table.add_column(name, justify=justify)
    for shop in shops:
        e = shop.exposure
        money = (e.fine_yuan + e.buyer_compensation_yuan) if e else 0.0
        table.add_row(
            shop.shop,
            platform_zh(shop.platform),
            f"{shop.conversations:,}",
            f"{shop.findings:,}",
            f"{shop.mean_score:.1f}",
            fmt_yuan(money),
            fmt_yuan(e.shop_policy_yuan) if e else "0",
            fmt_yuan(e.deposit_at_risk_yuan) if e else "0",
            fmt_number(e.points) if e else "0",
        )
    return table


def _metrics_table(shops: list[ShopSummary]) -> Table:
    """Every platform metric of every shop against its threshold (whole period)."""
    table = Table(title="平台指标（实际 / 要求）")
    for name, justify in (("店铺", "left"), ("指标", "left"), ("实际", "right"), ("要求", "right"),
                          ("结果", "center"), ("罚款(元)", "right")):
        table.add_column(name, justify=justify)
    for shop in shops:
        for m in shop.metrics:
            table.add_row(
                shop.shop,
                m.title,
                fmt_metric_value(m, m.value),
                threshold_text(m) if m.threshold is not None else "—",
                _status(m.passed),
                fmt_yuan(m.fine_yuan) if m.fine_yuan else "",
            )
    return table


def _status(passed: bool | None, label: str | None = None) -> Text:
    return Text(label or status_mark(passed), style=_STATUS_STYLE[passed])


def _kpi_table(kpis: KpiReport) -> Table:
    """Sales KPIs per shop and platform over the whole period, and how many daily targets failed."""
    columns = kpi_columns(tuple(_KPI_HEADS))
    caption = "；".join(f"{label}导入 {import_counts_text(counts)}" for label, counts in kpi_imports(kpis))
    table = Table(title=f"销售指标（整段时间，口径 {kpi_profile_text(kpis)}）", caption=caption or None)
    table.add_column("店铺", overflow="fold")
    table.add_column("平台")
    for c in columns:
        table.add_column(_KPI_HEADS[c.field], justify="right")
    table.add_column("日未达标", justify="center")
    daily = kpi_rows(kpis, ("platform", "shop"), daily=True)
    for row in kpi_rows(kpis, ("platform", "shop"), daily=False):
        judged = [
            m.passed
            for d in daily
            if (d.level, d.platform, d.shop) == (row.level, row.platform, row.shop)
            for m in d.results
            if m.passed is not None
        ]
        failed = judged.count(False)
        verdict = _status(not failed, f"{status_mark(not failed)} {failed}/{len(judged)}") if judged else "—"
        name = WHOLE_PERIOD_ZH if row.level == "platform" else kpi_name(row)
        table.add_row(name, platform_zh(row.platform), *[c.text(row) for c in columns], verdict,
                      style="bold" if row.level == "platform" else None)
    return table


def _agents_table(report: AuditReport, size: int) -> Table:
    ranked = ranked_agents(report)
    unassigned = unassigned_agents(report)
    if len(ranked) > 2 * size:
        shown = [*ranked[:size], None, *ranked[-size:]]
        title = f"客服排名（前 {size} 名与后 {size} 名，共 {len(ranked)} 人）"
    else:
        shown = list(ranked)
        title = f"客服排名（共 {len(ranked)} 人）"
    if unassigned:
        title += f"；未分配会话 {sum(a.conversations for a in unassigned)} 个，不参与排名"
        shown.extend(unassigned)
    table = Table(title=title)
    for name, justify in (
        ("名次", "right"),
        ("客服", "left"),
        ("店铺", "left"),
        ("平台", "left"),
        ("会话", "right"),
        ("违规", "right"),
        ("严重", "right"),
        ("平均分", "right"),
        ("最低分", "right"),
        ("平均首响", "right"),
    ):
        table.add_column(name, justify=justify)
    for a in shown:
        if a is None:
            table.add_row("…", *[""] * 9)
            continue
        rank = "—" if is_unassigned(a) else str(a.rank or (ranked.index(a) + 1))
        style = "red" if a.mean_score < 80 else None
        table.add_row(
            rank,
            agent_label(a),
            a.shop,
            platform_zh(a.platform),
            str(a.conversations),
            str(a.findings),
            Text(str(a.findings_by_severity.get("critical", 0)), style=_SEVERITY_STYLE["critical"])
            if a.findings_by_severity.get("critical")
            else "0",
            f"{a.mean_score:.1f}",
            f"{a.min_score:.1f}",
            fmt_seconds(a.mean_first_response_seconds),
            style=style,
        )
    return table
