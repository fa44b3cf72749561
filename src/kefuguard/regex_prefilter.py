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
        else:  # NEGATE, CATEGORY (\d, \w …), huge ranges: give up
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
