"""Attribution profiles: which agent an order is credited to, and which consultations are 询单.

Like the reply-metric profiles (`kefuguard.conversation.profiles`), every rule is data in a frozen
pydantic model, named and documented, and a shop can override any field (`get_profile(name, **changes)`
or `AttributionProfile.model_validate(dict)`).

Rules shared by every profile:

* A **consultation** (询单) is one buyer in one shop on one calendar day (Asia/Shanghai) who sent
  at least one message and got at least one manual reply (role agent, not an auto-reply, with an
  agent id). Every agent who replied manually that day counts that buyer in their 询单人数.
* An **after-sales consultation** is left out of 询单 (seed 002, Pinduoduo: "这个询单是去掉售后等问题的人"):
  the buyer's messages that day contain one of `after_sales_keywords` and — when
  `after_sales_needs_prior_order` — the buyer already had a paid order in that shop before their
  first message of the day. Its replies also never earn an order.
* An order is credited to the **last manual agent** who replied to that buyer in that shop, in a
  pre-sales consultation, within the profile's window before the order was created. An order
  with no such reply is a **silent order** (静默下单): in the shop/platform totals, on no agent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kefuguard.conversation.model import SHANGHAI

SEED_PDD = ("../shared/seeds/002_7f3b85e8ddef0d3e.txt §10: 客户询单转化率也是越高越好（这个询单是去掉售后等问题的人），"
            "……最好每天都是在50%以上。")

AFTER_SALES_KEYWORDS = ("退款", "退货", "退钱", "换货", "换一个", "售后", "质量", "破损", "坏了", "维修", "补发",
                        "少发", "漏发", "错发", "投诉", "没收到", "退")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KpiThreshold(_Strict):
    """A target for one KPI on one platform, judged on daily rows (passed true/false)."""

    metric: str
    platform: str
    comparison: Literal[">", ">=", "<", "<="]
    threshold: float = Field(description="rates as 0–1 fractions")
    levels: tuple[str, ...] = ("shop", "agent")
    source: str = ""

    def judge(self, value: float) -> bool:
        return {">": value > self.threshold, ">=": value >= self.threshold,
                "<": value < self.threshold, "<=": value <= self.threshold}[self.comparison]


PDD_CONVERSION = KpiThreshold(metric="conversion_rate", platform="pinduoduo", comparison=">=", threshold=0.5,
                              source=SEED_PDD)


class AttributionProfile(_Strict):
    """One named attribution rule set (see the module docstring for the shared rules)."""

    name: str
    title: str
    description: str = ""
    window_hours: float = Field(default=24.0, gt=0, description="look-back before the order (ignored when same_day)")
    same_day: bool = Field(default=False, description="only replies on the order's calendar day, before the order")
    after_sales_keywords: tuple[str, ...] = AFTER_SALES_KEYWORDS
    after_sales_needs_prior_order: bool = Field(
        default=True, description="an after-sales consultation also needs a paid order before the day's first message")
    refund_done_words: tuple[str, ...] = Field(
        default=("退款成功", "已退款", "退款完成", "完结", "已完成", "success", "refunded"),
        description="status words of a refund that ended with money back (for 退款完结时长)")
    thresholds: tuple[KpiThreshold, ...] = (PDD_CONVERSION,)

    def window_start(self, order_time: dt.datetime) -> dt.datetime:
        """Earliest reply time that can earn an order created at `order_time`."""
        if self.same_day:
            local = order_time.astimezone(SHANGHAI)
            return dt.datetime(local.year, local.month, local.day, tzinfo=SHANGHAI)
        return order_time - dt.timedelta(hours=self.window_hours)


PROFILES: dict[str, AttributionProfile] = {
    "last_manual_24h": AttributionProfile(
        name="last_manual_24h",
        title="最后人工客服（24 小时）",
        description="订单归属下单前 24 小时内最后一位人工回复该买家的客服（常见客服绩效工具的默认口径）；"
                    "credited to the last manual agent who replied to the buyer in that shop within 24 h before the order.",
    ),
    "same_day": AttributionProfile(
        name="same_day",
        title="当天最后人工客服",
        description="只看下单当天（0 点起）下单前的人工回复，用于日报；"
                    "only manual replies on the order's calendar day before the order (daily figures).",
        same_day=True,
    ),
}

DEFAULT_PROFILE = "last_manual_24h"


def get_profile(name: str = DEFAULT_PROFILE, **changes: Any) -> AttributionProfile:
    """A built-in profile by name, with any fields overridden (validated)."""
    try:
        base = PROFILES[name]
    except KeyError:
        raise ValueError(f"未知归属口径 unknown attribution profile {name!r}; expected one of {', '.join(PROFILES)}") \
            from None
    if not changes:
        return base
    return AttributionProfile.model_validate({**base.model_dump(), **changes})
