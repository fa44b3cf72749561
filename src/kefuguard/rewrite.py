"""Compliant rewrites: mask personal data, replace flagged phrases, say what could not be fixed.

A separate step after detection (as Presidio separates analysing from anonymising): the checker
finds spans, this module decides what to put there. The rewritten text is checked again with the
same checker, and the rewrite keeps one promise for every input:

* its output never carries a finding whose rule the input did not break. Masking can create
  one: the normaliser drops mask characters, so 加13812345678 → 加138****5678 reads as 加1385678,
  a QQ number. Such a finding (and any fixable finding the first pass left) makes the edits that
  touch it stronger — every character of the finding masked, the edits it touches merged into
  one — and the text is checked again, a bounded number of rounds. Should a new rule still fire,
  the edits that touch it are dropped, and as a last resort the text is returned unchanged;
* `fixed`/`unfixed` are what the re-check says: a finding is fixed only if the rewritten text no
  longer reports it, so `complete` is true exactly when the rewritten text is clean.

What is fixed how: numbers, e-mail addresses, QQ and WeChat ids are masked the way platforms show
them (138****8000); links and diversion findings without a replacement (二维码, 加我 …) are masked
entirely; other findings with a `replacement` get it; the rest (rude tone …) need a human.

Cost: one check of the input, one of each rewritten text (usually one), and sorting the findings —
choosing the edits, building the text and mapping findings back are single sweeps.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import defaultdict

from kefuguard.checker import Checker, get_checker, shared_tables
from kefuguard.findings import Finding, RewriteResult
from kefuguard.rules.model import Category

_SEPARATORS = set("-_.·—–()（）+＋")
_PII_DETECTORS = frozenset({"phone", "id_card", "bank_card", "email", "qq", "wechat_id"})
_STRENGTHEN_ROUNDS = 6  # re-check and strengthen at most this often (one round is the usual case)
_REVERT_ROUNDS = 2  # then drop the edits next to a finding the input did not have, at most this often

Edit = tuple[int, int, str]  # original start, original end, new text


def mask_digits(value: str, keep_head: int, keep_tail: int, mask_char: str = "*") -> str:
    """Mask the digits of `value` except the first `keep_head` and last `keep_tail` digits.

    Separators and their positions are kept, so 138 0013 8000 → 138 **** 8000 reads naturally;
    digits written as 一三八 or ①③⑧ count as digits (they are what is being hidden).
    """
    positions = [i for i, ch in enumerate(value) if not ch.isspace() and ch not in _SEPARATORS]
    hide = positions[keep_head : len(positions) - keep_tail if keep_tail else None]
    chars = list(value)
    for i in hide:
        chars[i] = mask_char
    return "".join(chars)


def mask_pii(kind: str, value: str, mask_char: str = "*") -> str:
    """Mask one detected value the way Chinese platforms show it (138****0000)."""
    if kind == "phone":
        return mask_digits(value, 3, 4, mask_char)
    if kind == "id_card":
        return mask_digits(value, 6, 4, mask_char)
    if kind == "bank_card":
        return mask_digits(value, 0, 4, mask_char)
    if kind == "email":
        name, _, domain = value.partition("@")
        return f"{name[:1]}{mask_char * 3}@{domain}"
    if kind in ("qq", "wechat_id"):
        if len(value) > 4:
            return value[:2] + mask_char * max(len(value) - 4, 2) + value[-2:]
        return mask_char * len(value)
    return mask_char * len(value)


def mask_all(value: str, mask_char: str = "*") -> str:
    """Every character but whitespace replaced by `mask_char` (links, 二维码 …)."""
    return "".join(ch if ch.isspace() else mask_char for ch in value)


def check_mask_char(mask_char: str) -> None:
    """A mask character is one visible character the checker ignores: not a letter or digit, not
    whitespace, and not one the normaliser reads as text (`+` reads as 加)."""
    if not isinstance(mask_char, str) or len(mask_char) != 1 or mask_char.isalnum() or mask_char.isspace():
        raise ValueError(
            "遮蔽字符须为一个非字母数字、非空白的字符（如 * 或 ×）/ mask_char must be exactly one character "
            f"that is not a letter, digit or space, not {mask_char!r}"
        )
    if mask_char.translate(shared_tables().keyword):
        raise ValueError(
            f"遮蔽字符 {mask_char!r} 会被当作文字检查，请用 * 或 ● 等符号 / mask_char {mask_char!r} is read as text by "
            "the checker; use a symbol such as * or ●"
        )


def _edit_for(finding: Finding, original: str, mask_char: str) -> str | None:
    """What replaces a finding's span, or None when a human must rephrase it."""
    detector = finding.detector
    if detector in _PII_DETECTORS:
        return mask_pii(detector, original, mask_char)
    if detector == "url":
        return mask_all(original, mask_char)
    if finding.replacement is not None:
        return finding.replacement
    if finding.category is Category.diversion:
        return mask_all(original, mask_char)
    return None


