"""A realistic AuditReport built by hand for the report-writer tests.

Four shops on four platforms, six agents, four flagged conversations with messages and findings
(offsets computed from the text, so they are right by construction), metrics that pass and fail,
exposure, a response-time histogram and a rejects CSV. Texts carry a buyer's phone number and
address (to test masking), markup (to test escaping) and a leading '=' (to test XLSX formulas).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from kefuguard.conversation.model import SHANGHAI, Message, Role
from kefuguard.conversation.results import (
    AgentSummary,
    AuditReport,
    ConversationFinding,
    ConversationResult,
    Exposure,
    ImportSummary,
    MetricResult,
    ShopSummary,
)
from kefuguard.rules.model import Penalty, Severity

DAY = dt.date(2024, 5, 20)
BUYER_PHONE = "13812345678"
BUYER_PHONE_MASKED = "138****5678"
HISTOGRAM = {"0-30s": 412, "30s-1m": 138, "1-3m": 96, "3-5m": 41, "5-10m": 17, ">10m": 9, "未回复": 6}
FINDINGS_BY_CATEGORY = {
    "diversion": 7,
    "attitude": 5,
    "superlative": 4,
    "privacy": 2,
    "abuse": 1,
    "slow_reply": 6,
    "missed_reply": 3,
    "curt_reply": 4,
}
REJECT_ROWS = [
    ("chat_pdd.csv", "", "17", "缺少发送时间", "c9,pinduoduo,优选家居旗舰店,小美,buyer,,在吗"),
    (
        "chat_pdd.csv",
        "",
        "42",
        "未知角色 '顾客2'",
        "c12,pinduoduo,优选家居旗舰店,小美,顾客2,2024-05-20 10:00,好的",
    ),
    ("chat_dy.xlsx", "Sheet1", "8", "未知平台 'weibo'", '=HYPERLINK("x")'),
]


def _at(hms: str) -> dt.datetime:
    h, m, s = (int(x) for x in hms.split(":"))
    return dt.datetime(DAY.year, DAY.month, DAY.day, h, m, s, tzinfo=SHANGHAI)


class _Conv:
    """Builds one conversation's messages and findings with offsets taken from the text."""

    def __init__(self, cid: str, platform: str, shop: str, agent: str) -> None:
        self.cid, self.platform, self.shop, self.agent = cid, platform, shop, agent
        self.messages: list[Message] = []
        self.findings: list[ConversationFinding] = []

    def say(self, role: Role, hms: str, text: str, **kw) -> int:
        self.messages.append(
            Message(
                conversation_id=self.cid,
                platform=self.platform,
                shop=self.shop,
                agent_id=self.agent if role in (Role.agent, Role.bot) else "",
                buyer_id="buyer_" + self.cid,
                role=role,
                sent_at=_at(hms),
                text=text,
                source=f"chat.csv:{len(self.messages) + 2}",
                **kw,
            )
        )
        return len(self.messages) - 1

    def rule(
        self,
        index: int,
        matched: str,
        rule_id: str,
        category: str,
        severity: Severity,
        title: str,
        penalty: str,
        suggestion: str,
        **penalty_kw,
    ) -> None:
        text = self.messages[index].text
        start = text.index(matched)
        self.findings.append(
            ConversationFinding(
                check_id=rule_id,
                kind="message",
                category=category,
                severity=severity,
                title=title,
                message_index=index,
                start=start,
                end=start + len(matched),
                matched=matched,
                suggestion=suggestion,
                penalty=Penalty(text=penalty, **penalty_kw),
                pack=rule_id.split(".")[0] + "@1",
            )
        )

    def note(
        self,
        check_id: str,
        category: str,
        severity: Severity,
        title: str,
        detail: str,
        index: int | None = None,
        kind: str = "conversation",
    ) -> None:
        self.findings.append(
            ConversationFinding(
                check_id=check_id,
                kind=kind,
                category=category,
                severity=severity,
                title=title,
                detail=detail,
                message_index=index,
            )
        )

    def result(
        self,
        score: float,
        *,
        abuse: bool = False,
        tags: list[str] | None = None,
        response: list[float] | None = None,
    ) -> ConversationResult:
        response = response or []
        return ConversationResult(
            conversation_id=self.cid,
            platform=self.platform,
            shop=self.shop,
            agent_id=self.agent,
            day=DAY,
            started_at=self.messages[0].sent_at,
            message_count=len(self.messages),
            buyer_messages=sum(m.role is Role.buyer for m in self.messages),
            agent_messages=sum(m.role is Role.agent for m in self.messages),
            first_response_seconds=response[0] if response else None,
            response_seconds=response,
            findings=self.findings,
            score=score,
            buyer_abuse=abuse,
            tags=tags or [],
            messages=self.messages,
        )


