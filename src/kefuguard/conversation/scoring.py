"""Per-agent QA totals and per-shop penalty exposure, as mergeable accumulators.

The audit pipeline scores conversations in worker processes; each worker folds its results into
accumulators, ships them back (they are plain picklable objects) and the parent merges them.
Merging partials gives exactly what one accumulator fed every result would give (a test holds
the two equal), so the split across workers never changes a report.

Exposure is an estimate: it adds up what the rule texts say each occurrence costs. Platforms
decide case by case (many penalties need an upheld complaint), and deposits (保证金) are an amount
at risk, not a sum of fines, so the largest one is reported, not their total.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kefuguard.conversation.checks import NOT_CHARGED_TO_AGENT
from kefuguard.conversation.results import AgentSummary, ConversationResult, Exposure, ExposureCharge

ESTIMATE_NOTE = "估算：按规则原文逐次累计，许多处罚需买家投诉成立或平台判定，不代表平台的最终处罚。"


def _add_counts(into: dict[str, int], other: dict[str, int]) -> None:
    for k, v in other.items():
        into[k] = into.get(k, 0) + v


@dataclass
class AgentAccumulator:
    """Running totals of one agent in one shop on one platform."""

    shop: str
    platform: str
    agent_id: str
    conversations: int = 0
    messages: int = 0
    findings: int = 0
    findings_by_severity: dict[str, int] = field(default_factory=dict)
    findings_by_category: dict[str, int] = field(default_factory=dict)
    score_sum: float = 0.0
    score_min: float | None = None
    first_response_sum: float = 0.0
    first_response_count: int = 0

    @classmethod
    def for_result(cls, result: ConversationResult) -> AgentAccumulator:
        return cls(result.shop, result.platform, result.agent_id)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.shop, self.platform, self.agent_id)

    def add(self, result: ConversationResult) -> None:
        """Fold in one conversation. Buyer abuse is not charged to the agent."""
        if (result.shop, result.platform, result.agent_id) != self.key:
            raise ValueError(f"result of {result.shop}/{result.platform}/{result.agent_id} added to {self.key}")
        self.conversations += 1
        self.messages += result.message_count
        sev = self.findings_by_severity
        cat = self.findings_by_category
        for f in result.findings:
            if f.check_id in NOT_CHARGED_TO_AGENT:
                continue
            self.findings += 1
            s = str(f.severity)
            sev[s] = sev.get(s, 0) + 1
            cat[f.category] = cat.get(f.category, 0) + 1
        self.score_sum += result.score
        if self.score_min is None or result.score < self.score_min:
            self.score_min = result.score
        if result.first_response_seconds is not None:
            self.first_response_sum += result.first_response_seconds
            self.first_response_count += 1

    def merge(self, other: AgentAccumulator) -> AgentAccumulator:
        """Add another partial of the same agent into this one (returns self)."""
        if other.key != self.key:
            raise ValueError(f"cannot merge {other.key} into {self.key}")
        self.conversations += other.conversations
        self.messages += other.messages
        self.findings += other.findings
        _add_counts(self.findings_by_severity, other.findings_by_severity)
        _add_counts(self.findings_by_category, other.findings_by_category)
        self.score_sum += other.score_sum
        if other.score_min is not None and (self.score_min is None or other.score_min < self.score_min):
            self.score_min = other.score_min
        self.first_response_sum += other.first_response_sum
        self.first_response_count += other.first_response_count
        return self

    def summary(self) -> AgentSummary:
        n = self.conversations
        return AgentSummary(
            shop=self.shop,
            platform=self.platform,
            agent_id=self.agent_id,
            conversations=n,
            messages=self.messages,
            findings=self.findings,
            findings_by_severity=dict(self.findings_by_severity),
            findings_by_category=dict(self.findings_by_category),
            mean_score=round(self.score_sum / n, 2) if n else 100.0,
            min_score=self.score_min if self.score_min is not None else 100.0,
            mean_first_response_seconds=(
                round(self.first_response_sum / self.first_response_count, 1) if self.first_response_count else None
            ),
            unassigned=is_unassigned(self.agent_id),
        )


@dataclass
class ExposureAccumulator:
    """Penalty exposure of one shop on one platform, from findings and missed metrics.

    Every charge is also kept per (rule, basis) in `charges`, so the report names which rule
    charged each amount and on what basis (platform fine, advertising law, buyer compensation,
    shop policy, deposit at risk, points). One event is one finding or one metric miss: the turn
    checks and the reply metrics never both charge the same late or unanswered turn (the audit
    drops a metric's per-miss charge where the platform's turn checks charge per event).
    """

    shop: str
    platform: str
    fine_yuan: float = 0.0
    shop_policy_yuan: float = 0.0
    buyer_compensation_yuan: float = 0.0
    deposit_at_risk_yuan: float = 0.0
    deposit_rule: str | None = None
    points: float = 0.0
    listing_ban_days: int = 0
    by_rule: dict[str, float] = field(default_factory=dict)
    occurrences: int = 0
    refusal_occurrences: int = 0
    metric_fines: dict[str, float] = field(default_factory=dict)
    metric_internal: dict[str, float] = field(default_factory=dict)
    #: (rule, basis) → [title, events, yuan, points, penalty text]
    charges: dict[tuple[str, str], list] = field(default_factory=dict)
    #: metric id → per-miss yuan not charged because the turn checks charge those events
    superseded: dict[str, float] = field(default_factory=dict)

    @classmethod
    def for_result(cls, result: ConversationResult) -> ExposureAccumulator:
        return cls(result.shop, result.platform)

    @property
    def key(self) -> tuple[str, str]:
        return (self.shop, self.platform)

    def _charge(self, rule: str, basis: str, title: str, text: str, yuan: float = 0.0, points: float = 0.0,
                events: int = 1) -> None:
        line = self.charges.get((rule, basis))
        if line is None:
            self.charges[(rule, basis)] = [title, events, yuan, points, text]
            return
        line[1] += events
        if basis == "deposit_at_risk":
            line[2] = max(line[2], yuan)
        else:
            line[2] += yuan
        line[3] += points

    def add(self, result: ConversationResult) -> None:
        """Each message finding and conversation-check finding costs what its penalty says, per occurrence.

        Mentions made while refusing (不能加微信) are counted too — the seeds say the platform
        filters catch them all the same — and reported in a note.
        """
        if (result.shop, result.platform) != self.key:
            raise ValueError(f"result of {result.shop}/{result.platform} added to {self.key}")
        for f in result.findings:
            p = f.penalty
            if p is None:
                continue
            rule, title, text = f.check_id, f.title, p.text
            yuan = 0.0
            if p.fine_yuan:
                if p.basis == "shop_policy":
                    self.shop_policy_yuan += p.fine_yuan
                    self._charge(rule, "shop_policy", title, text, p.fine_yuan)
                else:
                    self.fine_yuan += p.fine_yuan
                    self._charge(rule, "law_fine" if p.basis == "law" else "platform_fine", title, text, p.fine_yuan)
                yuan += p.fine_yuan
            if p.buyer_compensation_yuan:
                self.buyer_compensation_yuan += p.buyer_compensation_yuan
                self._charge(rule, "buyer_compensation", title, text, p.buyer_compensation_yuan)
                yuan += p.buyer_compensation_yuan
            if p.points:
                self.points += p.points
                self._charge(rule, "points", title, text, points=p.points)
            if p.deposit_yuan:
                self._charge(rule, "deposit_at_risk", title, text, p.deposit_yuan)
                if p.deposit_yuan > self.deposit_at_risk_yuan:
                    self.deposit_at_risk_yuan = p.deposit_yuan
                    self.deposit_rule = rule
            if p.listing_ban_days:
                self.listing_ban_days = max(self.listing_ban_days, max(p.listing_ban_days))
            if not (yuan or p.points or p.deposit_yuan or p.listing_ban_days):
                continue
            self.occurrences += 1
            if f.refusal:
                self.refusal_occurrences += 1
            if yuan:
                self.by_rule[rule] = self.by_rule.get(rule, 0.0) + yuan

    def add_metric_fine(
        self, metric_id: str, yuan: float, *, internal: bool = False, title: str = "", text: str = "", events: int = 1
    ) -> None:
        """A missed metric with a fine: a platform's (Pinduoduo's 1000元 for a day's reply rate) or,
        with `internal`, a shop's own per-miss charge (`events` misses)."""
        if yuan < 0:
            raise ValueError("a fine cannot be negative")
        if not yuan:
            return
        if internal:
            self.shop_policy_yuan += yuan
            self.metric_internal[metric_id] = self.metric_internal.get(metric_id, 0.0) + yuan
        else:
            self.fine_yuan += yuan
            self.metric_fines[metric_id] = self.metric_fines.get(metric_id, 0.0) + yuan
        self._charge(metric_id, "shop_policy" if internal else "platform_fine", title, text, yuan, events=events)
        self.by_rule[metric_id] = self.by_rule.get(metric_id, 0.0) + yuan

    def supersede_metric_fine(self, metric_id: str, yuan: float) -> None:
        """A metric's per-miss amount left out: the turn checks already charged each of those events."""
        if yuan:
            self.superseded[metric_id] = self.superseded.get(metric_id, 0.0) + yuan

    def merge(self, other: ExposureAccumulator) -> ExposureAccumulator:
        if other.key != self.key:
            raise ValueError(f"cannot merge {other.key} into {self.key}")
        self.fine_yuan += other.fine_yuan
        self.shop_policy_yuan += other.shop_policy_yuan
        self.buyer_compensation_yuan += other.buyer_compensation_yuan
        if other.deposit_at_risk_yuan > self.deposit_at_risk_yuan or (
            other.deposit_at_risk_yuan == self.deposit_at_risk_yuan
            and other.deposit_rule is not None
            and (self.deposit_rule is None or other.deposit_rule < self.deposit_rule)
        ):
            self.deposit_at_risk_yuan = other.deposit_at_risk_yuan
            self.deposit_rule = other.deposit_rule
        self.points += other.points
        self.listing_ban_days = max(self.listing_ban_days, other.listing_ban_days)
        for mine, theirs in (
            (self.by_rule, other.by_rule), (self.metric_fines, other.metric_fines),
            (self.metric_internal, other.metric_internal), (self.superseded, other.superseded),
        ):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0.0) + v
        for (rule, basis), (title, events, yuan, points, text) in other.charges.items():
            self._charge(rule, basis, title, text, yuan, points, events)
        self.occurrences += other.occurrences
        self.refusal_occurrences += other.refusal_occurrences
        return self

    def notes(self) -> list[str]:
        notes = [ESTIMATE_NOTE]
        if self.shop_policy_yuan:
            notes.append(
                f"店铺内部规定（如天猫淘宝接待规则）的扣款{self.shop_policy_yuan:g}元单独列出，不是平台罚款，未计入罚款合计。"
            )
        if self.deposit_at_risk_yuan:
            notes.append(
                f"保证金风险取单项最高额{self.deposit_at_risk_yuan:g}元（{self.deposit_rule}），不按次累加。"
            )
        if self.listing_ban_days:
            notes.append(f"存在可能导致全店商品下架的行为，最长{self.listing_ban_days}天。")
        if self.refusal_occurrences:
            notes.append(
                f"其中{self.refusal_occurrences}次为拒绝语境中的提及（如“不能加微信”），平台过滤器同样会识别，已计入。"
            )
        if self.metric_fines:
            parts = "、".join(f"{k} {v:g}元" for k, v in sorted(self.metric_fines.items()))
            notes.append(f"平台指标未达标罚款：{parts}。")
        if self.metric_internal:
            parts = "、".join(f"{k} {v:g}元" for k, v in sorted(self.metric_internal.items()))
            notes.append(f"店铺内部规定按次扣款（指标未达标次数）：{parts}。")
        if self.superseded:
            parts = "、".join(f"{k} {v:g}元" for k, v in sorted(self.superseded.items()))
            notes.append(
                f"指标的按次扣款（{parts}）与会话质检项 audit.reply_time / audit.missed_reply 是同一批超时或未回复事件，"
                "已按事件计一次，未重复计入。"
            )
        return notes

    def charge_list(self) -> list[ExposureCharge]:
        lines = [
            ExposureCharge(rule=rule, basis=basis, title=title, events=events, yuan=round(yuan, 2),
                           points=points, penalty=text)
            for (rule, basis), (title, events, yuan, points, text) in self.charges.items()
        ]
        lines.sort(key=lambda c: (-c.yuan, -c.points, c.rule, c.basis))
        return lines

    def exposure(self) -> Exposure:
        return Exposure(
            shop=self.shop,
            platform=self.platform,
            fine_yuan=round(self.fine_yuan, 2),
            buyer_compensation_yuan=round(self.buyer_compensation_yuan, 2),
            deposit_at_risk_yuan=self.deposit_at_risk_yuan,
            points=self.points,
            shop_policy_yuan=round(self.shop_policy_yuan, 2),
            by_rule={k: round(v, 2) for k, v in sorted(self.by_rule.items(), key=lambda kv: (-kv[1], kv[0]))},
            charges=self.charge_list(),
            notes=self.notes(),
        )


