"""Shared detector types."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Detection:
    """A detected span. `in_original` spans index the original text, others the keyword view."""

    kind: str
    start: int
    end: int
    value: str
    in_original: bool = False


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

    def before(self, view: str, start: int, window: int | None = None) -> str:
        w = self.window if window is None else window
        return view[max(0, start - w) : start]

    @staticmethod
    def has_any(snippet: str, words: tuple[str, ...]) -> bool:
        return any(w in snippet for w in words)