def _choose_edits(findings: list[Finding], text: str, mask_char: str) -> list[Edit]:
    """Non-overlapping edits for the fixable findings, sorted by start.

    Overlapping findings form a cluster (one sweep over the findings sorted by start); in a
    cluster the longest span wins, then the longest of the rest that overlaps nothing chosen, …
    A cluster is usually one finding, or one span covering the others.
    """
    candidates = []
    for f in findings:
        if f.end > f.start:
            new = _edit_for(f, text[f.start : f.end], mask_char)
            if new is not None:
                candidates.append((f.start, f.end, new))
    candidates.sort(key=lambda c: (c[0], -c[1]))
    edits: list[Edit] = []
    i, n = 0, len(candidates)
    while i < n:
        end = candidates[i][1]
        j = i + 1
        while j < n and candidates[j][0] < end:
            end = max(end, candidates[j][1])
            j += 1
        if j == i + 1 or candidates[i][1] == end:  # alone, or the first span covers the cluster
            edits.append(candidates[i])
        else:
            edits.extend(_longest_first(candidates[i:j]))
        i = j
    return edits


def _longest_first(cluster: list[Edit]) -> list[Edit]:
    starts: list[int] = []
    chosen: dict[int, Edit] = {}
    for edit in sorted(cluster, key=lambda c: (c[0] - c[1], c[0])):
        s, e, _ = edit
        k = bisect_left(starts, e)  # chosen spans are disjoint: only the one starting before e can overlap
        if k and chosen[starts[k - 1]][1] > s:
            continue
        insort(starts, s)
        chosen[s] = edit
    return [chosen[s] for s in starts]