def _pdd() -> ConversationResult:
    c = _Conv("PDD-20240520-0007", "pinduoduo", "优选家居旗舰店", "小美")
    c.say(
        Role.buyer,
        "09:12:03",
        f"你好，收货地址改一下：杭州市西湖区文三路478号华星时代广场A座1502室，电话{BUYER_PHONE}",
    )
    c.say(Role.bot, "09:12:04", "您好，欢迎光临优选家居旗舰店，客服小美马上为您服务~", auto_reply=True)
    i = c.say(Role.agent, "09:13:30", f"好的亲，收件人张女士，电话{BUYER_PHONE}，地址已经帮您改好啦")
    c.rule(
        i,
        BUYER_PHONE,
        "pdd.privacy.full_phone",
        "privacy",
        Severity.major,
        "核对地址时发送买家完整手机号",
        "平台警告；多次出现按导流处理",
        "核对地址时请隐藏中间四位：138****5678",
    )
    c.say(Role.buyer, "09:15:10", "<b>能便宜点吗</b>？别家更便宜")
    i = c.say(Role.agent, "09:16:02", "亲，便宜的话加我微信 xm_home888 私聊，给您返现")
    c.rule(
        i,
        "加我微信",
        "common.diversion.wechat",
        "diversion",
        Severity.critical,
        "引导添加微信",
        "平台判定导流/发布第三方信息，视情节警告、扣分、扣除保证金直至清退",
        "亲，有任何问题直接在平台聊天窗口里留言就可以哦，我会一直在线为您服务~",
        deposit_yuan=100000,
    )
    c.rule(
        i,
        "返现",
        "conduct.fraud.review_cashback",
        "fraud",
        Severity.critical,
        "好评返现、以利益换好评",
        "不当评价：删除相关评价并视情节处罚",
        "亲，我们以商品品质说话，不做返现活动哦~",
    )
    return c.result(35.0, tags=["导流"], response=[87.0, 52.0])


def _douyin() -> ConversationResult:
    c = _Conv("DY-88213", "douyin", "潮流服饰专营店", "客服02")
    c.say(Role.buyer, "21:40:11", "衣服洗一次就掉色，你们卖的什么垃圾，客服是死人吗")
    i = c.say(Role.agent, "21:46:23", "你自己不会看吗？详情页写了要手洗")
    c.rule(
        i,
        "你自己不会看吗",
        "conduct.attitude.interrogation",
        "attitude",
        Severity.major,
        "质问、反问买家（“你自己不会看吗”）",
        "服务态度投诉：抖音买家投诉态度不好成立每次赔付20元",
        "亲，给您添麻烦了，这款建议手洗，我这边马上为您处理售后哦~",
        buyer_compensation_yuan=20,
    )
    c.say(Role.buyer, "21:47:02", "我要退货！")
    c.say(Role.agent, "21:52:40", "哦")
    c.note(
        "audit.slow_reply",
        "slow_reply",
        Severity.major,
        "回复超过3分钟",
        "买家 21:40:11 的消息 6分12秒后才回复（抖音要求3分钟回复率＞80%）",
        index=1,
    )
    c.note(
        "audit.curt_reply", "curt_reply", Severity.minor, "敷衍短回复（少于5个字）", "“哦”只有1个字", index=3
    )
    return c.result(52.0, abuse=True, tags=["买家辱骂", "售后"], response=[372.0, 338.0])


def _tmall() -> ConversationResult:
    c = _Conv("TM-5521907", "tmall", "数码之家天猫店", "jd_kefu_7")
    c.say(Role.buyer, "14:02:00", "这个耳机音质怎么样？")
    i = c.say(Role.agent, "14:02:21", "这款是全网最低价，绝对正品，音质行业第一")
    c.rule(
        i,
        "全网最低",
        "conduct.superlative.whole_network",
        "superlative",
        Severity.major,
        "极限词：“全网”系列",
        "违反《广告法》第九条，处二十万元以上一百万元以下罚款",
        "亲，这款性价比很高，很多老顾客回购哦~",
    )
    c.rule(
        i,
        "最低价",
        "conduct.superlative.zui",
        "superlative",
        Severity.major,
        "极限词：“最”系列",
        "违反《广告法》第九条（使用最高级、最佳等用语）",
        "亲，这款价格很实惠哦~",
    )
    c.rule(
        i,
        "行业第一",
        "conduct.superlative.first",
        "superlative",
        Severity.major,
        "极限词：“第一”系列",
        "违反《广告法》第九条",
        "亲，这款音质口碑很好，评价里很多买家都夸哦~",
    )
    c.say(Role.buyer, "14:05:30", "那能开发票吗？")
    c.say(Role.buyer, "14:20:45", "=还在吗")
    c.note(
        "audit.missed_reply",
        "missed_reply",
        Severity.major,
        "漏回复",
        "买家 14:05:30 的提问没有得到回复",
        index=2,
    )
    c.note("audit.no_closing", "courtesy", Severity.minor, "缺少结束语", "会话结束时没有使用结束敬语")
    return c.result(60.0, tags=["售前"], response=[21.0])