@dataclass
class AuditTotals:
    """All agent and exposure accumulators of an audit (or of one worker's share of it)."""

    agents: dict[tuple[str, str, str], AgentAccumulator] = field(default_factory=dict)
    exposures: dict[tuple[str, str], ExposureAccumulator] = field(default_factory=dict)

    def add(self, result: ConversationResult) -> None:
        akey = (result.shop, result.platform, result.agent_id)
        acc = self.agents.get(akey)
        if acc is None:
            acc = self.agents[akey] = AgentAccumulator.for_result(result)
        acc.add(result)
        ekey = (result.shop, result.platform)
        exp = self.exposures.get(ekey)
        if exp is None:
            exp = self.exposures[ekey] = ExposureAccumulator.for_result(result)
        exp.add(result)

    def add_metric_fine(self, shop: str, platform: str, metric_id: str, yuan: float) -> None:
        exp = self.exposures.get((shop, platform))
        if exp is None:
            exp = self.exposures[(shop, platform)] = ExposureAccumulator(shop, platform)
        exp.add_metric_fine(metric_id, yuan)

    def merge(self, other: AuditTotals) -> AuditTotals:
        for key, acc in other.agents.items():
            mine = self.agents.get(key)
            if mine is None:
                self.agents[key] = AgentAccumulator(*key).merge(acc)
            else:
                mine.merge(acc)
        for key, exp in other.exposures.items():
            mine_e = self.exposures.get(key)
            if mine_e is None:
                self.exposures[key] = ExposureAccumulator(*key).merge(exp)
            else:
                mine_e.merge(exp)
        return self

    def agent_summaries(self) -> list[AgentSummary]:
        """Every agent, ranked (rank 1 = best)."""
        return rank_agents(acc.summary() for acc in self.agents.values())

    def exposure_list(self) -> list[Exposure]:
        return [self.exposures[k].exposure() for k in sorted(self.exposures)]


