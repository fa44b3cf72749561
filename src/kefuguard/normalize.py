"""Text normalisation that defeats evasion while keeping a map back to the original characters.

Every step is one precomputed `str.translate` table, so a message costs a few C-speed passes:

* keyword view: NFKC (full-width → half-width, ①→1), lower-case, traditional → simplified
  (OpenCC, per character), and whitespace, punctuation, emoji, symbols, zero-width and control
  characters removed (微 信, 微*信, V❤信, 淘-宝 all become contiguous); '+' reads as 加.
* phonetic view: characters that sound exactly (toned pinyin) like a character of a curated
  high-risk term become that character (威信 → 微信), length-preserving.
* digit view: Chinese, financial and circled numerals → digits (一三八, 壹叁捌, ①③⑧ → 138).
* link view: like the keyword view but nothing removed, so domains and e-mail survive.

Offsets: the keyword view drops characters, so `offsets()` rebuilds, lazily and only for messages
that have a hit, the index into the original text of every view character.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

import opencc
from pypinyin.pinyin_dict import pinyin_dict

_DELETED_CATEGORIES = ("Z", "C", "P", "S", "M")
_KEPT_SYMBOLS = {"+": "加"}
_REPEATS = re.compile(r"(.)\1+")
_CJK_RANGES = ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00))


def _t2s_table() -> dict[int, str]:
    """Traditional → simplified, per character, from OpenCC (one conversion call at start-up)."""
    chars = [chr(cp) for lo, hi in _CJK_RANGES for cp in range(lo, hi)]
    converted = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # OpenCC changed a separator: fall back to char by char
        conv = opencc.OpenCC("t2s")
        converted = [conv.convert(c) for c in chars]
    return {ord(a): b for a, b in zip(chars, converted, strict=True) if a != b and len(b) == 1}


def _is_separator(ch: str) -> bool:
    return unicodedata.category(ch)[0] in _DELETED_CATEGORIES


def build_tables() -> tuple[dict[int, str], dict[int, str]]:
    """(keyword table, link table). Keyword table deletes separators; link table keeps them."""
    t2s = _t2s_table()
    keyword: dict[int, str] = {}
    link: dict[int, str] = {}
    for cp in (*range(0x10000), *range(0x1F000, 0x1FB00), *range(0xE0000, 0xE0080)):
        ch = chr(cp)
        if 0xD800 <= cp < 0xE000:
            continue
        folded = unicodedata.normalize("NFKC", ch).lower()
        folded = "".join(t2s.get(ord(c), c) for c in folded)
        if folded != ch and len(folded) == 1:
            link[cp] = folded
        if ch in _KEPT_SYMBOLS:
            keyword[cp] = _KEPT_SYMBOLS[ch]
            continue
        kept = "".join(c for c in folded if not _is_separator(c) or c in _KEPT_SYMBOLS)
        kept = "".join(_KEPT_SYMBOLS.get(c, c) for c in kept)
        if kept != ch:
            keyword[cp] = kept
    for sep in "。．":
        link[ord(sep)] = "."
    return keyword, link


def _readings(ch: str) -> str | None:
    value = pinyin_dict.get(ord(ch))
    return value.split(",")[0] if value else None


def build_phonetic_table(terms: list[str], keyword_table: dict[int, str]) -> tuple[dict[int, str], list[str]]:
    """Map every character that reads like a term character (same toned pinyin) to that character.

    Returns the table and the terms in the phonetic view (what to search for).
    """
    representative: dict[str, str] = {}
    for term in terms:
        for ch in term:
            reading = _readings(ch)
            if reading:
                representative.setdefault(reading, ch)
    table: dict[int, str] = {}
    for cp, value in pinyin_dict.items():
        reading = value.split(",")[0]
        rep = representative.get(reading)
        if rep is None or cp == ord(rep):
            continue
        simplified = keyword_table.get(cp, chr(cp))
        if len(simplified) == 1:
            table[ord(simplified)] = rep
        table[cp] = rep
    phonetic_terms = [term.translate(table) for term in terms]
    return table, phonetic_terms


@dataclass(frozen=True)
class Tables:
    """The compiled translate tables; built once per process (about 0.1 s) and shared."""

    keyword: dict[int, str]
    link: dict[int, str]
    digits: dict[int, str]
    phonetic: dict[int, str]
    phonetic_terms: tuple[str, ...]

    def keyword_view(self, text: str) -> str:
        return text.translate(self.keyword)


def build_digit_table(numerals: dict[str, list[str]]) -> dict[int, str]:
    table: dict[int, str] = {}
    for digit, chars in numerals.items():
        for ch in chars:
            if len(ch) == 1:
                table[ord(ch)] = str(digit)
    return table


class Views:
    """The normalised views of one message, computed on demand, with offset maps back."""

    __slots__ = ("__dict__", "tables", "text")

    def __init__(self, text: str, tables: Tables) -> None:
        self.text = text
        self.tables = tables

    @cached_property
    def keyword(self) -> str:
        return self.text.translate(self.tables.keyword)

    @cached_property
    def digits(self) -> str:
        return self.keyword.translate(self.tables.digits)

    @cached_property
    def phonetic(self) -> str:
        return self.keyword.translate(self.tables.phonetic)

    @cached_property
    def link(self) -> str:
        return self.text.translate(self.tables.link)

    @cached_property
    def offsets(self) -> list[int]:
        """offsets[i] = index in the original text of keyword-view character i (plus an end sentinel)."""
        table = self.tables.keyword
        out: list[int] = []
        for i, ch in enumerate(self.text):
            mapped = table.get(ord(ch))
            n = 1 if mapped is None else len(mapped)
            if n:
                out.extend([i] * n)
        out.append(len(self.text))
        return out

    @cached_property
    def collapsed(self) -> tuple[str, list[int]] | None:
        """Keyword view with runs of a repeated character collapsed (微微信信 → 微信), and its map.

        None when nothing repeats, which is most messages.
        """
        kw = self.keyword
        if not _REPEATS.search(kw):
            return None
        chars: list[str] = []
        index: list[int] = []
        prev = ""
        for i, ch in enumerate(kw):
            if ch != prev:
                chars.append(ch)
                index.append(i)
            prev = ch
        index.append(len(kw))
        return "".join(chars), index

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Keyword-view span → original-text span."""
        offs = self.offsets
        return offs[start], offs[end - 1] + 1
