"""Text normalisation that defeats evasion while keeping a map back to the original characters.

Every step is one precomputed `str.translate` table, so a message costs a few C-speed passes:

* keyword view: NFKC (full-width → half-width, ①→1), lower-case, traditional → simplified
  (OpenCC, per character), and whitespace, punctuation, emoji, symbols, zero-width and control
  characters removed (微 信, 微*信, V❤信, 淘-宝 all become contiguous); '+' reads as 加.
* sound-alikes: a curated few high-risk terms (微信, 支付宝…) are also searched in every spelling
  with everyday characters of the same toned pinyin (威信), compiled into the same automaton.
* digit view: Chinese, financial and circled numerals → digits (一三八, 壹叁捌, ①③⑧ → 138).
* link view: like the keyword view but nothing removed, so domains and e-mail survive.

Offsets: the keyword view drops characters, so `offsets()` rebuilds, lazily and only for messages
that have a hit, the index into the original text of every view character.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from operator import methodcaller

_DELETED_CATEGORIES = ("Z", "C", "P", "S", "M")
_KEPT_SYMBOLS = {"+": "加"}
_CJK_RANGES = ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00))


def _t2s_table() -> dict[int, str]:
    """Traditional → simplified, per character, from OpenCC (one conversion call at start-up)."""
    import opencc  # build time only: a checker loaded from the cache never needs it

    chars = [chr(cp) for lo, hi in _CJK_RANGES for cp in range(lo, hi)]
    converted = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # OpenCC changed a separator: fall back to char by char
        conv = opencc.OpenCC("t2s")
        converted = [conv.convert(c) for c in chars]
    return {ord(a): b for a, b in zip(chars, converted, strict=True) if a != b and len(b) == 1}


def _is_separator(ch: str) -> bool:
    return unicodedata.category(ch)[0] in _DELETED_CATEGORIES


@dataclass(frozen=True)
class Normalization:
    """Which normalisation steps the checker applies; every step is on by default. A shop whose
    own text trips a step (say, traditional characters it must keep apart) can switch it off.

    Steps that shape the keyword view: `width` (NFKC: full-width ＶＸ, circled ①, ligatures),
    `case` (lower-case), `traditional` (traditional → simplified), `digits` (every digit form:
    ❶ Ⅰ ١ → 1), `accents` (wēi → wei), `separators` (spaces, punctuation, symbols and emoji
    between characters deleted), `plus` ('+' read as 加, and deleted inside a word: 微+信).
    Steps that add spellings or settle hits: `repeats` (微微信信), `aliases` (engine.yaml: vx,
    薇信, 某宝, nicknames), `sound_alikes` (威信), `pinyin` (w信, zhi付宝), `numerals` (贰维码),
    `segmentation` (京东 in 南京东路, 企鹅 without a contact word).
    """

    width: bool = True
    case: bool = True
    traditional: bool = True
    digits: bool = True
    accents: bool = True
    separators: bool = True
    plus: bool = True
    repeats: bool = True
    aliases: bool = True
    sound_alikes: bool = True
    pinyin: bool = True
    numerals: bool = True
    segmentation: bool = True

    @property
    def table_key(self) -> tuple[bool, ...]:
        """The switches that change the translate tables."""
        return (self.width, self.case, self.traditional, self.digits, self.accents, self.separators, self.plus)


DEFAULT_NORMALIZATION = Normalization()


def build_tables(options: Normalization = DEFAULT_NORMALIZATION) -> tuple[dict[int, str], dict[int, str]]:
    """(keyword table, link table). Keyword table deletes separators; link table keeps them.

    `options` shapes the keyword table only: the link view (for URLs and e-mail) always folds
    width and case."""
    t2s = _t2s_table() if options.traditional else {}
    link_t2s = t2s or _t2s_table()
    keyword: dict[int, str] = {}
    link: dict[int, str] = {}
    for cp in (*range(0x10000), *_MATH_ALPHANUMERICS, *range(0x1F000, 0x1FB00), *range(0xE0000, 0xE0080)):
        ch = chr(cp)
        if 0xD800 <= cp < 0xE000:
            continue
        full = _folded(ch, link_t2s, True, True, True)
        if full != ch and len(full) == 1:
            link[cp] = full
        if ch in _KEPT_SYMBOLS and options.plus:
            keyword[cp] = _KEPT_SYMBOLS[ch]
            continue
        folded = _folded(ch, t2s, options.width, options.case, options.digits)
        if options.accents:
            folded = _without_accent(folded)  # wēi xìn → wei xin (pinyin tone marks, é …)
        if options.separators:
            folded = "".join(c for c in folded if not _is_separator(c) or (options.plus and c in _KEPT_SYMBOLS))
        if options.plus:
            folded = "".join(_KEPT_SYMBOLS.get(c, c) for c in folded)
        if folded != ch:
            keyword[cp] = folded
    for sep in "。．":
        link[ord(sep)] = "."
    return keyword, link


def _folded(ch: str, t2s: dict[int, str], width: bool, case: bool, digits: bool) -> str:
    """One character through NFKC (`width`), lower-casing (`case`), t2s and the digit forms."""
    folded = unicodedata.normalize("NFKC", ch) if width else ch
    if case:
        folded = folded.lower()
    folded = "".join(t2s.get(ord(c), c) for c in folded)
    if digits:
        if len(folded) == 1 and unicodedata.decimal(folded, None) is not None:
            folded = str(unicodedata.decimal(folded))  # ١٣٨ (Arabic-Indic), ১৩৮ … → 138: NFKC keeps them
        elif (digit := _numeric_digit(ch)) is not None:
            folded = digit  # ❶ ➀ ➊ ⓵ ⓿ Ⅰ ⅰ: a digit's value with no NFKC decimal digit
    return folded


_MATH_ALPHANUMERICS = range(0x1D400, 0x1D800)  # 𝟏𝟑𝟖, 𝐯𝐱: NFKC folds them to ASCII


def _numeric_digit(ch: str) -> str | None:
    """The ASCII digit of a numeric character that NFKC leaves alone or makes a letter (❶, ➀, ⓿,
    Roman Ⅰ/ⅰ), or None. Han numerals (一, 〇) stay characters: keywords are written with them."""
    if unicodedata.category(ch)[0] != "N" or "CJK" in unicodedata.name(ch, "") or "IDEOGRAPHIC" in unicodedata.name(ch, ""):
        return None
    value = unicodedata.numeric(ch, None)
    if value is None or value != int(value) or not 0 <= value <= 9:
        return None
    return str(int(value))


def _without_accent(folded: str) -> str:
    """A Latin letter with diacritics as its base letter (ē → e, ǜ → u); anything else unchanged."""
    if len(folded) != 1 or folded.isascii():
        return folded
    parts = unicodedata.normalize("NFKD", folded)
    if len(parts) > 1 and "a" <= parts[0] <= "z" and all(unicodedata.category(c) == "Mn" for c in parts[1:]):
        return parts[0]
    return folded


def _reading(cp: int) -> str | None:
    from pypinyin.pinyin_dict import pinyin_dict  # build time only

    value = pinyin_dict.get(cp)
    return value.split(",")[0] if value else None


def _is_common_char(ch: str) -> bool:
    """GB2312 level-1 characters: the 3,755 everyday hanzi (what sound-alike evasions use)."""
    try:
        code = ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(code) == 2 and 0xB0A1 <= int.from_bytes(code, "big") <= 0xD7FE


@cache
def _common_chars_by_reading() -> dict[str, list[str]]:
    by_reading: dict[str, list[str]] = {}
    for cp in range(0x4E00, 0xA000):
        ch = chr(cp)
        reading = _reading(cp)
        if reading and _is_common_char(ch):
            by_reading.setdefault(reading, []).append(ch)
    return by_reading


def sound_alike_spellings(term: str, limit: int = 5000) -> list[str]:
    """Every spelling of `term` with everyday characters of the same toned pinyin (威信 for 微信).

    Tones count (维心 is not 微信), and only GB2312 level-1 characters are used, which keeps the
    list to a few hundred per term; whole-lexicon pinyin matching would flag most messages.
    """
    options = []
    for ch in term:
        reading = _reading(ord(ch))
        same = _common_chars_by_reading().get(reading, []) if reading else []
        options.append(sorted({ch, *same}))
    spellings = ["".join(combo) for combo in itertools.islice(itertools.product(*options), limit)]
    return [s for s in spellings if s != term]


_REPEATED_CHAR = re.compile(r"(\D)\1+")
_FIRST_GROUP = methodcaller("group", 1)  # a C-level replacement: re expands a "\1" template in Python
_RUN_START = re.compile(r"(\D)\1*|\d")  # one match per character of the collapsed view
_TABLE_SIZE = 0x20000  # BMP + the emoji planes; characters beyond are left as they are


def as_list_table(table: dict[int, str]) -> list[str | None]:
    """The same mapping as a list indexed by code point: `str.translate` looks a list up about
    twice as fast as a large dict (no hashing, fewer cache misses). None deletes a character."""
    out: list[str | None] = list(map(chr, range(_TABLE_SIZE)))
    for cp, value in table.items():
        if cp < _TABLE_SIZE:
            out[cp] = value if value else None
    return out


def beyond_list_table(table: dict[int, str]) -> dict[int, str | None]:
    """The mappings `as_list_table` leaves out (code points past its size, such as the invisible
    tag characters U+E0000–E007F inside flag emoji), for a second translate when one occurs."""
    return {cp: value or None for cp, value in table.items() if cp >= _TABLE_SIZE}


_BEYOND_LIST_TABLE = re.compile(f"[{chr(_TABLE_SIZE)}-\U0010ffff]")


def keyword_view(text: str, tables: Tables) -> str:
    """The keyword view of `text`: one list-table translate, and a second pass in the rare case of
    a character past the list table."""
    return finish_keyword_view(text.translate(tables.keyword_list), tables)


def finish_keyword_view(view: str, tables: Tables) -> str:
    """Apply the mappings past the list table to a list-translated view, if it holds any such
    character (the checker calls this only when its screen saw one)."""
    if tables.keyword_beyond and _BEYOND_LIST_TABLE.search(view):
        return view.translate(tables.keyword_beyond)
    return view


def length_marks(table: dict[int, str]) -> list[str]:
    """A translate table giving, for every code point below the list table's size, one character
    whose code is how many keyword-view characters it becomes (0 = deleted): `Views.offsets`
    reads the whole message's lengths with one C-level translate."""
    marks = ["\x01"] * _TABLE_SIZE
    for cp, value in table.items():
        if cp < _TABLE_SIZE:
            marks[cp] = chr(min(len(value), 255))
    return marks


