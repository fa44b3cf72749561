"""`kefuguard calc …`: compensation and fine calculators, and the reply-metric profiles.

A thin adapter over `kefuguard.penalties` and `kefuguard.conversation.profiles`; mounted by the main
CLI as the `calc` sub-app. Self-contained (own consoles) so importing it never depends on import
order with `kefuguard.cli`.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from kefuguard.penalties.compensation import (
    Compensation,
    douyin_fake_tracking,
    douyin_late_shipment,
    pdd_logistics_timeout,
    pdd_reply_rate_fine,
    tmall_late_shipment,
)
from kefuguard.rules.model import PLATFORM_NAMES_ZH

if TYPE_CHECKING:
    from kefuguard.conversation.profiles import MetricProfile

calc_app = typer.Typer(
    help="赔付与罚款计算器（抖音延迟发货/虚假轨迹、天猫延迟发货、拼多多物流超时/回复率罚款），以及回复指标口径。",
    no_args_is_help=True,
)

console = Console()
err_console = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON")]
PaidAtOpt = Annotated[str | None, typer.Option("--paid-at", help="付款时间，如 2024-05-01 10:00", show_default=False)]
ShippedAtOpt = Annotated[
    str | None, typer.Option("--shipped-at", help="发货（快递揽收记录）时间", show_default=False)
]

FORM_ZH = {"cash": "现金", "tmall_points": "天猫积分"}
PAYEE_ZH = {"buyer": "赔付买家", "platform": "平台罚款"}
BOT_ZH = {"ignore": "不算回复（等待人工）", "exclude_turn": "该轮不计入", "valid": "算回复"}


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]错误:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def _when(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise _fail(f"{name}格式不对：{value!r}（例：2024-05-01 10:00）") from exc


def _show(result: Compensation, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        return
    table = Table(title=result.title, show_header=False, title_justify="left")
    table.add_column("项", style="bold")
    table.add_column("值", overflow="fold")
    amount = f"{result.amount} 元"
    if result.form != "cash":
        amount += f"（以{FORM_ZH[result.form]}形式支付）"
    table.add_row(PAYEE_ZH[result.payee], f"[bold]{amount}[/]")
    if result.late is not None:
        table.add_row("是否超时", "是" if result.late else "否")
    table.add_row("计算", result.explanation)
    table.add_row("依据", f"[dim]{result.source}[/]")
    console.print(table)


def _run(as_json: bool, fn, *args, **kwargs) -> None:
    try:
        result = fn(*args, **kwargs)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    except ArithmeticError as exc:  # decimal.InvalidOperation/Overflow: an input past what can be computed
        raise _fail(f"数值超出可计算范围，请检查输入（{type(exc).__name__}）") from exc
    _show(result, as_json)


@calc_app.command("douyin-late")
def douyin_late(
    paid: Annotated[str, typer.Option("--paid", help="实际支付金额（元），不含代金券")],
    price: Annotated[str | None, typer.Option("--price", help="商品售价（元），仅用于说明", show_default=False)] = None,
    pickup_late: Annotated[bool, typer.Option("--pickup-late", help="揽收也超时（仍只赔付一次）")] = False,
    paid_at: PaidAtOpt = None,
    shipped_at: ShippedAtOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """抖音延迟发货：实付 1%，最低 3 元、最高 30 元；实付不足 3 元不赔付；揽收也超时只赔一次。"""
    _run(
        as_json, douyin_late_shipment, paid, price=price, pickup_late=pickup_late,
        paid_at=_when(paid_at, "付款时间"), shipped_at=_when(shipped_at, "发货时间"),
    )


@calc_app.command("douyin-fake-tracking")
def douyin_fake(
    paid: Annotated[str, typer.Option("--paid", help="实际支付金额（元）")],
    as_json: JsonOpt = False,
) -> None:
    """抖音虚假轨迹：实付 5%，最低 5 元、最高 100 元。"""
    _run(as_json, douyin_fake_tracking, paid)


@calc_app.command("tmall-late")
def tmall_late(
    amount: Annotated[str, typer.Option("--amount", help="商品实际成交金额（元）")],
    paid_at: PaidAtOpt = None,
    shipped_at: ShippedAtOpt = None,
    hours: Annotated[float, typer.Option("--hours", help="发货时效（小时）；预售/定制按约定时间")] = 72,
    as_json: JsonOpt = False,
) -> None:
    """天猫延迟发货（付款后 72 小时未发货）：成交金额 30%，最高 500 元，以天猫积分支付。"""
    _run(
        as_json, tmall_late_shipment, amount, paid_at=_when(paid_at, "付款时间"),
        shipped_at=_when(shipped_at, "发货时间"), agreed_hours=hours,
    )


@calc_app.command("pdd-logistics")
def pdd_logistics(
    orders: Annotated[int, typer.Option("--orders", help="物流超时订单数")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """拼多多物流超时：每单 5 元。"""
    _run(as_json, pdd_logistics_timeout, orders)


@calc_app.command("pdd-reply-fine")
def pdd_reply_fine(
    buyers: Annotated[int, typer.Option("--buyers", help="当天 8:00–23:00 咨询的消费者人数")],
    replied: Annotated[int, typer.Option("--replied", help="其中 3 分钟内得到回复的人数")],
    as_json: JsonOpt = False,
) -> None:
    """拼多多有效回复率罚款：当天咨询超过 100 人且 3 分钟有效回复率低于 50%，罚 1000 元。"""
    _run(as_json, pdd_reply_rate_fine, buyers, replied)


def _threshold(spec) -> str:
    from kefuguard.conversation.profiles import Kind  # the profiles take 0.1 s to import: only here

    if spec.threshold is None:
        return "—"
    op = {">": ">", ">=": "≥", "<": "<", "<=": "≤"}[spec.comparison]
    if spec.kind is Kind.mean_response:
        return f"{op} {spec.threshold:g} 秒"
    return f"{op} {spec.threshold * 100:g}%"


def _print_profile(profile: MetricProfile) -> None:
    table = Table(title=f"{profile.name}（{PLATFORM_NAMES_ZH.get(profile.platform, profile.platform)}）",
                  title_justify="left", show_lines=True)
    for name in ("指标", "单位", "时限", "要求", "考核时段", "其他"):
        table.add_column(name, overflow="fold")
    unit_zh = {"turn": "每轮咨询", "session": "每个会话", "buyer": "每位买家/天"}
    for metric_id, spec in profile.metrics.items():
        extras = []
        if spec.cap_seconds:
            extras.append(f"每轮最长按 {spec.cap_seconds:g} 秒计")
        if spec.unanswered_seconds is not None:
            extras.append(f"未回复按 {spec.unanswered_seconds:g} 秒计")
        if spec.exclude_reported_buyers:
            extras.append("举报/拉黑买家不计")
        if spec.fine:
            extras.append(f"超过 {spec.fine.min_units} 人且低于 {spec.fine.below * 100:g}% 罚 {spec.fine.yuan:g} 元")
        if spec.fine_per_miss_yuan:
            extras.append(f"每次未达标 {spec.fine_per_miss_yuan:g} 元（{'店内' if spec.fine_scope == 'internal' else '平台'}）")
        if spec.note:
            extras.append(spec.note)
        table.add_row(
            f"{spec.title}\n[dim]{metric_id}[/]",
            unit_zh[spec.unit.value],
            f"{spec.limit_seconds:g} 秒" if spec.limit_seconds else "—",
            _threshold(spec),
            spec.window.label() if spec.window else "全天",
            "；".join(extras) or "—",
        )
    console.print(table)
    for metric_id, spec in profile.metrics.items():
        console.print(f"[dim]依据 {metric_id}: {spec.source}[/]", highlight=False)
    bits = [f"机器人回复: {BOT_ZH[profile.bot_reply.value]}", f"自动回复算回复: {'是' if profile.auto_reply_counts else '否'}"]
    if profile.session_gap_seconds:
        bits.append(f"会话间隔: {profile.session_gap_seconds:g} 秒")
    if profile.assessment_cycle_days:
        bits.append(f"考核周期: {profile.assessment_cycle_days} 天")
    console.print("[dim]" + "；".join(bits) + "[/]")


@calc_app.command("profile")
def show_profile(
    platform: Annotated[str | None, typer.Argument(help="平台；不给则列出全部", show_default=False)] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="店铺自定义口径 YAML（覆盖默认值）", show_default=False)
    ] = None,
    as_yaml: Annotated[bool, typer.Option("--yaml", help="输出 YAML（可作为自定义模板）")] = False,
) -> None:
    """查看各平台回复指标的口径；用 --file 校验并预览店铺自定义的口径。"""
    from kefuguard.conversation.profiles import (
        DEFAULT_PROFILES,
        get_profile,
        profile_from_yaml,
        profile_to_yaml,
    )

    profiles: list[MetricProfile]
    if file is not None:
        if not file.is_file():
            raise _fail(f"文件不存在: {file}")
        try:
            base = get_profile(platform) if platform else None
            profiles = [profile_from_yaml(file.read_text(encoding="utf-8-sig"), base=base)]
        except (ValueError, ValidationError) as exc:
            raise _fail(f"{file} 不是有效的指标口径：{exc}") from exc
    elif platform is not None:
        try:
            profiles = [get_profile(platform)]
        except ValueError as exc:
            raise _fail(f"未知平台 {platform!r}，可选: {', '.join(DEFAULT_PROFILES)}") from exc
    else:
        profiles = list(DEFAULT_PROFILES.values())
    for profile in profiles:
        if as_yaml:
            sys.stdout.write(profile_to_yaml(profile))
            if len(profiles) > 1:
                sys.stdout.write("---\n")
        else:
            _print_profile(profile)
