"""The semantic side of the API (issue 12): the tone check behind POST /v1/check's `"semantic": true`.

Nothing here is imported by a default check: the route imports this module only for a request that
asks for the tone, so the hot path stays exactly as it was (no import, no model). The tone model
(`kefuguard.semantic.tone`, an optional extra) costs about a second to load once per process, then
2-3 ms a message: the semantic check always runs in a worker thread, never on the event loop.

Without the extra (`kefuguard.semantic.embeddings.available()` is false) a semantic request is a 503
in the API's error shape naming the install command.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kefuguard.findings import CheckResult
from kefuguard.server.checking import message_result
from kefuguard.server.errors import ApiError

INSTALL = "pip install 'kefuguard[semantic]'"


def unavailable(what_zh: str = "语气检查", what_en: str = "the tone check", field: str | None = "semantic") -> ApiError:
    return ApiError(
        503, "semantic_unavailable",
        f"{what_zh}需要可选的语义依赖，服务器未安装：{INSTALL}",
        f"{what_en} needs the optional semantic extra, which this server does not have: {INSTALL}",
        field=field,
    )


def semantic_available() -> bool:
    """Is the semantic extra installed? (Looked up each time, so tests can switch it off.)"""
    from kefuguard.semantic import embeddings

    return embeddings.available()


def require_semantic(what_zh: str = "语气检查", what_en: str = "the tone check", field: str | None = "semantic") -> None:
    if not semantic_available():
        raise unavailable(what_zh, what_en, field)


def _tone_json(tone: Any) -> dict[str, Any]:
    return {"rude": tone.rude, "probability": round(tone.probability, 4), "category": tone.category,
            "category_zh": tone.category_zh, "threshold": tone.threshold}


def run_checks_tone(checker: Any, items: Sequence[tuple[str, str | None]], *, want_rewrite: bool,
                    mask_char: str) -> tuple[list[dict[str, Any]], list[tuple[int, CheckResult]]]:
    """`run_checks` plus the tone of every message (one encoder batch): each message gets `tone`
    (rude, probability, category), and a message no rule flags but whose tone is rude gets the
    tone finding (`semantic.tone.<category>`, as `kefuguard.semantic.tone.with_tone` adds it).

    A tone finding has no automatic rewrite: the message's rewrite is itself, `complete` false and
    the finding's rule id in `unfixed` (its suggestion holds the standard phrasing). Blocking: call
    it in a worker thread. Raises ApiError 503 when the extra turns out to be missing or broken."""
    from kefuguard.semantic.embeddings import SemanticUnavailable

    try:
        from kefuguard.semantic.tone import check_tones, finding_for

        tones = check_tones([text for text, _ in items])
    except (SemanticUnavailable, ImportError):
        raise unavailable() from None
    out: list[dict[str, Any]] = []
    critical: list[tuple[int, CheckResult]] = []
    for i, ((text, ident), tone) in enumerate(zip(items, tones, strict=True)):
        data, result = message_result(checker, text, want_rewrite=want_rewrite, mask_char=mask_char, ident=ident)
        if tone.rude and not result.findings:
            finding = finding_for(tone, checker.platform)
            result = result.model_copy(update={"findings": [finding]})
            data["findings"] = [finding.model_dump(mode="json")]
            data["ok"] = False
            data["worst"] = finding.severity.value
            if want_rewrite:
                data["rewrite"] = {"text": text, "changed": False, "complete": False, "unfixed": [finding.rule_id]}
        data["tone"] = _tone_json(tone)
        out.append(data)
        if data["worst"] == "critical":
            critical.append((i, result))
    return out, critical
