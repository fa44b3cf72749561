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
    fixed: list[Finding] = []
    pieces: list[str] = []
    cursor = len(text)
    # replace from the end so earlier offsets stay valid; skip findings inside an edited span
    for finding in sorted(result.findings, key=lambda f: (f.start, f.end), reverse=True):
        if finding.end > cursor:  # overlaps a span already replaced
            fixed.append(finding)
            continue
        new = _replacement_for(finding, text[finding.start : finding.end])
        if new is None:
            continue
        pieces.append(text[finding.end : cursor])
        pieces.append(new)
        cursor = finding.start
        fixed.append(finding)
    pieces.append(text[:cursor])
    new_text = "".join(reversed(pieces))
    remaining = checker.check(new_text).findings
    fixed_ids = {(f.rule_id, f.start) for f in fixed}
    unfixed = [f for f in result.findings if (f.rule_id, f.start) not in fixed_ids]
    # anything the rewrite still trips counts as not fixed (e.g. a replacement that is itself flagged)
    unfixed.extend(f for f in remaining if (f.rule_id, f.start) not in {(u.rule_id, u.start) for u in unfixed})
    fixed = [f for f in fixed if f.rule_id not in {r.rule_id for r in remaining}]
    return RewriteResult(original=text, text=new_text, platform=checker.platform, fixed=fixed, unfixed=unfixed)
