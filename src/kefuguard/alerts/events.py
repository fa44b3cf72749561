"""Turning checker and metric results into alert events.

`events_from_check`: one event per checked message that has at least one finding of severity
`critical` (the worst of `kefuguard.rules.model.Severity`: critical > major > minor > info; a
mention made while refusing is already reported one step lower by the checker). All the
message's critical findings go into that one event, so a message that breaks three rules makes
one group message, not three. The excerpt and every matched text are masked (kefuguard.masking).

`events_from_metrics`: one event per `MetricResult` that failed its platform threshold
(`passed is False`: a rate below its minimum, or a no-reply rate / response time above its
maximum). Metrics without a threshold never alert.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

from kefuguard.alerts.model import AlertEvent, AlertKind, AlertRule, MetricInfo
from kefuguard.conversation.results import MetricResult
from kefuguard.findings import CheckResult
from kefuguard.masking import mask_text
from kefuguard.rules.model import Severity

EXCERPT_CONTEXT = 60  # characters either side of the first critical finding in a long message


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _excerpt(masked: str, start: int, end: int) -> str:
    if len(masked) <= 2 * EXCERPT_CONTEXT + (end - start):
        return masked
    lo, hi = max(0, start - EXCERPT_CONTEXT), min(len(masked), end + EXCERPT_CONTEXT)
    return ("…" if lo else "") + masked[lo:hi] + ("…" if hi < len(masked) else "")


def events_from_check(
    result: CheckResult,
    *,
    tenant: str,
    shop: str,
    platform: str | None = None,
    agent: str | None = None,
    text: str | None = None,
    conversation_id: str | None = None,
    message_id: str | None = None,
    occurred_at: dt.datetime | None = None,
    min_severity: Severity = Severity.critical,
    details: dict[str, Any] | None = None,
) -> list[AlertEvent]:
    """[] or [the message's alert]. `text` defaults to `result.text` (the offsets' reference).

    Dedupe key: tenant, shop, agent, the rule ids and a digest of the text — the same message
    checked before sending and ingested after, or a template pasted again, alerts once per window.
    """
    text = result.text if text is None else text
    hits = sorted(
        (f for f in result.findings if Severity(f.severity).rank >= min_severity.rank),
        key=lambda f: (f.start, f.end),
    )
    if not hits:
        return []
    masked = mask_text(text) if text else ""
    rules: list[AlertRule] = []
    seen: set[str] = set()
    for f in hits:
        if f.rule_id in seen:
            continue
        seen.add(f.rule_id)
        matched = masked[f.start : f.end] if 0 <= f.start < f.end <= len(masked) else mask_text(f.matched)
        rules.append(
            AlertRule(
                rule_id=f.rule_id, title=f.title, severity=str(f.severity), category=str(f.category),
                matched=matched, refusal=f.refusal,
            )
        )
    first = hits[0]
    worst = max((Severity(f.severity) for f in hits), key=lambda s: s.rank)
    rule_ids = ",".join(sorted(seen))
    key = f"{AlertKind.critical_finding}|{tenant}|{shop}|{agent or ''}|{rule_ids}|{_digest(text)}"
    fields: dict[str, Any] = {}
    if occurred_at is not None:
        fields["occurred_at"] = occurred_at
    return [
        AlertEvent(
            kind=AlertKind.critical_finding,
            tenant=tenant,
            shop=shop,
            platform=platform or result.platform,
            agent=agent or None,
            subject=rules[0].rule_id,
            title=rules[0].title,
            severity=str(worst),
            excerpt=_excerpt(masked, first.start, first.end) if masked else None,
            rules=rules,
            conversation_id=conversation_id,
            message_id=message_id,
            details=dict(details or {}),
            dedupe_key=key,
            **fields,
        )
    ]


def metric_event(
    *,
    tenant: str,
    shop: str,
    platform: str,
    metric: str,
    title: str,
    value: float | None,
    threshold: float | None,
    comparison: str,
    unit: str = "%",
    agent: str | None = None,
    day: dt.date | None = None,
    numerator: float | None = None,
    denominator: float | None = None,
    occurred_at: dt.datetime | None = None,
    severity: str = "major",
    details: dict[str, Any] | None = None,
) -> AlertEvent:
    """An event for one metric below its threshold (no check that it is: see events_from_metrics).

    Dedupe key: tenant, shop, agent, metric and day — one alert per window while it stays low.
    """
    key = f"{AlertKind.metric_below_threshold}|{tenant}|{shop}|{agent or ''}|{metric}|{day.isoformat() if day else ''}"
    fields: dict[str, Any] = {}
    if occurred_at is not None:
        fields["occurred_at"] = occurred_at
    return AlertEvent(
        kind=AlertKind.metric_below_threshold,
        tenant=tenant,
        shop=shop,
        platform=platform,
        agent=agent or None,
        subject=metric,
        title=title,
        severity=severity,
        metric=MetricInfo(
            value=value, threshold=threshold, comparison=comparison, unit=unit,  # type: ignore[arg-type]
            numerator=numerator, denominator=denominator, day=day,
        ),
        details=dict(details or {}),
        dedupe_key=key,
        **fields,
    )


def events_from_metrics(
    results: Iterable[MetricResult],
    *,
    tenant: str,
    shop: str | None = None,
    agent: str | None = None,
    min_units: float = 1,
    occurred_at: dt.datetime | None = None,
    severity: str = "major",
) -> list[AlertEvent]:
    """Events for the results that failed their threshold (`passed is False`).

    shop/agent: override the result's own (None keeps `result.shop` / `result.agent_id`).
    min_units: skip results computed over fewer units (a 0% rate over one turn is noise).
    """
    out: list[AlertEvent] = []
    for r in results:
        if r.passed is not False or r.threshold is None or r.comparison == "none":
            continue
        if r.denominator is not None and r.denominator < min_units:
            continue
        out.append(
            metric_event(
                tenant=tenant,
                shop=shop if shop is not None else r.shop,
                platform=r.platform,
                metric=r.metric,
                title=r.title,
                value=r.value,
                threshold=r.threshold,
                comparison=r.comparison,
                unit=r.unit,
                agent=agent if agent is not None else r.agent_id,
                day=r.day,
                numerator=r.numerator,
                denominator=r.denominator,
                occurred_at=occurred_at,
                severity=severity,
            )
        )
    return out
