"""`kefuguard kpi CHATS... --orders FILE`: sales and after-sales KPIs from chats joined with orders.

A thin adapter over `kefuguard.io.orders` and `kefuguard.sales` (docs/kpi.md). Everything heavy is
imported inside the command, so registering it costs the CLI's cold start nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def kpi(
    chats: Annotated[list[Path], typer.Argument(help="聊天记录文件或文件夹 chat exports")],
    orders: Annotated[list[Path], typer.Option("--orders", help="订单导出（CSV/XLSX，可重复）order exports")],
    refunds: Annotated[list[Path] | None, typer.Option("--refunds", help="售后/退款导出（可重复）")] = None,
    profile: Annotated[str, typer.Option("--profile", help="归属口径 last_manual_24h | same_day")] = "last_manual_24h",
    window_hours: Annotated[float | None, typer.Option("--window-hours", help="归属回看小时数（覆盖口径）")] = None,
    platform: Annotated[str | None, typer.Option("--platform", help="无平台列时的默认平台")] = None,
    shop: Annotated[str | None, typer.Option("--shop", help="无店铺列时的默认店铺")] = None,
    column_map: Annotated[list[str] | None, typer.Option("--map", help="订单列名映射 源列名=字段（可重复）")] = None,
    refund_map: Annotated[list[str] | None, typer.Option("--refund-map", help="售后列名映射 源列名=字段")] = None,
    chat_map: Annotated[list[str] | None, typer.Option("--chat-map", help="聊天记录列名映射 源列名=字段")] = None,
    rejects: Annotated[Path | None, typer.Option("--rejects", help="订单/售后拒绝行写入此 CSV")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="拒绝原因语言 zh|en")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """询单/下单/付款人数、询单转化率、落实率、客单价、售后时长（订单与售后导出关联聊天记录）。"""
    import json

    from rich.console import Console
    from rich.table import Table

    from kefuguard.io.columns import ColumnError, parse_column_map
    from kefuguard.io.importers import Reject, import_logs
    from kefuguard.io.orders import read_orders, read_refunds
    from kefuguard.sales import compute_kpis, get_profile

    err = Console(stderr=True)
    found: list[Reject] = []

    def sink(reject: Reject) -> None:
        found.append(reject)

    try:
        prof = get_profile(profile, **({"window_hours": window_hours} if window_hours else {}))
        order_columns, refund_columns, chat_columns = (
            parse_column_map(items, option) for items, option in (
                (column_map, "--map"), (refund_map, "--refund-map"), (chat_map, "--chat-map")))
        order_list, order_stats = read_orders(orders, platform=platform, shop=shop, mapping=order_columns,
                                              rejects=sink, lang=lang)
        refund_list, refund_stats = ([], None) if not refunds else read_refunds(
            refunds, mapping=refund_columns, rejects=sink, lang=lang)
        conversations, chat_stats = import_logs([str(p) for p in chats], platform=platform, shop=shop,
                                                mapping=chat_columns or None, rejects_lang=lang)
        report = compute_kpis(conversations, order_list, refund_list, prof)
    except (ColumnError, ValueError) as exc:
        text = exc.text(lang or "zh") if isinstance(exc, ColumnError) else str(exc)
        err.print(f"[bold red]错误:[/] {text}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if rejects is not None:
        from kefuguard.io.importers import RejectsWriter

        with RejectsWriter(rejects, lang=lang) as writer:
            for r in found:
                writer(r)
    if as_json:
        data = report.model_dump(mode="json")
        data["import"] = {"chats": chat_stats.as_dict(), "orders": order_stats.as_dict(),
                          "refunds": refund_stats.as_dict() if refund_stats else None}
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    console = Console()
    console.print(f"归属口径 profile: {prof.name}（{prof.title}）  订单 {report.orders}，静默下单 {report.silent_orders}，"
                  f"售后 {report.refunds}（未匹配订单 {report.unmatched_refunds}）；订单导入：{order_stats.summary_zh()}",
                  highlight=False)
    table = Table(title="客服销售与售后指标 KPIs")
    for col in ("层级", "平台", "店铺", "客服", "日期", "询单", "下单", "付款", "询单转化率", "落实率", "销售额",
                "客单价", "件/单", "静默下单", "售后时长h", "退款完结h", "品质退款率", "纠纷率", "达标"):
        table.add_column(col)
    for row in report.rows:
        passed = "".join("[green]✓[/]" if r.passed else "[red]✗[/]" for r in row.results if r.passed is not None)
        table.add_row(row.level, row.platform, row.shop, row.agent_id, str(row.day or "合计"), str(row.consulted),
                      str(row.ordered), str(row.paid), _pct(row.conversion_rate), _pct(row.fulfilment_rate),
                      f"{row.sales:.2f}", _num(row.avg_order_value), _num(row.items_per_order),
                      str(row.silent_ordered), _num(row.handling_hours, 1), _num(row.refund_hours, 1),
                      _pct(row.quality_refund_rate), _pct(row.dispute_rate), passed)
    console.print(table)
    if found:
        console.print(f"拒绝 {len(found)} 行 rejected rows" + (f"，见 {rejects}" if rejects else ""), highlight=False)


def add_kpi_commands(app: typer.Typer) -> None:
    app.command("kpi")(kpi)
