"""Compliant rewrites: mask personal data, replace flagged phrases, say what could not be fixed.

A separate step after detection (as Presidio separates analysing from anonymising): the checker
finds spans, this module decides what to put there. The rewritten text is checked again, so a
rewrite is only called complete when the new text raises nothing.
"""

from __future__ import annotations

from kefuguard.checker import Checker, get_checker
from kefuguard.findings import Finding, RewriteResult

_SEPARATORS = set("-_.·—–()（）+＋")


def mask_digits(value: str, keep_head: int, keep_tail: int) -> str:
    """Mask the digits of `value` except the first `keep_head` and last `keep_tail` digits.

    Separators and their positions are kept, so 138 0013 8000 → 138 **** 8000 reads naturally;
    digits written as 一三八 or ①③⑧ count as digits (they are what is being hidden).
    """
    positions = [i for i, ch in enumerate(value) if not ch.isspace() and ch not in _SEPARATORS]
    hide = positions[keep_head : len(positions) - keep_tail if keep_tail else None]
    chars = list(value)
    for i in hide:
        chars[i] = "*"
    return "".join(chars)


def mask_pii(kind: str, value: str) -> str:
    """Mask one detected value the way Chinese platforms show it (138****0000)."""
    if kind == "phone":
        return mask_digits(value, 3, 4)
    if kind == "id_card":
        return mask_digits(value, 6, 4)
    if kind == "bank_card":
        return mask_digits(value, 0, 4)
    if kind == "email":
        name, _, domain = value.partition("@")
        return f"{name[:1]}***@{domain}"
    if kind in ("qq", "wechat_id"):
        return value[:2] + "*" * max(len(value) - 4, 2) + value[-2:] if len(value) > 4 else "*" * len(value)
    return "*" * len(value)


def _replacement_for(finding: Finding, original: str) -> str | None:
    if finding.detector in ("phone", "id_card", "bank_card", "email", "qq", "wechat_id"):
        return mask_pii(finding.detector, original)
    return finding.replacement


def rewrite(text: str, platform: str, checker: Checker | None = None) -> RewriteResult:
    """A compliant version of `text` for `platform`, with the findings fixed and those left."""
    checker = checker or get_checker(platform)
    result = checker.check(text)
    # choose edits: longest spans first, never two overlapping edits
    edits: list[tuple[int, int, str]] = []
    for finding in sorted(result.findings, key=lambda f: (f.start - f.end, f.start)):
        new = _replacement_for(finding, text[finding.start : finding.end])
        if new is None or any(s < finding.end and finding.start < e for s, e, _ in edits):
            continue
        edits.append((finding.start, finding.end, new))
    edits.sort()
    pieces, cursor = [], 0
    for s, e, new in edits:
        pieces += [text[cursor:s], new]
        cursor = e
    new_text = "".join([*pieces, text[cursor:]])
    # a finding is fixed when its rule no longer fires on the rewritten text
    still = {r.rule_id for r in checker.check(new_text).findings}
    fixed = [f for f in result.findings if f.rule_id not in still]
    unfixed = [f for f in result.findings if f.rule_id in still]
    return RewriteResult(original=text, text=new_text, platform=checker.platform, fixed=fixed, unfixed=unfixed)