def is_unassigned(agent_id: str) -> bool:
    """A blank or missing agent id: the conversations are unassigned (未分配), not an agent's."""
    return not agent_id.strip()


def rank_agents(summaries: Iterable[AgentSummary]) -> list[AgentSummary]:
    """Best first: mean score descending, then fewer findings, then more conversations; rank 1 = best.

    Equal (score, findings) share a rank (competition ranking: 1, 1, 3). Unassigned conversations
    (blank agent id) are not an agent: they follow the ranked agents with rank 0 and `unassigned`.
    """
    ranked: list[AgentSummary] = []
    unassigned: list[AgentSummary] = []
    for s in summaries:
        (unassigned if is_unassigned(s.agent_id) else ranked).append(s)
    ordered = sorted(
        ranked, key=lambda s: (-s.mean_score, s.findings, -s.conversations, s.shop, s.platform, s.agent_id)
    )
    out: list[AgentSummary] = []
    prev: tuple[float, int] | None = None
    rank = 0
    for n, s in enumerate(ordered, start=1):
        key = (s.mean_score, s.findings)
        if key != prev:
            rank = n
            prev = key
        out.append(s.model_copy(update={"rank": rank}))
    for s in sorted(unassigned, key=lambda s: (s.shop, s.platform)):
        out.append(s.model_copy(update={"rank": 0, "unassigned": True}))
    return out