def _jd() -> ConversationResult:
    c = _Conv("JD-0098812", "jd", "数码之家京东店", "jd_kefu_3")
    c.say(Role.buyer, "10:00:05", "在吗，这个充电器支持快充吗")
    c.say(Role.bot, "10:00:06", "您好，京东客服机器人为您服务，请问有什么可以帮您？", auto_reply=True)
    i = c.say(Role.agent, "10:01:40", "不知道")
    c.rule(
        i,
        "不知道",
        "jd.attitude.cold_reply",
        "attitude",
        Severity.minor,
        "冷淡应答（整句只有“哦/嗯/不知道”）",
        "京东接待注意事项：切忌冷淡",
        "亲，这款支持18W快充，您放心购买哦~",
    )
    c.note(
        "audit.first_response_30s",
        "metric",
        Severity.info,
        "首次响应超过30秒",
        "首次人工响应用时1分35秒（京东考核30秒应答率）",
        index=2,
        kind="metric",
    )
    return c.result(78.0, response=[95.0])


def _metric(
    shop: str,
    platform: str,
    metric: str,
    title: str,
    value: float | None,
    threshold: float | None,
    comparison: str,
    passed: bool | None,
    unit: str = "%",
    **kw,
) -> MetricResult:
    return MetricResult(
        metric=metric,
        title=title,
        platform=platform,
        shop=shop,
        day=DAY,
        value=value,
        threshold=threshold,
        comparison=comparison,
        passed=passed,
        unit=unit,
        **kw,
    )


def _shops() -> list[ShopSummary]:
    pdd = ShopSummary(
        shop="优选家居旗舰店",
        platform="pinduoduo",
        conversations=128,
        messages=1460,
        findings=14,
        mean_score=81.5,
        metrics=[
            _metric(
                "优选家居旗舰店",
                "pinduoduo",
                "pdd.effective_reply_rate_3m",
                "3分钟有效回复率",
                45.0,
                50.0,
                ">=",
                False,
                numerator=54,
                denominator=120,
                fine_yuan=1000,
                note="当日咨询人数超过100且低于50%罚款1000元",
            ),
            _metric(
                "优选家居旗舰店",
                "pinduoduo",
                "pdd.daily_reply_rate",
                "当日回复率",
                86.7,
                80.0,
                ">=",
                True,
                numerator=104,
                denominator=120,
            ),
        ],
        exposure=Exposure(
            shop="优选家居旗舰店",
            platform="pinduoduo",
            fine_yuan=1000,
            buyer_compensation_yuan=100,
            deposit_at_risk_yuan=100000,
            by_rule={"pdd.effective_reply_rate_3m": 1000, "conduct.abuse.insult": 100},
            notes=["导流多次出现可能需缴纳10万元保证金"],
        ),
    )
    dy = ShopSummary(
        shop="潮流服饰专营店",
        platform="douyin",
        conversations=96,
        messages=1012,
        findings=11,
        mean_score=84.2,
        metrics=[
            _metric(
                "潮流服饰专营店",
                "douyin",
                "douyin.reply_rate_3m",
                "3分钟回复率",
                0.852,
                0.8,
                ">",
                True,
                numerator=82,
                denominator=96,
            ),
            _metric(
                "潮流服饰专营店", "douyin", "douyin.no_reply_rate", "飞鸽不回复率", 0.125, 0.2, "<", True
            ),
        ],
        exposure=Exposure(
            shop="潮流服饰专营店",
            platform="douyin",
            buyer_compensation_yuan=60,
            by_rule={"conduct.attitude.interrogation": 60},
        ),
    )
    tm = ShopSummary(
        shop="数码之家天猫店",
        platform="tmall",
        conversations=74,
        messages=690,
        findings=9,
        mean_score=88.0,
        metrics=[
            _metric(
                "数码之家天猫店",
                "tmall",
                "tmall.avg_response",
                "旺旺人工平响时长",
                48.0,
                None,
                "none",
                None,
                unit="秒",
            ),
            _metric(
                "数码之家天猫店",
                "tmall",
                "tmall.reply_rate_3m",
                "旺旺3分钟人工响应率",
                76.5,
                80.0,
                ">=",
                False,
            ),
        ],
        exposure=Exposure(shop="数码之家天猫店", platform="tmall", points=6, by_rule={"tmall.privacy": 0}),
    )
    jd = ShopSummary(
        shop="数码之家京东店",
        platform="jd",
        conversations=40,
        messages=385,
        findings=3,
        mean_score=93.4,
        metrics=[
            _metric(
                "数码之家京东店",
                "jd",
                "jd.first_response_30s",
                "咚咚首次30秒应答率",
                61.0,
                None,
                "none",
                None,
            ),
        ],
        exposure=Exposure(shop="数码之家京东店", platform="jd"),
    )
    return [pdd, dy, tm, jd]


