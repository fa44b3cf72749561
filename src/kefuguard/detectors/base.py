"""Shared detector types."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Detection:
    """A detected span. `in_original` spans index the original text, others the keyword view."""

    kind: str
    start: int
    end: int
    value: str
    in_original: bool = False


def words_regex(words, *, at_end: bool = False) -> re.Pattern[str]:
    """An alternation of `words`, longest first; `at_end` anchors it at the end of the searched
    range (the words right before a position, searched with an endpos)."""
    words = sorted({w for w in words if w}, key=len, reverse=True)
    if not words:
        return re.compile("(?!)")
    body = "|".join(re.escape(w) for w in words)
    return re.compile(f"(?:{body})\\Z" if at_end else body)


@dataclass(frozen=True)
class DetectorContext:
    """Context words (from engine.yaml) that confirm or veto a candidate nearby."""

    window: int = 8
    negative: tuple[str, ...] = ()
    qq: tuple[str, ...] = ()
    wechat: tuple[str, ...] = ()
    bank: tuple[str, ...] = ()
    phone: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        # one compiled alternation per word list: a regex search beats a Python loop over words
        searches = {name: words_regex(getattr(self, name)).search for name in ("negative", "qq", "wechat", "bank", "phone")}
        object.__setattr__(self, "_searches", searches)

    def mentions(self, snippet: str, kind: str) -> bool:
        """Whether `snippet` contains a context word of `kind` (negative, qq, wechat, bank, phone)."""
        return self._searches[kind](snippet) is not None

    def before(self, view: str, start: int, window: int | None = None) -> str:
        w = self.window if window is None else window
        return view[max(0, start - w) : start]