def char_class(chars: set[str]) -> str:
    """A regex character class matching exactly `chars` (ranges merged)."""
    cps = sorted(ord(c) for c in chars)
    parts, i = [], 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        a, b = chr(cps[i]), chr(cps[j])
        parts.append(re.escape(a) if i == j else f"{re.escape(a)}-{re.escape(b)}")
        i = j + 1
    return "[" + "".join(parts) + "]"


class _computed_once:
    """Like functools.cached_property without its lock (Python 3.11 takes one on every first
    access, which costs more than most views): the value lands in the instance dict, so later
    reads never reach the descriptor. Views are per message and not shared between threads."""

    def __init__(self, func) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.func(obj)
        return value


@dataclass(frozen=True)
class Tables:
    """The compiled translate tables; built once per process (well under a second) and shared.

    The list forms of the digit and link tables and the length marks are made on first use
    (about 12 ms each) and not pickled: a command-line check of a plain message needs none."""

    keyword: dict[int, str]
    link: dict[int, str]
    digits: dict[int, str]
    keyword_list: list[str | None] = field(repr=False, default_factory=list)
    keyword_beyond: dict[int, str | None] = field(repr=False, default_factory=dict)
    numeral_runs: re.Pattern[str] = field(repr=False, default=re.compile("(?!)"))
    latin_letter: dict[str, str] = field(repr=False, default_factory=dict)  # ｈ, Ｈ, h, H → h
    plus: re.Pattern[str] = field(repr=False, default=re.compile("(?!)"))  # characters read as 加

    @_computed_once
    def keyword_marks(self) -> list[str]:
        return length_marks(self.keyword)

    @_computed_once
    def digits_list(self) -> list[str | None]:
        return as_list_table(self.digits)

    @_computed_once
    def link_list(self) -> list[str | None]:
        return as_list_table(self.link)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("keyword_marks", "digits_list", "link_list")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)


