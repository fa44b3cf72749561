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


def _words_regex(words: tuple[str, ...]) -> re.Pattern[str]:
    if not words:
        return re.compile("(?!)")
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


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
        searches = {name: _words_regex(getattr(self, name)).search for name in ("negative", "qq", "wechat", "bank", "phone")}
        object.__setattr__(self, "_searches", searches)

    def mentions(self, snippet: str, kind: str) -> bool:
        """Whether `snippet` contains a context word of `kind` (negative, qq, wechat, bank, phone)."""
        return self._searches[kind](snippet) is not None

    def before(self, view: str, start: int, window: int | None = None) -> str:
        w = self.window if window is None else window
        return view[max(0, start - w) : start]