def _agents() -> list[AgentSummary]:
    rows = [
        ("数码之家京东店", "jd", "jd_kefu_3", 40, 2, 93.4, 78.0, 41.0),
        ("潮流服饰专营店", "douyin", "客服01", 52, 3, 91.0, 70.0, 25.5),
        ("数码之家天猫店", "tmall", "jd_kefu_7", 74, 9, 88.0, 60.0, 33.0),
        ("优选家居旗舰店", "pinduoduo", "阿强", 60, 4, 86.5, 65.0, 58.0),
        ("潮流服饰专营店", "douyin", "客服02", 44, 8, 76.3, 52.0, 212.0),
        ("优选家居旗舰店", "pinduoduo", "小美", 68, 10, 71.0, 35.0, 95.0),
    ]
    out = []
    for rank, (shop, platform, agent, convs, findings, mean, low, first) in enumerate(rows, start=1):
        crit = 2 if agent == "小美" else 0
        out.append(
            AgentSummary(
                shop=shop,
                platform=platform,
                agent_id=agent,
                conversations=convs,
                messages=convs * 9,
                findings=findings,
                findings_by_severity={"critical": crit, "major": findings - crit - 1, "minor": 1},
                findings_by_category={"attitude": findings},
                mean_score=mean,
                min_score=low,
                mean_first_response_seconds=first,
                rank=rank,
            )
        )
    return out


def _flat_rows(flagged: list[ConversationResult]) -> list[dict]:
    rows = []
    for conv in flagged:
        for f in conv.findings:
            msg = conv.messages[f.message_index] if f.message_index is not None else None
            rows.append(
                {
                    "shop": conv.shop,
                    "platform": conv.platform,
                    "agent": conv.agent_id,
                    "conversation": conv.conversation_id,
                    "time": (msg.sent_at if msg else conv.started_at).isoformat(),
                    "rule": f.check_id,
                    "title": f.title,
                    "category": f.category,
                    "severity": f.severity.value,
                    "matched": f.matched,
                    "text": msg.text if msg else f.detail,
                    "penalty": f.penalty.text if f.penalty else "",
                    "suggestion": f.suggestion,
                }
            )
    return rows


def build_report(rejects_path: Path | None = None) -> AuditReport:
    """The fixture report; with `rejects_path`, also writes the rejects CSV it points to."""
    if rejects_path is not None:
        from kefuguard.io.importers import Reject, RejectsWriter

        with RejectsWriter(rejects_path) as sink:
            for file, sheet, line, reason, raw in REJECT_ROWS:
                sink(Reject(file=file, sheet=sheet, line=int(line), reason=reason, raw=raw))
    flagged = [_pdd(), _douyin(), _tmall(), _jd()]
    severity: dict[str, int] = {}
    for conv in flagged:
        for f in conv.findings:
            severity[f.severity.value] = severity.get(f.severity.value, 0) + 1
    return AuditReport(
        generated_at=dt.datetime(2024, 5, 21, 8, 30, tzinfo=SHANGHAI),
        packs=["common@1.0.0", "conduct@1.0.0", "pinduoduo@1.0.0", "douyin@1.0.0"],
        imports=ImportSummary(
            files=[
                {"path": "chat_pdd.csv", "read": 1500, "accepted": 1460},
                {"path": "chat_dy.xlsx", "read": 2052},
            ],
            read=3552,
            accepted=3547,
            duplicates=2,
            rejected=3,
            rejects_path=str(rejects_path) if rejects_path else None,
        ),
        conversations=338,
        messages=3547,
        days=[DAY],
        shops=_shops(),
        agents=_agents(),
        findings_by_category=FINDINGS_BY_CATEGORY,
        findings_by_severity={"critical": 9, "major": 16, "minor": 9, "info": 2},
        response_time_histogram=HISTOGRAM,
        flagged=flagged,
        all_findings=_flat_rows(flagged),
    )