def latin_letters(table: dict[int, str]) -> dict[str, str]:
    """Every character that the keyword view turns into one ASCII letter (full-width ｈ, ⓗ, 𝐡,
    ASCII H), mapped to that letter: word-boundary checks look at the original text."""
    out = {ch: ch.lower() for ch in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"}
    for cp, value in table.items():
        if len(value) == 1 and "a" <= value <= "z":
            out[chr(cp)] = value
    return out


def plus_pattern(table: dict[int, str]) -> re.Pattern[str]:
    """The characters the keyword view reads as 加 ('+', '＋', '﹢' …) without being 加."""
    chars = {chr(cp) for cp, value in table.items() if value == _KEPT_SYMBOLS["+"]}
    return re.compile(char_class(chars)) if chars else re.compile("(?!)")


def build_digit_table(numerals: dict[str, list[str]]) -> dict[int, str]:
    """The curated Chinese/circled/financial numerals → ASCII digits (other scripts' decimal
    digits are already ASCII in the keyword view)."""
    table: dict[int, str] = {}
    for digit, chars in numerals.items():
        for ch in chars:
            if len(ch) == 1:
                table[ord(ch)] = str(digit)
    return table


class Views:
    """The normalised views of one message, computed on demand, with offset maps back."""

    __slots__ = ("__dict__", "tables", "text")

    def __init__(self, text: str, tables: Tables, keyword: str | None = None) -> None:
        self.text = text
        self.tables = tables
        if keyword is not None:
            self.keyword = keyword

    @_computed_once
    def keyword(self) -> str:
        return keyword_view(self.text, self.tables)

    @_computed_once
    def digits(self) -> str:
        return self.keyword.translate(self.tables.digits_list)

    @_computed_once
    def link(self) -> str:
        return self.text.translate(self.tables.link_list)

    @_computed_once
    def offsets(self) -> list[int]:
        """offsets[i] = index in the original text of keyword-view character i (plus an end sentinel)."""
        text = self.text
        marks = text.translate(self.tables.keyword_marks)  # per character: its length, as a code
        try:
            counts = marks.encode("latin-1")
        except UnicodeEncodeError:  # a character past the list table is left as itself
            beyond = self.tables.keyword_beyond
            counts = bytes(ord(m) if m <= "\xff" else len(beyond.get(ord(m), m) or "") for m in marks)
        if len(counts) - counts.count(0) == len(self.keyword):
            # the usual case, characters kept or deleted but none expanded: one C-level pass
            out = list(itertools.compress(range(len(text)), counts))
        else:
            out = [i for i, n in enumerate(counts) for _ in range(n)]
        out.append(len(text))
        return out

    @_computed_once
    def collapsed(self) -> str:
        """Keyword view with runs of a repeated non-digit character collapsed (微微信信 → 微信).

        Digits are left alone: 13800000000 must stay a phone number.
        """
        return _REPEATED_CHAR.sub(_FIRST_GROUP, self.keyword)

    @_computed_once
    def joined_index(self) -> list[int]:
        """Keyword-view indexes of the characters that are not a '+' read as 加 (an end sentinel
        last): '+' inside a word (微+信, 傻+逼) joins it rather than meaning 加."""
        kw, text, offsets, plus = self.keyword, self.text, self.offsets, self.tables.plus
        index = [i for i, ch in enumerate(kw) if not (ch == "加" and plus.match(text, offsets[i]))]
        index.append(len(kw))
        return index

    @_computed_once
    def joined(self) -> str:
        """The keyword view with every '+' deleted instead of read as 加."""
        kw = self.keyword
        return "".join(kw[i] for i in self.joined_index[:-1])

    @_computed_once
    def collapsed_index(self) -> list[int]:
        """collapsed_index[i] = keyword-view index of collapsed character i (plus an end sentinel)."""
        kw = self.keyword
        index = [m.start() for m in _RUN_START.finditer(kw)]
        index.append(len(kw))
        return index

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Keyword-view span → original-text span."""
        offs = self.offsets
        return offs[start], offs[end - 1] + 1