class _Layout:
    """Edits applied to the original text, with the positions of every edit in the output."""

    def __init__(self, text: str, edits: list[Edit]) -> None:
        self.edits = edits
        pieces: list[str] = []
        out_starts: list[int] = []
        out_ends: list[int] = []
        cursor = 0
        pos = 0
        for s, e, new in edits:
            pieces.append(text[cursor:s])
            pos += s - cursor
            out_starts.append(pos)
            pieces.append(new)
            pos += len(new)
            out_ends.append(pos)
            cursor = e
        pieces.append(text[cursor:])
        self.text = "".join(pieces)
        self.out_starts = out_starts
        self.out_ends = out_ends

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original span an output span came from (an edit it cuts into counts whole)."""
        return self._original(start, True), self._original(end, False)

    def _original(self, pos: int, is_start: bool) -> int:
        k = (bisect_right(self.out_starts, pos) if is_start else bisect_left(self.out_starts, pos)) - 1
        if k < 0:
            return pos
        s, e, _ = self.edits[k]
        out_end = self.out_ends[k]
        if pos < out_end or (not is_start and pos == out_end):
            return s if is_start else e
        return e + (pos - out_end)

    def touching(self, start: int, end: int) -> range:
        """Indexes of the edits whose output overlaps or touches [start, end)."""
        lo = bisect_left(self.out_ends, start)
        hi = bisect_right(self.out_starts, end)
        return range(lo, max(lo, hi))


def _strengthen(layout: _Layout, spans: list[tuple[int, int]], mask_char: str) -> list[Edit]:
    """New edits in which every output span in `spans` is masked; the edits a span touches are
    merged with it into one edit (the output text there, masked where a span lies)."""
    regions: list[list[int]] = []  # [out start, out end] of merged regions, built in order
    masks: list[tuple[int, int]] = sorted(spans)
    for s, e in masks:
        touched = layout.touching(s, e)
        if touched:
            s = min(s, layout.out_starts[touched[0]])
            e = max(e, layout.out_ends[touched[-1]])
        if regions and s <= regions[-1][1]:
            regions[-1][1] = max(regions[-1][1], e)
        else:
            regions.append([s, e])
    out = layout.text
    new_edits: list[Edit] = []
    m = 0
    for rs, re_ in regions:
        chars = list(out[rs:re_])
        while m < len(masks) and masks[m][0] < re_:
            ms, me = masks[m]
            for p in range(max(ms, rs), min(me, re_)):
                if not chars[p - rs].isspace():
                    chars[p - rs] = mask_char
            m += 1
        o_s, o_e = layout.original_span(rs, re_)
        new_edits.append((o_s, o_e, "".join(chars)))
    return _merge_edits(layout.edits, new_edits)


def _merge_edits(old: list[Edit], new: list[Edit]) -> list[Edit]:
    """`new` edits (sorted, disjoint) replace every `old` edit they overlap."""
    out: list[Edit] = []
    k = 0
    for s, e, text in new:
        while k < len(old) and old[k][0] < s:
            if old[k][1] <= s:
                out.append(old[k])
            k += 1
        while k < len(old) and old[k][0] < e:
            k += 1  # inside the new edit
        out.append((s, e, text))
    out.extend(old[k:])
    # an old edit starting before `s` but reaching into it cannot exist: the regions were widened
    # to whole edits; zero-length edits at a boundary stay
    return sorted(out, key=lambda x: (x[0], x[1]))


def _revert(layout: _Layout, spans: list[tuple[int, int]]) -> list[Edit]:
    """The edits minus those whose output overlaps or touches a span."""
    dropped = set()
    for s, e in spans:
        dropped.update(layout.touching(s, e))
    return [edit for k, edit in enumerate(layout.edits) if k not in dropped]


def rewrite(text: str, platform: str, checker: Checker | None = None, *, mask_char: str = "*") -> RewriteResult:
    """A compliant version of `text` for `platform`, with the findings fixed and those left.

    `mask_char` hides digits, ids, links and diversion words (one character, not a letter or
    digit). The output never breaks a rule the input did not; `complete` means it breaks none.
    """
    check_mask_char(mask_char)
    checker = checker or get_checker(platform)
    findings = checker.check(text).findings
    if not findings:
        return RewriteResult(original=text, text=text, platform=checker.platform)
    before = {f.rule_id for f in findings}
    layout = _Layout(text, _choose_edits(findings, text, mask_char))
    after = checker.check(layout.text).findings if layout.edits else findings
    # strengthen: mask what still fires (new rules, and fixable rules the first pass left)
    for _ in range(_STRENGTHEN_ROUNDS):
        trouble = [
            (g.start, g.end)
            for g in after
            if g.end > g.start and (g.rule_id not in before or _edit_for(g, g.matched, mask_char) is not None)
        ]
        if not trouble:
            break
        edits = _strengthen(layout, trouble, mask_char)
        strengthened = _Layout(text, edits)
        if strengthened.text == layout.text:
            break  # nothing left to mask there
        layout = strengthened
        after = checker.check(layout.text).findings
    # the promise: no rule the input did not break; drop the edits next to one, then give up
    for _ in range(_REVERT_ROUNDS):
        new_rules = [(g.start, g.end) for g in after if g.rule_id not in before]
        if not new_rules:
            break
        layout = _Layout(text, _revert(layout, new_rules))
        after = checker.check(layout.text).findings
    if any(g.rule_id not in before for g in after):
        layout = _Layout(text, [])
        after = findings
    unfixed = _still_reported(findings, after, layout)
    return RewriteResult(
        original=text,
        text=layout.text,
        platform=checker.platform,
        fixed=[f for k, f in enumerate(findings) if k not in unfixed],
        unfixed=[f for k, f in enumerate(findings) if k in unfixed],
    )


def _still_reported(findings: list[Finding], after: list[Finding], layout: _Layout) -> set[int]:
    """Indexes of the input findings the re-check still reports: those of the same rule that an
    output finding overlaps, or (when it overlaps none) the nearest one of its rule."""
    by_rule: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for k, f in enumerate(findings):
        by_rule[f.rule_id].append((f.start, f.end, k))
    for items in by_rule.values():
        items.sort()
    starts = {rule: [s for s, _, _ in items] for rule, items in by_rule.items()}
    unfixed: set[int] = set()
    for g in after:
        items = by_rule.get(g.rule_id)
        if not items:
            continue  # a new rule: cannot happen once rewrite has finished
        s, e = layout.original_span(g.start, g.end)
        # one rule's findings are merged, so disjoint: those overlapping [s, e) are consecutive
        k = bisect_left(starts[g.rule_id], e)
        hit = False
        while k > 0 and items[k - 1][1] > s:
            unfixed.add(items[k - 1][2])
            hit = True
            k -= 1
        if not hit:
            k = bisect_left(starts[g.rule_id], s)
            near = [items[i] for i in (k - 1, k) if 0 <= i < len(items)]
            unfixed.add(min(near, key=lambda it: max(it[0] - e, s - it[1]))[2])
    return unfixed
