"""Conversation-level audit: message rules on every agent/bot message plus the audit.* checks.

`audit_conversation` builds the conversation's context in one walk (`context.build_context`:
turns, reply gaps, manual replies, message findings, buyer abuse), then runs each conversation
check of `rules/data/audit_checks.yaml` that is on for the platform — one small registered unit
per id (`kefuguard.conversation.units`) — and turns their hits into findings carrying the YAML's
title, severity, penalty and seed citation, and the score.

What each check costs (fine, points, who imposes it) and where the seed says so is data in the
YAML; every threshold is in `AuditConfig`, which a shop may override per check (its `checks:`
section and `shops:` overrides, applied here through `AuditConfig.for_shop`). Pure: the YAML is
read once per process and nothing else touches the outside world. No pydantic validation in the
loop: results are built from values that are already valid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from kefuguard.checker import Checker
from kefuguard.conversation.check_data import (
    AUDIT_CHECK_IDS,
    AuditCheck,
    AuditCheckOverride,
    AuditChecksFile,
    ResolvedCheck,
    data_path,
    load_audit_checks,
)
from kefuguard.conversation.commerce import CommerceFacts
from kefuguard.conversation.config import AuditConfig, default_config
from kefuguard.conversation.context import ConversationContext, build_context, new_finding, new_result
from kefuguard.conversation.model import SHANGHAI, Conversation
from kefuguard.conversation.profiles import MetricProfile
from kefuguard.conversation.results import ConversationFinding, ConversationResult, ScopeSkip

if TYPE_CHECKING:
    from kefuguard.conversation.metrics import Turn as MetricTurn
from kefuguard.conversation.units import (
    AT_END,
    AT_MESSAGE,
    BUYER_ABUSE_TAG,
    BUYER_REPORTED_TAG,
    NOT_CHARGED_TO_AGENT,
    PDD_REPORT_NOTE,
    PDD_REPORTED_NOTE,
    REGISTRY,
    TOPIC_ZH,
    CheckUnit,
    Hit,
    abusive_buyer_script,
)

__all__ = [
    "AUDIT_CHECK_IDS", "BUYER_ABUSE_TAG", "BUYER_REPORTED_TAG", "NOT_CHARGED_TO_AGENT", "PDD_REPORTED_NOTE",
    "PDD_REPORT_NOTE", "REGISTRY", "TOPIC_ZH", "AuditCheck", "AuditCheckOverride", "AuditChecksFile",
    "CheckUnit", "ConversationContext", "Hit", "ResolvedCheck", "abusive_buyer_script", "audit_conversation",
    "build_context", "data_path", "load_audit_checks", "run_checks",
]


def _plan(ctx: ConversationContext) -> list[tuple[str, CheckUnit, ResolvedCheck, tuple[int, int]]]:
    """The units on for this config and platform, each with its check and its default report key."""
    plan = ctx.words.plans.get(ctx.platform)
    if plan is None:
        plan = [
            (cid, unit, resolved, (AT_END, unit.rank))
            for cid, unit in REGISTRY.items()
            if (resolved := ctx.checks.get(cid)) is not None
        ]
        ctx.words.plans[ctx.platform] = plan
    return plan


def run_checks(ctx: ConversationContext) -> list[ConversationFinding]:
    """The message findings and every enabled check's findings, in report order."""
    config = ctx.config
    at_message: list[tuple[tuple[int, ...], ConversationFinding]] = []
    later: list[tuple[tuple[int, ...], ConversationFinding]] = []
    for cid, unit, resolved, default in _plan(ctx):
        for hit in unit.fn(ctx, config):
            key = hit.order or default
            if hit.skip is not None:  # the metrics exclude this turn: recorded, not a finding
                ctx.skipped.append((cid, key[1], hit.index, hit.skip))
                continue
            (at_message if key[0] == AT_MESSAGE else later).append((
                key,
                new_finding(
                    check_id=cid,
                    kind="conversation",
                    category=resolved.category,
                    severity=resolved.severity,
                    title=resolved.title,
                    detail=hit.detail,
                    message_index=hit.index,
                    suggestion=resolved.suggestion if hit.suggestion is None else hit.suggestion,
                    penalty=resolved.penalty,
                ),
            ))
    if at_message:
        # hits decided at a message go right after that message's own findings
        at_message.extend(((AT_MESSAGE, f.message_index, 0), f) for f in ctx.message_findings)
        at_message.sort(key=_first)
        findings = [f for _, f in at_message]
    elif later:
        findings = list(ctx.message_findings)
    else:
        return ctx.message_findings
    if len(later) > 1:
        later.sort(key=_first)
    findings.extend(f for _, f in later)
    return findings


def _first(item: tuple) -> tuple[int, ...]:
    return item[0]


def audit_conversation(
    conv: Conversation,
    checker: Checker,
    config: AuditConfig | None = None,
    profile: MetricProfile | None = None,
    reply_turns: Iterable[MetricTurn] | None = None,
    commerce: CommerceFacts | None = None,
) -> ConversationResult:
    """Audit one conversation: message findings, conversation checks, timings and the QA score.

    `profile` is the platform's metric profile: the turn checks cut and time turns as its metrics
    do, and turns its metrics exclude are listed in `ConversationResult.skipped`, not flagged (None:
    the built-in profile). `reply_turns`: the turns the metrics already cut (saves a second pass).
    `commerce`: the buyer's orders and refunds from the shop's exports; the order-based checks then
    judge their times instead of the chat's order-time column and the buyer's refund words."""
    config = (config or default_config()).for_shop(conv.shop)
    if checker.platform != conv.platform:
        raise ValueError(f"checker is for {checker.platform}, conversation {conv.conversation_id} is {conv.platform}")
    ctx = build_context(conv, checker, config, profile, reply_turns, commerce)
    findings = run_checks(ctx)
    deduction = 0.0
    per_check = config.check_deductions
    per_severity = ctx.words.deduction
    for f in findings:
        points = per_check.get(f.check_id)
        deduction += per_severity[f.severity] if points is None else points
    tags: list[str] = []
    if ctx.abuse_hits:
        tags.append(BUYER_ABUSE_TAG)
    if ctx.buyer_reported:
        tags.append(BUYER_REPORTED_TAG)
    msgs = ctx.messages
    return new_result(
        conversation_id=conv.conversation_id,
        platform=conv.platform,
        shop=conv.shop,
        agent_id=ctx.agent_id,
        day=dt.datetime.fromtimestamp(ctx.times[0], SHANGHAI).date() if msgs else None,
        started_at=msgs[0].sent_at if msgs else None,
        message_count=len(msgs),
        buyer_messages=len(ctx.buyer),
        agent_messages=ctx.agent_messages,
        first_response_seconds=ctx.first_response_seconds,
        response_seconds=ctx.response_seconds,
        findings=findings,
        score=max(config.score_floor, 100.0 - deduction),
        buyer_abuse=bool(ctx.abuse_hits),
        tags=tags,
        skipped=[
            ScopeSkip(check_id=cid, turn=turn, message_index=index, reason=reason)
            for cid, turn, index, reason in ctx.skipped
        ],
        messages=None,
    )
