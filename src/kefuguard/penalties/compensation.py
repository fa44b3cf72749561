"""Compensation a shop owes buyers under platform shipping rules, in exact Decimal yuan.

Each calculator quotes the seed sentence it implements. Amounts round to the fen (0.01 yuan,
half up). Inputs accept Decimal, int, str or float (floats go through str, so 0.1 stays 0.1).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FEN = Decimal("0.01")
# Inputs beyond these are typing mistakes, not orders (and would overflow Decimal's 28-digit context).
MAX_AMOUNT = Decimal(10) ** 10  # yuan: 100 亿
MAX_COUNT = 10**9
MAX_HOURS = 24 * 366
Money = Decimal | int | str | float

SOURCE_DOUYIN_LATE = (
    "000 考试第3题：(抖音)延迟发货订单实际支付金额大于300元,赔付___%,最高不超过__元 A、1% 30元(正确答案)；"
    "第4题：延迟发货订单实际支付金额小于3元,不进行赔付 A、对(正确答案)；第14题：售价300元,支付280元,同时使用了20元"
    "代金券……发货超时……A、3元(正确答案)；第15题：同一订单商家发货超时后,揽收操作也超时……A、1次(正确答案)"
)
SOURCE_DOUYIN_FAKE = "000 考试第5题：(抖音)判定为虚假轨迹的订单按实际支付金额的__%赔付,最低不少于5元,不高于100元。C、5%(正确答案)"
SOURCE_TMALL_LATE = (
    "003 天猫规则第七十二条：延迟发货,是指除特殊商品外,商家在买家付款后实际未在七十二小时内发货……延迟发货的,商家需向"
    "买家支付该商品实际成交金额的百分之三十(金额最高不超过五百元)作为违约金,该违约金将以天猫积分形式支付。"
)
SOURCE_PDD_LOGISTICS = "002：委婉的拒绝客户要求延长发货时间,因为这样会使发货物流超时,一旦产生物流超时会扣5元/单"
SOURCE_PDD_REPLY_FINE = (
    "002：若当天咨询人数超过100,且有效回复率低于50%,就会罚款1000元。(超过100人咨询才开始计算罚款)"
)

DOUYIN_SHIP_HOURS = 48  # 000 考试第1题：普通商品的发货时效是? C、48小时(正确答案)
TMALL_SHIP_HOURS = 72


class Compensation(BaseModel):
    """One calculated compensation or fine, with how it was reached."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    platform: str
    title: str
    amount: Decimal = Field(description="yuan, rounded to the fen")
    payee: Literal["buyer", "platform"] = "buyer"
    form: Literal["cash", "tmall_points"] = "cash"
    basis: Decimal | None = Field(default=None, description="the amount the percentage applies to")
    rate: Decimal | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    times: int = Field(default=1, ge=0, description="how many compensations this is (Douyin: one per order)")
    late: bool | None = Field(default=None, description="whether the order was late, when times were given")
    explanation: str
    source: str


