"""Speed up rule regexes without changing what they match.

Two tools, both read off the parsed pattern:
- `prefiltered`: pack authors guard patterns with negative look-behinds ((?<!不)(?<!不能)…改价),
  and Python's `re` then tries every look-behind at every position before failing on the first
  real character. A look-ahead for the characters a match can start with, `(?=[改降再])(?:…)`,
  rejects almost every position with one character test.
- `required_factors`: literal strings every match must contain. The checker scans for them in
  the same automaton as the keywords, so a regex runs only where it could match at all.
When a pattern is too open-ended to tell, it is left alone.
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


_MAX_LITERALS = 384
_FINITE_REPEAT = 3  # x{0,3} and smaller repeats are expanded; larger ones are not literal sets


def _product(left: set[str], right: set[str]) -> set[str] | None:
    if len(left) * len(right) > _MAX_LITERALS:
        return None
    return {a + b for a in left for b in right}


def _group_strings(op, av, of, *, empty_ok: bool) -> set[str] | None:
    """`of` applied through a group or an alternation (union over its branches); None when a
    branch gives None, or gives no or the empty string and `empty_ok` is false."""
    if op is C.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        return None if add_flags or del_flags else of(sub)
    out: set[str] = set()
    for branch in av[1]:
        sub = of(branch)
        if sub is None or not (empty_ok or (sub and "" not in sub)):
            return None
        out |= sub
    return out if len(out) <= _MAX_LITERALS else None


def _element_literals(op, av) -> set[str] | None:
    """Every string one parsed element can match, if that set is finite and small (else None)."""
    if op is C.LITERAL:
        return {chr(av)}
    if op is C.IN:
        chars = _charset(av)
        return chars if chars and len(chars) <= 64 else None
    if op is C.SUBPATTERN or op is C.BRANCH:
        return _group_strings(op, av, _sequence_literals, empty_ok=True)
    if op in _REPEATS:
        low, high, body = av
        if high > _FINITE_REPEAT:
            return None
        once = _sequence_literals(body)
        if once is None:
            return None
        out, power = set(), {""}
        for count in range(high + 1):
            if count >= low:
                out |= power
            if count < high:
                power = _product(power, once)
                if power is None:
                    return None
        return out if len(out) <= _MAX_LITERALS else None
    return None


def _sequence_literals(items) -> set[str] | None:
    out: set[str] | None = {""}
    for op, av in items:
        if op in _ZERO_WIDTH:
            continue
        element = _element_literals(op, av)
        if element is None:
            return None
        out = _product(out, element)
        if out is None:
            return None
    return out


def strength(literal: str) -> float:
    """How rare a literal is in ordinary text, roughly: a Chinese character counts 1, a digit or
    Latin letter ½ (13, 15 or ab turn up everywhere; 卖得最好 does not)."""
    return sum(1.0 if ord(ch) > 0x2E7F else 0.5 for ch in literal)


def weakest(literals) -> float:
    return min(map(strength, literals), default=0.0)


def _score(factors: set[str] | None) -> tuple[float, int]:
    """Stronger weakest factor first (capped: past four characters all are rare), then fewer."""
    if not factors:
        return (0.0, 0)
    return (min(weakest(factors), 4.0), -len(factors))


def _edge_literals(op, av) -> set[str] | None:
    """For a repeat of at least one finite body (\\d{5,}, 哈+): the body's strings. A window of
    literals may start with one (the repeat ends with a body)."""
    if op in _REPEATS and av[0] >= 1:
        return _sequence_literals(av[2])
    return None


def _heads(op, av) -> set[str] | None:
    """The characters a non-empty element must start with (None if it can match nothing, or the
    set is unknown). A window of literals may end with one of them: where the element's own
    strings are open-ended or too many, its first character still narrows the window."""
    chars = first_chars([(op, av)])
    return chars if chars and len(chars) <= 64 else None


def _sequence_factors(items) -> set[str] | None:
    """The most selective set of literals such that every match of the sequence contains one."""
    elements = [(op, av) for op, av in items if op not in _ZERO_WIDTH]  # look-arounds consume nothing
    literals = [_element_literals(op, av) for op, av in elements]
    best: set[str] | None = None
    best_score = _score(None)

    def consider(candidate: set[str] | None) -> None:
        nonlocal best, best_score
        score = _score(candidate)
        if score > best_score:
            best, best_score = candidate, score

    for start, (op, av) in enumerate(elements):
        window = literals[start] if literals[start] is not None else _edge_literals(op, av)
        k = start + 1
        while window is not None:
            consider(window)
            if k == len(elements):
                break
            grown = _product(window, literals[k]) if literals[k] is not None else None
            if grown is None:  # the next element is open-ended, or the product too large
                heads = _heads(*elements[k])
                if heads:
                    consider(_product(window, heads))
                break
            window, k = grown, k + 1
    for (op, av), lit in zip(elements, literals, strict=True):
        if lit is None:
            consider(_inner_factors(op, av))  # the windows above cover elements with finite strings
    return best


def _inner_factors(op, av) -> set[str] | None:
    """Factors of one element whose whole set of strings is not finite (a group, an alternation
    or a repeat holding something open-ended)."""
    if op is C.SUBPATTERN or op is C.BRANCH:
        # a branch without factors (or with an empty one) could match with none of the others'
        return _group_strings(op, av, _sequence_factors, empty_ok=False)
    if op in _REPEATS and av[0] >= 1:
        return _sequence_factors(av[2])
    return None


def required_factors(pattern: str) -> set[str] | None:
    """Literal strings, one of which every match of `pattern` contains, or None if there is no
    useful such set (unknown, too large, or some match could contain none of them).

    These are exact gates derived from the regex itself: the regex cannot match a text that holds
    none of them, so a scan for them (in the same automaton as the keywords) decides whether the
    regex needs to run at all. `(卖|做|穿|用)得最(好|火)` gives 卖得最好, 卖得最火 … where the
    hand-written anchor 最 alone would run it on every 最近.
    """
    if pattern.startswith("(?") and re.match(r"\(\?[aiLmsux]+\)", pattern):
        return None  # global flags (ignore case …) change what the literals match
    try:
        parsed = P.parse(pattern)
    except re.error:
        return None
    factors = _sequence_factors(parsed.data)
    if not factors or min(map(len, factors)) == 0:
        return None
    return factors


_DIGITS = frozenset("0123456789")


def _is_digit_item(op, av) -> bool:
    """Whether one parsed element matches a single ASCII digit and nothing else."""
    if op is C.LITERAL:
        return chr(av) in _DIGITS
    if op is C.IN:
        chars = _charset(av)
        return bool(chars) and chars <= _DIGITS
    return False


def min_digit_run(pattern: str) -> int:
    r"""The length of a run of consecutive digits every match of `pattern` contains (0 if none is
    certain): 1[3-9]\d{9} gives 11. The checker skips a regex when the text holds no digit run
    that long (a regex reading a mobile number after 地址 costs ~4 µs, the run test ~0.3 µs).
    Only the pattern's top-level sequence is read; groups and branches end a run (a lower bound)."""
    try:
        items = list(P.parse(pattern).data)
    except (re.error, RecursionError):
        return 0
    best = run = 0
    for op, av in items:
        if op in _ZERO_WIDTH:
            continue  # look-arounds consume nothing: (?<!\d) inside a run keeps it going
        if _is_digit_item(op, av):
            run += 1
        elif op in _REPEATS and len(av[2]) == 1 and _is_digit_item(*av[2][0]):
            low, high, _sub = av
            run += low
            if high != low:  # a variable repeat: what follows need not touch what came before
                best, run = max(best, run), 0 if low == 0 else run
                if low == 0:
                    continue
        else:
            best, run = max(best, run), 0
    return max(best, run)


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
