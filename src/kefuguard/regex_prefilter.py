"""Speed up rule regexes that begin with look-behinds, without changing what they match.

Pack authors guard patterns with negative look-behinds ((?<!不)(?<!不能)…改价). Python's `re`
then tries every look-behind at every position of the message before failing on the first real
character. Prefixing the pattern with a look-ahead for the set of characters a match can start
with, `(?=[改降再])(?:…)`, rejects almost every position with one character test. The set is
computed from the parsed pattern; when it cannot be determined the pattern is left alone.
"""

from __future__ import annotations

import re
from re import _constants as C
from re import _parser as P

from kefuguard.normalize import char_class

_MAX_SET = 400
_ZERO_WIDTH = {C.ASSERT, C.ASSERT_NOT, C.AT}
_REPEATS = {C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", C.MAX_REPEAT)}


def _charset(items) -> set[str] | None:
    out: set[str] = set()
    for op, av in items:
        if op is C.LITERAL:
            out.add(chr(av))
        elif op is C.RANGE and av[1] - av[0] < _MAX_SET:
            out.update(chr(c) for c in range(av[0], av[1] + 1))
        elif op is C.CATEGORY and av is C.CATEGORY_DIGIT:
            out.update("0123456789")  # the keyword view has ASCII digits only (NFKC)
        else:  # NEGATE, other categories (\w, \s …), huge ranges: give up
            return None
    return out


def first_chars(seq) -> set[str] | None:
    """Characters a match of `seq` (a parsed sequence) can start with; None if unknown/empty."""
    items = list(seq)
    for index, (op, av) in enumerate(items):
        if op in _ZERO_WIDTH:
            continue
        if op is C.LITERAL:
            return {chr(av)}
        if op is C.IN:
            return _charset(av)
        if op is C.BRANCH:
            out: set[str] = set()
            for branch in av[1]:
                sub = first_chars(branch)
                if sub is None:
                    return None
                out |= sub
            return out
        if op is C.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            if add_flags or del_flags:
                return None
            return first_chars(sub)
        if op in _REPEATS:
            low, _high, sub = av
            head = first_chars(sub)
            if head is None:
                return None
            if low >= 1:
                return head
            rest = first_chars(items[index + 1 :])
            return None if rest is None else head | rest
        return None  # ANY, NOT_LITERAL, GROUPREF, …
    return None


_MAX_PREFIXES = 200


def _extend(current: set[str], items, n: int) -> set[str] | None:
    """Grow each unfinished prefix in `current` through the parsed sequence `items`."""
    for op, av in items:
        if all(len(p) >= n for p in current):
            return current
        if op in _ZERO_WIDTH:
            continue
        if op is C.LITERAL or op is C.IN:
            chars = {chr(av)} if op is C.LITERAL else _charset(av)
            if not chars or len(chars) > 64:
                return None
            current = {p if len(p) >= n else p + c for p in current for c in chars}
        elif op is C.SUBPATTERN:
            if av[1] or av[2]:
                return None
            sub = _extend(current, av[3], n)
            if sub is None:
                return None
            current = sub
        elif op is C.BRANCH:
            out: set[str] = set()
            for branch in av[1]:
                sub = _extend(current, branch, n)
                if sub is None:
                    return None
                out |= sub
            current = out
        elif op in _REPEATS:
            low, high, body = av
            once = _extend(current, body, n)
            if once is None:
                return None
            if low == 0 and high == 1:
                current = current | once
            elif low >= 1 and all(len(p) >= n for p in once):
                current = once
            else:
                return None
        else:
            return None
        if len(current) > _MAX_PREFIXES:
            return None
    return current


def required_prefixes(pattern: str, n: int = 2) -> set[str] | None:
    """Every string of `n` characters a match of `pattern` can start with, or None if that set
    is unknown, too large, or some match is shorter than `n`.

    Such prefixes are exact anchors: the regex cannot match where none of them occurs, so they
    can replace broader hand-written anchors (加 → 加我, 加个, 加q …) without changing results.
    """
    try:
        parsed = P.parse(pattern)
    except re.error:
        return None
    if pattern.startswith("(?") and re.match(r"\(\?[aiLmsux]+\)", pattern):
        return None
    found = _extend({""}, parsed.data, n)
    if not found or any(len(p) < n for p in found):
        return None
    return found


def prefiltered(pattern: str) -> re.Pattern[str]:
    """`pattern` compiled, with a first-character look-ahead in front where that is possible."""
    compiled = re.compile(pattern)
    if pattern.startswith("(?") and re.match(r"\(\?[aiLmsux]+\)", pattern):
        return compiled  # global inline flags must stay first
    parsed = P.parse(pattern)
    if not parsed.data or parsed.data[0][0] not in _ZERO_WIDTH:
        return compiled  # no leading look-behind: re's own prefix scan already does the job
    chars = first_chars(parsed.data)
    if not chars or len(chars) > _MAX_SET:
        return compiled
    return re.compile(f"(?={char_class(chars)})(?:{pattern})")