def money(value: Money, name: str = "金额") -> Decimal:
    """A non-negative finite Decimal from user input; ValueError with a Chinese message otherwise."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"{name}不是有效数字：{value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"{name}不是有效数字：{value!r}")
    if amount < 0:
        raise ValueError(f"{name}不能为负数：{value}")
    if amount > MAX_AMOUNT:
        raise ValueError(f"{name}过大：{value}（上限 {MAX_AMOUNT:,f} 元，请检查是否多输了位数）")
    return amount


def _count(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}须为非负整数：{value!r}")
    if value > MAX_COUNT:
        raise ValueError(f"{name}过大：{value}（上限 {MAX_COUNT:,}）")
    return value


def _fen(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def _yuan(value: Decimal) -> str:
    """12.30 → '12.3', 3.00 → '3' (for explanations)."""
    text = f"{_fen(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _clamp(value: Decimal, low: Decimal, high: Decimal) -> Decimal:
    return max(low, min(high, value))


def hours_late(paid_at: dt.datetime, shipped_at: dt.datetime, limit_hours: float) -> float:
    """Hours past the shipping deadline (≤ 0: on time). Naive times are taken as the same zone.

    ValueError when the shipment precedes the payment (a typo: nothing ships before it is paid)
    or the time limit is not a positive number of hours."""
    if (paid_at.tzinfo is None) != (shipped_at.tzinfo is None):
        raise ValueError("付款时间与发货时间须同时带时区或同时不带时区")
    if not (isinstance(limit_hours, int | float) and math.isfinite(limit_hours) and 0 < limit_hours <= MAX_HOURS):
        raise ValueError(f"发货时效须为 0 到 {MAX_HOURS} 之间的小时数：{limit_hours!r}")
    if shipped_at < paid_at:
        raise ValueError(f"发货时间 {shipped_at:%Y-%m-%d %H:%M} 早于付款时间 {paid_at:%Y-%m-%d %H:%M}，请检查输入")
    return (shipped_at - paid_at).total_seconds() / 3600 - limit_hours


def _lateness(
    paid_at: dt.datetime | None, shipped_at: dt.datetime | None, limit_hours: float
) -> tuple[bool | None, str]:
    if paid_at is None and shipped_at is None:
        return None, ""
    if paid_at is None or shipped_at is None:
        raise ValueError("付款时间与发货时间须同时给出")
    over = hours_late(paid_at, shipped_at, limit_hours)
    took = over + limit_hours
    if over <= 0:
        return False, f"付款后 {took:g} 小时发货，未超过 {limit_hours:g} 小时时效"
    return True, f"付款后 {took:g} 小时发货，超过 {limit_hours:g} 小时时效 {over:g} 小时"


def douyin_late_shipment(
    paid: Money,
    *,
    price: Money | None = None,
    pickup_late: bool = False,
    paid_at: dt.datetime | None = None,
    shipped_at: dt.datetime | None = None,
) -> Compensation:
    """Douyin late shipment: 1% of the amount actually paid, at least 3 and at most 30 yuan;
    nothing when the paid amount is under 3 yuan; one compensation even if pickup is late too.

    The basis is what the buyer actually paid (vouchers excluded), never the list price (exam Q14).
    """
    basis = money(paid, "实付金额")
    rate, low, high = Decimal("0.01"), Decimal(3), Decimal(30)
    late, timing = _lateness(paid_at, shipped_at, DOUYIN_SHIP_HOURS)
    notes = [timing] if timing else []
    if price is not None:
        list_price = money(price, "售价")
        notes.append(f"售价 {_yuan(list_price)} 元，按实际支付 {_yuan(basis)} 元计算（代金券/优惠不计入）")
    if late is False:
        amount = Decimal(0)
        notes.append("未延迟发货，不赔付")
    elif basis < low:
        amount = Decimal(0)
        notes.append(f"实际支付 {_yuan(basis)} 元，小于 3 元，不进行赔付")
    else:
        raw = basis * rate
        amount = _fen(_clamp(raw, low, high))
        how = f"{_yuan(basis)} × 1% = {_yuan(raw)} 元"
        if raw < low:
            how += "，低于最低 3 元，按 3 元赔付"
        elif raw > high:
            how += "，超过最高 30 元，按 30 元赔付"
        notes.append(how)
    if pickup_late:
        notes.append("揽收也超时：同一订单只赔付 1 次")
    return Compensation(
        rule_id="douyin.late_shipment",
        platform="douyin",
        title="抖音 延迟发货赔付",
        amount=amount,
        basis=basis,
        rate=rate,
        minimum=low,
        maximum=high,
        times=1 if amount > 0 else 0,
        late=late,
        explanation="；".join(notes),
        source=SOURCE_DOUYIN_LATE,
    )


def douyin_fake_tracking(paid: Money) -> Compensation:
    """Douyin fake tracking (虚假轨迹): 5% of the amount actually paid, at least 5, at most 100 yuan.

    The seed names no small-order exemption, so even a tiny order pays the 5-yuan minimum.
    """
    basis = money(paid, "实付金额")
    rate, low, high = Decimal("0.05"), Decimal(5), Decimal(100)
    raw = basis * rate
    amount = _fen(_clamp(raw, low, high))
    how = f"{_yuan(basis)} × 5% = {_yuan(raw)} 元"
    if raw < low:
        how += "，低于最低 5 元，按 5 元赔付"
    elif raw > high:
        how += "，超过最高 100 元，按 100 元赔付"
    return Compensation(
        rule_id="douyin.fake_tracking",
        platform="douyin",
        title="抖音 虚假轨迹赔付",
        amount=amount,
        basis=basis,
        rate=rate,
        minimum=low,
        maximum=high,
        explanation=how,
        source=SOURCE_DOUYIN_FAKE,
    )


def tmall_late_shipment(
    amount: Money, *, paid_at: dt.datetime | None = None, shipped_at: dt.datetime | None = None,
    agreed_hours: float = TMALL_SHIP_HOURS,
) -> Compensation:
    """Tmall late shipment (not shipped within 72 h of payment, or the agreed time for presale and
    custom goods): 30% of the actual transaction amount, at most 500 yuan, paid as Tmall points.
    """
    basis = money(amount, "实际成交金额")
    rate, high = Decimal("0.30"), Decimal(500)
    late, timing = _lateness(paid_at, shipped_at, agreed_hours)
    notes = [timing] if timing else []
    if late is False:
        value = Decimal(0)
        notes.append("未延迟发货，不支付违约金")
    else:
        raw = basis * rate
        value = _fen(min(raw, high))
        how = f"{_yuan(basis)} × 30% = {_yuan(raw)} 元"
        if raw > high:
            how += "，超过最高 500 元，按 500 元"
        notes.append(how + "，以天猫积分形式支付")
    return Compensation(
        rule_id="tmall.late_shipment",
        platform="tmall",
        title="天猫 延迟发货违约金",
        amount=value,
        form="tmall_points",
        basis=basis,
        rate=rate,
        maximum=high,
        times=1 if value > 0 else 0,
        late=late,
        explanation="；".join(notes),
        source=SOURCE_TMALL_LATE,
    )


def pdd_logistics_timeout(orders: int = 1) -> Compensation:
    """Pinduoduo logistics timeout (发货物流超时): 5 yuan per order."""
    _count(orders, "订单数")
    per = Decimal(5)
    return Compensation(
        rule_id="pdd.logistics_timeout",
        platform="pinduoduo",
        title="拼多多 物流超时扣款",
        amount=_fen(per * orders),
        basis=per,
        times=orders,
        explanation=f"{orders} 单 × 5 元 = {_yuan(per * orders)} 元",
        source=SOURCE_PDD_LOGISTICS,
    )


def pdd_reply_rate_fine(consulting_buyers: int, replied_within_3min: int) -> Compensation:
    """Pinduoduo: a day with more than 100 consulting buyers and an effective 3-minute reply rate
    under 50% costs 1000 yuan (paid to the platform). Exactly 100 buyers is not "more than 100".
    """
    for name, n in (("咨询人数", consulting_buyers), ("有效回复人数", replied_within_3min)):
        _count(n, name)
    if replied_within_3min > consulting_buyers:
        raise ValueError("有效回复人数不能大于咨询人数")
    fine = Decimal(0)
    if consulting_buyers == 0:
        how = "当天无人咨询，不计算"
    else:
        rate = Decimal(replied_within_3min) / Decimal(consulting_buyers)
        pct = _fen(rate * 100)
        how = f"有效回复率 {replied_within_3min}/{consulting_buyers} = {pct}%"
        if consulting_buyers <= 100:
            how += f"；咨询人数 {consulting_buyers} 未超过 100，不罚款"
        elif rate < Decimal("0.5"):
            fine = Decimal(1000)
            how += "；咨询人数超过 100 且低于 50%，罚款 1000 元"
        else:
            how += "；不低于 50%，不罚款"
    return Compensation(
        rule_id="pdd.reply_rate_fine",
        platform="pinduoduo",
        title="拼多多 3分钟有效回复率罚款",
        amount=_fen(fine),
        payee="platform",
        times=1 if fine else 0,
        explanation=how,
        source=SOURCE_PDD_REPLY_FINE,
    )
