"""Per-shop settings at runtime: a small overlay on top of the shared platform checker.

A shop adds and removes its own banned words (literal or regex, with tags) and allowed phrases,
disables a built-in rule or changes its severity, and excuses phrases for one rule — without
building a new `Checker`. `ShopChecker` wraps the shared checker of the shop's platform; every
change is validated, compiled into a new immutable `_Overlay` (milliseconds) and swapped in with
one reference assignment under a lock, so a concurrent `check()` sees the old overlay or the new
one, never half of each, and the next call sees the change.

    shop = ShopChecker(ShopSettings(shop_id="s001", platform="pinduoduo"))
    shop.add_words([ShopWord(text="竞品店", tags=["竞品"])], by="alice")
    shop.allow_phrases(["最美衣橱"])            # the shop's own name: 最 is not a superlative here
    shop.set_severity("pdd.wording.baobei", "info")
    shop.check("来竞品店看看")                   # finding shop.s001.word, tags ["竞品"]

Shop words are matched on the same normalised keyword view as the engine (full-width, case,
traditional characters, spaces, punctuation, emoji between characters, doubled characters), and
every finding points back into the original text. Alias and sound-alike expansion is the
built-in rules' business: a shop word matches its own normalised spelling only.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import ahocorasick_rs
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kefuguard.checker import Checker, get_checker, shared_tables
from kefuguard.findings import CheckResult, Finding, RewriteResult
from kefuguard.normalize import Normalization, Views, keyword_view
from kefuguard.regex_prefilter import required_factors
from kefuguard.rewrite import check_mask_char
from kefuguard.rules.model import Category, Penalty, Severity, Source, platform_code

SHOP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
MAX_WORDS = 5000
MAX_WORD_CHARS = 100
MAX_REGEX_CHARS = 300
MAX_PHRASES = 5000
HISTORY_LIMIT = 1000  # changes kept in ShopChecker.history
# a DFA (the default for few patterns) costs ~300 KB per shop; the contiguous NFA a few KB, as fast
_SMALL = ahocorasick_rs.Implementation.ContiguousNFA
_NO_EDGES = (False, False)
_REPEATED = re.compile(r"(\D)\1")  # a doubled non-digit character: the collapsed view may add hits

# Ordinary customer-service messages: a word or regex hitting most of them would flag nearly
# everything the agents write, so it is refused.
_PROBES = (
    "亲，您好，请问有什么可以帮您的吗？",
    "好的，这边马上为您安排发货哦",
    "亲亲，这款是现货的，今天下单明天就能发出",
    "您的订单已经发出了，快递单号请在订单详情里查看",
    "不好意思让您久等了，我帮您查一下物流",
    "这个尺码偏小一码，建议您拍大一号",
    "收到货有任何问题都可以联系我们处理的",
    "支持七天无理由退换货，请放心购买",
    "亲，优惠券在商品页面可以领取哦",
    "感谢您的支持，祝您生活愉快",
    "麻烦您提供一下订单号，我这边核实一下",
    "颜色以实物为准，不同显示器会有一点色差",
    "仓库这边周末也正常发货的",
    "退款已经为您处理了，原路退回，请注意查收",
    "这款面料是纯棉的，透气舒服",
    "您看一下是否需要开发票，可以在订单里申请",
    "好的呢，有需要随时找我",
    "抱歉给您带来不便，我们会尽快解决",
    "请问还有其他问题吗",
    "亲，这个价格已经是活动价了",
    "OK的，没问题，马上安排",
    "您好，在的，请讲",
    "这款有黑色和白色两种颜色可选",
    "快递一般三到五天送达，偏远地区会慢一些",
)
_BROAD_SHARE = 0.5  # a word or regex hitting more than this share of the probes is refused
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


class ShopSettingsError(ValueError):
    """A shop setting was refused; the message (Chinese, then English) names the field and value."""

    def __init__(self, zh: str, en: str, *, field: str = "", value: object = None, origin: str = "") -> None:
        self.zh, self.en, self.field, self.value, self.origin = zh, en, field, value, origin
        where = f"{origin}: " if origin else ""
        name = f"{field}" + (f" = {value!r}" if value is not None else "") if field else ""
        head = f"{where}{name}: " if name else where
        super().__init__(f"{head}{zh} / {en}")


def _is_common_char(ch: str) -> bool:
    """ASCII letters/digits and the 3,755 everyday hanzi (GB2312 level 1)."""
    if ch in _ASCII_ALNUM:
        return True
    try:
        code = ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(code) == 2 and 0xB0A1 <= int.from_bytes(code, "big") <= 0xD7FE


_COMMON_CHARS: list[str] | None = None
_PROBE_VIEWS: list[str] | None = None


def _common_chars() -> list[str]:
    global _COMMON_CHARS
    if _COMMON_CHARS is None:
        level1 = [bytes([hi, lo]).decode("gb2312") for hi in range(0xB0, 0xD8) for lo in range(0xA1, 0xFF)
                  if not (hi == 0xD7 and lo > 0xF9)]
        _COMMON_CHARS = sorted(_ASCII_ALNUM) + level1
    return _COMMON_CHARS


def _probe_views() -> list[str]:
    global _PROBE_VIEWS
    if _PROBE_VIEWS is None:
        tables = shared_tables()
        _PROBE_VIEWS = [keyword_view(p, tables) for p in _PROBES]
    return _PROBE_VIEWS


def normalise(text: str) -> str:
    """The keyword view of a word or phrase: what the engine matches messages on."""
    return keyword_view(text, shared_tables())


@lru_cache(maxsize=65536)
def _compile_regex(pattern: str) -> re.Pattern[str]:
    """Compile a shop regex and refuse one that matches nothing specific; ValueError says why."""
    if len(pattern) > MAX_REGEX_CHARS:
        raise ValueError(f"正则过长（最多 {MAX_REGEX_CHARS} 个字符）/ regex longer than {MAX_REGEX_CHARS} characters")
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"正则无法编译：{exc} / regex does not compile: {exc}") from None
    if compiled.search("") is not None:
        raise ValueError("正则可匹配空字符串，会命中所有消息 / regex matches the empty string, so every message")
    if any(compiled.fullmatch(ch) for ch in _common_chars()):
        raise ValueError(
            "正则可匹配单个常用字，几乎会命中所有消息 / regex matches a single common character, so nearly every message"
        )
    hits = sum(1 for p in _probe_views() if compiled.search(p))
    if hits > _BROAD_SHARE * len(_PROBES):
        raise ValueError(
            f"正则命中 {hits}/{len(_PROBES)} 条普通客服消息，范围过宽 / regex matches {hits} of {len(_PROBES)} "
            "ordinary messages: too broad"
        )
    return compiled


@lru_cache(maxsize=65536)
def _check_word(text: str) -> str:
    """A literal shop word's normalised form, or ValueError if it would match (nearly) everything."""
    if len(text) > MAX_WORD_CHARS:
        raise ValueError(f"词过长（最多 {MAX_WORD_CHARS} 个字符）/ word longer than {MAX_WORD_CHARS} characters")
    norm = normalise(text)
    if not norm:
        raise ValueError("规范化后为空（只有空格、标点或符号）/ normalises to nothing (only spaces, punctuation, symbols)")
    if len(norm) == 1 and _is_common_char(norm):
        raise ValueError(
            f"规范化后只剩一个常用字 {norm!r}，几乎会命中所有消息 / normalises to the single common character "
            f"{norm!r}, so it would match nearly every message"
        )
    hits = sum(1 for p in _probe_views() if norm in p)
    if hits > _BROAD_SHARE * len(_PROBES):
        raise ValueError(
            f"命中 {hits}/{len(_PROBES)} 条普通客服消息，范围过宽 / matches {hits} of {len(_PROBES)} ordinary "
            "messages: too broad"
        )
    return norm


class ShopWord(BaseModel):
    """One word (or regex) the shop bans, and what a finding for it says."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1, description="the word, or a regex run on the normalised view if regex")
    regex: bool = False
    severity: Severity = Severity.major
    category: Category = Category.wording
    title: str = Field(default="店铺禁用词", min_length=1)
    suggestion: str = Field(default="该词为本店禁用词，请换一种说法", min_length=1)
    penalty: str = Field(default="店铺内部规定：客服禁用（店铺自定义，非平台处罚）", min_length=1)
    replacement: str | None = Field(default=None, description="text put in its place by rewrite; default: masked")
    tags: list[str] = Field(default_factory=list, description="labels shown on findings (竞品, 售后 …)")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            err = _error_from(exc, data)
            raise ShopSettingsError(err.zh, err.en, field=f"banned_words.{err.field}", value=err.value) from None

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        for tag in value:
            tag = tag.strip()
            if not tag or len(tag) > 32:
                raise ValueError("标签须为 1–32 个字符 / a tag must be 1-32 characters")
            if tag not in out:
                out.append(tag)
        return out

    @model_validator(mode="after")
    def _matchable(self) -> ShopWord:
        if self.regex:
            _compile_regex(self.text)
        else:
            _check_word(self.text)
        return self

    @property
    def key(self) -> tuple[bool, str]:
        """Identity of the word: two spellings that normalise alike are the same word."""
        return (True, self.text) if self.regex else (False, normalise(self.text))


def _word_key(item: str | ShopWord) -> tuple[bool, str]:
    if isinstance(item, ShopWord):
        return item.key
    return False, normalise(item)


class ShopSettings(BaseModel):
    """One shop's settings on one platform; serialisable to and loadable from YAML or JSON."""

    model_config = ConfigDict(extra="forbid")

    shop_id: str = Field(description="letters, digits, _ . - (used in rule ids: shop.<shop_id>.word)")
    platform: str
    name: str = Field(default="", description="display name (may be Chinese)")
    mask_char: str = Field(default="*", description="character rewrite() masks with")
    banned_words: list[ShopWord] = Field(default_factory=list)
    allowed_phrases: list[str] = Field(default_factory=list, description="a finding lying inside one is excused")
    disabled_rules: list[str] = Field(default_factory=list)
    severity_overrides: dict[str, Severity] = Field(default_factory=dict)
    rule_exceptions: dict[str, list[str]] = Field(default_factory=dict, description="rule id -> excused phrases")
    normalization: Normalization = Field(
        default_factory=Normalization, description="normalisation steps on (true) or off (false); all on by default"
    )

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _error_from(exc, data) from None

    @field_validator("shop_id")
    @classmethod
    def _shop_id(cls, value: str) -> str:
        if not SHOP_ID.match(value):
            raise ValueError("店铺编号只能含字母、数字、_ . -（最多 64 个字符）/ shop_id: letters, digits, _ . - (≤ 64)")
        return value

    @field_validator("platform")
    @classmethod
    def _platform(cls, value: str) -> str:
        try:
            return platform_code(value)
        except ValueError as exc:
            raise ValueError(f"未知平台 / {exc}") from None

    @field_validator("mask_char")
    @classmethod
    def _mask_char(cls, value: str) -> str:
        check_mask_char(value)  # rewrite's own rule: one symbol the checker does not read as text
        return value

    @field_validator("allowed_phrases")
    @classmethod
    def _phrases(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_PHRASES:
            raise ValueError(f"允许短语过多（最多 {MAX_PHRASES}）/ more than {MAX_PHRASES} allowed phrases")
        return _checked_phrases(value)

    @field_validator("rule_exceptions")
    @classmethod
    def _exceptions(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return {rule: _checked_phrases(phrases) for rule, phrases in value.items()}

    @model_validator(mode="after")
    def _unique_words(self) -> ShopSettings:
        if len(self.banned_words) > MAX_WORDS:
            raise ValueError(f"禁用词过多（最多 {MAX_WORDS}）/ more than {MAX_WORDS} banned words")
        seen: dict[tuple[bool, str], str] = {}
        for w in self.banned_words:
            if w.key in seen:
                raise ValueError(
                    f"禁用词重复：{w.text!r} 与 {seen[w.key]!r} 规范化后相同 / duplicate banned word {w.text!r} "
                    f"(same as {seen[w.key]!r} once normalised)"
                )
            seen[w.key] = w.text
        return self

    # ------------------------------------------------------------------ files
    @classmethod
    def from_file(cls, path: Path | str) -> ShopSettings:
        """Load settings from YAML (.yaml/.yml) or JSON (.json); errors name the file and field."""
        path = Path(path)
        try:
            content = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ShopSettingsError("无法读取店铺设置文件", f"cannot read shop settings: {exc}", origin=str(path)) from exc
        try:
            raw = json.loads(content) if path.suffix.lower() == ".json" else yaml.safe_load(content)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            detail = " ".join(str(exc).split())
            raise ShopSettingsError("文件格式错误", f"not valid YAML/JSON: {detail}", origin=str(path)) from exc
        if not isinstance(raw, dict):
            raise ShopSettingsError(
                "店铺设置须为映射（shop_id、platform …）", "shop settings must be a mapping", origin=str(path)
            )
        return parse_settings(raw, origin=str(path))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json", exclude_defaults=False), allow_unicode=True, sort_keys=False)

    def save(self, path: Path | str) -> None:
        path = Path(path)
        text = self.model_dump_json(indent=2) if path.suffix.lower() == ".json" else self.to_yaml()
        path.write_text(text, encoding="utf-8")


def _checked_phrases(phrases: Iterable[str]) -> list[str]:
    out: list[str] = []
    for phrase in phrases:
        if not isinstance(phrase, str) or not normalise(phrase):
            raise ValueError(f"短语 {phrase!r} 规范化后为空 / phrase {phrase!r} normalises to nothing")
        if len(phrase) > MAX_WORD_CHARS:
            raise ValueError(f"短语过长（最多 {MAX_WORD_CHARS} 个字符）/ phrase longer than {MAX_WORD_CHARS} characters")
        if phrase not in out:
            out.append(phrase)
    return out


def _error_from(exc: ValidationError, raw: Mapping[str, Any] | None, origin: str = "") -> ShopSettingsError:
    """The first validation error as a ShopSettingsError naming the field (and value)."""
    err = exc.errors()[0]
    loc = [str(x) for x in err["loc"]]
    field_name = loc[0] if loc else ""
    for part in loc[1:]:
        field_name += f"[{part}]" if part.isdigit() else f".{part}"
    value = err.get("input")
    if isinstance(value, dict) and "text" in value:
        value = value["text"]
    if isinstance(value, (dict, list)):
        value = None
    msg = err["msg"].removeprefix("Value error, ")
    zh, sep, en = msg.partition("/ ")
    zh = zh.strip()
    if not sep:
        zh, en = "店铺设置无效", msg
    more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return ShopSettingsError(zh, en + more, field=field_name, value=value, origin=origin)


def parse_settings(raw: Mapping[str, Any] | ShopSettings, *, origin: str = "") -> ShopSettings:
    """Validate settings (a mapping or a model to re-check); ShopSettingsError on any problem."""
    data = raw.model_dump() if isinstance(raw, ShopSettings) else raw
    try:
        return ShopSettings.model_validate(data)
    except ValidationError as exc:
        raise _error_from(exc, data, origin) from None


# ---------------------------------------------------------------------------- overlay
@dataclass(frozen=True, slots=True)
class _WordMeta:
    """What a finding takes from a word: the word itself, its (shared) penalty, its Latin edges."""

    word: ShopWord
    penalty: Penalty
    latin_edges: tuple[bool, bool]


@lru_cache(maxsize=1024)
def _penalty(text: str) -> Penalty:
    """Penalties are shared between words (most keep the default text): one object per text."""
    return Penalty(text=text, basis="shop_policy")


@dataclass(frozen=True)
class _Overlay:
    """One compiled, immutable revision of a shop's settings."""

    settings: ShopSettings
    revision: int
    label: str
    rule_id: str
    source_file: str
    disabled: frozenset[str]
    severity: Mapping[str, Severity]
    words: tuple[_WordMeta, ...]
    word_ac: Any  # ahocorasick_rs.AhoCorasick | None
    word_payloads: tuple[tuple[int, ...], ...]
    regexes: tuple[tuple[re.Pattern[str], int], ...]  # run on every message (no literal to gate them)
    gate_ac: Any  # literals every match of a gated regex contains -> the regexes to run
    gated: tuple[tuple[tuple[re.Pattern[str], int], ...], ...]
    excuse_ac: Any
    excuse_payloads: tuple[frozenset[str] | None, ...]  # None: every rule (an allowed phrase)
    compile_ms: float = field(default=0.0, compare=False)
    checker: Any = field(default=None, compare=False)  # the platform checker this revision runs on

    @property
    def has_words(self) -> bool:
        return self.word_ac is not None or bool(self.regexes) or self.gate_ac is not None

    @property
    def touches_findings(self) -> bool:
        return bool(self.disabled or self.severity or self.excuse_ac is not None)


def _known_rules(checker: Checker) -> frozenset[str]:
    return frozenset(cr.id for cr in checker.rules)


def _compile(settings: ShopSettings, checker: Checker, revision: int) -> _Overlay:
    import time

    t0 = time.perf_counter()

    def as_checked(text: str) -> str:  # normalised as this checker's switches say
        return keyword_view(text, checker.tables)

    known = _known_rules(checker)
    shop_rule = f"shop.{settings.shop_id}.word"
    for fld, ids in (
        ("disabled_rules", settings.disabled_rules),
        ("severity_overrides", settings.severity_overrides),
        ("rule_exceptions", settings.rule_exceptions),
    ):
        for rid in ids:
            if rid not in known and not (fld == "rule_exceptions" and rid == shop_rule):
                raise ShopSettingsError(
                    f"平台 {checker.platform} 没有规则 {rid!r}（可用 `kefuguard rules list -p {checker.platform}` 查看）",
                    f"no rule {rid!r} applies on platform {checker.platform}",
                    field=f"{fld}.{rid}",
                )
    metas: list[_WordMeta] = []
    literal: dict[str, list[int]] = {}
    regexes: list[tuple[re.Pattern[str], int]] = []
    gates: dict[str, list[tuple[re.Pattern[str], int]]] = {}
    for i, w in enumerate(settings.banned_words):
        norm = "" if w.regex else as_checked(w.text)
        left, right = norm[:1], norm[-1:]
        edges = (left.isascii() and left.isalpha(), right.isascii() and right.isalpha())
        metas.append(_WordMeta(w, _penalty(w.penalty), _NO_EDGES if edges == _NO_EDGES else edges))
        if w.regex:
            factors = _gate_factors(w.text)
            if factors:
                for f in factors:
                    gates.setdefault(f, []).append((_compile_regex(w.text), i))
            else:
                regexes.append((_compile_regex(w.text), i))
        else:
            literal.setdefault(norm, []).append(i)
    patterns = list(literal)
    word_ac = ahocorasick_rs.AhoCorasick(patterns, implementation=_SMALL) if patterns else None
    excuses: dict[str, set[str] | None] = {}
    for phrase in settings.allowed_phrases:
        excuses[as_checked(phrase)] = None
    for rid, phrases in settings.rule_exceptions.items():
        for phrase in phrases:
            norm = as_checked(phrase)
            if norm in excuses and excuses[norm] is None:
                continue
            excuses.setdefault(norm, set()).add(rid)  # type: ignore[union-attr]
    excuse_patterns = list(excuses)
    return _Overlay(
        settings=settings,
        revision=revision,
        label=f"shop:{settings.shop_id}@{revision}",
        rule_id=shop_rule,
        source_file=f"shop-settings/{settings.shop_id}",
        disabled=frozenset(settings.disabled_rules),
        severity=dict(settings.severity_overrides),
        words=tuple(metas),
        word_ac=word_ac,
        word_payloads=tuple(tuple(literal[p]) for p in patterns),
        regexes=tuple(regexes),
        gate_ac=ahocorasick_rs.AhoCorasick(list(gates), implementation=_SMALL) if gates else None,
        gated=tuple(tuple(v) for v in gates.values()),
        excuse_ac=ahocorasick_rs.AhoCorasick(excuse_patterns, implementation=_SMALL) if excuse_patterns else None,
        excuse_payloads=tuple(None if excuses[p] is None else frozenset(excuses[p]) for p in excuse_patterns),
        compile_ms=(time.perf_counter() - t0) * 1000,
        checker=checker,
    )


@lru_cache(maxsize=65536)
def _gate_factors(pattern: str) -> frozenset[str] | None:
    """Literals (as they appear in the lower-cased keyword view) of which every match of the regex
    contains one, so it runs only where one occurs; None when the regex is too open to tell."""
    factors = required_factors(pattern)
    if not factors or len(factors) > 200:
        return None
    lowered = {f.lower() for f in factors}
    # under IGNORECASE a match equals a factor up to case: exact for ASCII and caseless characters
    if any(not (f.isascii() or f.lower() == f.upper()) for f in factors):
        return None
    return frozenset(lowered)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    spans.sort()
    out = [spans[0]]
    for s, e in spans[1:]:
        if s < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _word_spans(overlay: _Overlay, views: Views) -> dict[int, list[tuple[int, int]]]:
    """word index -> keyword-view spans where the shop's words occur (plain and doubled-char views)."""
    kw = views.keyword
    found: dict[int, list[tuple[int, int]]] = {}
    if overlay.word_ac is not None:
        payloads = overlay.word_payloads
        for k, s, e in overlay.word_ac.find_matches_as_indexes(kw, overlapping=True):
            for i in payloads[k]:
                found.setdefault(i, []).append((s, e))
        if _REPEATED.search(kw):
            # 竞竞品品店 → 竞品店: hits whose repetition lies inside the word (as the engine does)
            index = views.collapsed_index
            for k, s, e in overlay.word_ac.find_matches_as_indexes(views.collapsed, overlapping=True):
                start, end = index[s + 1] - 1, index[e - 1] + 1
                if end - start > e - s:
                    for i in payloads[k]:
                        found.setdefault(i, []).append((start, end))
    runs = overlay.regexes
    if overlay.gate_ac is not None:
        hits = overlay.gate_ac.find_matches_as_indexes(kw, overlapping=True)
        if hits:
            gated = overlay.gated
            runs = (*runs, *{pair for k, _, _ in hits for pair in gated[k]})
    for regex, i in runs:
        for m in regex.finditer(kw):
            if m.end() > m.start():
                found.setdefault(i, []).append(m.span())
    return found


def _excused_spans(overlay: _Overlay, views: Views) -> list[tuple[int, int, frozenset[str] | None]]:
    if overlay.excuse_ac is None:
        return []
    payloads = overlay.excuse_payloads
    return [
        (*views.span(s, e), payloads[k])
        for k, s, e in overlay.excuse_ac.find_matches_as_indexes(views.keyword, overlapping=True)
    ]


def _apply(overlay: _Overlay, checker: Checker, text: str, base: CheckResult) -> CheckResult:
    """The base result with the overlay applied, in place: the checker builds every result with
    lists of its own (nothing is shared between calls or with the checker)."""
    views = Views(text, checker.tables)
    words = _word_spans(overlay, views) if overlay.has_words else {}
    if not words and not (base.findings and overlay.touches_findings):
        base.packs.append(overlay.label)  # the checker gives every result its own lists
        return base
    findings: list[Finding] = []
    for f in base.findings:
        if f.rule_id in overlay.disabled:
            continue
        new = overlay.severity.get(f.rule_id)
        if new is not None:
            f = f.model_copy(update={"severity": new.lowered() if f.refusal else new})
        findings.append(f)
    letters = checker.tables.latin_letter  # every character the keyword view reads as a Latin letter
    for i, spans in words.items():
        meta = overlay.words[i]
        word = meta.word
        left, right = meta.latin_edges
        for s, e in _merge(spans) if len(spans) > 1 else spans:
            o_s, o_e = views.span(s, e)
            # a Latin word (tb, vx) must not sit inside a longer Latin word, in any width (ｔｂ)
            if (left and o_s > 0 and text[o_s - 1] in letters) or (right and o_e < len(text) and text[o_e] in letters):
                continue
            matched = text[o_s:o_e]
            findings.append(
                Finding.model_construct(
                    rule_id=overlay.rule_id,
                    category=word.category,
                    severity=word.severity,
                    title=word.title,
                    start=o_s,
                    end=o_e,
                    matched=matched,
                    penalty=meta.penalty,
                    suggestion=word.suggestion,
                    source=Source.model_construct(file=overlay.source_file, quote=f"店铺禁用词：{word.text}"),
                    pack=overlay.label,
                    refusal=False,
                    detector=None,
                    replacement=word.replacement if word.replacement is not None else _mask(
                        matched, overlay.settings.mask_char
                    ),
                    tags=list(word.tags),
                )
            )
    if findings:
        excused = _excused_spans(overlay, views)
        if excused:
            findings = [
                f for f in findings
                if not any(a <= f.start and f.end <= b and (rules is None or f.rule_id in rules) for a, b, rules in excused)
            ]
        findings.sort(key=lambda f: (f.start, -f.severity.rank, f.rule_id))
    base.findings[:] = findings
    base.packs.append(overlay.label)
    return base


def _mask(matched: str, mask_char: str) -> str:
    """Mask every character the keyword view keeps (spaces and punctuation stay as they are)."""
    table = shared_tables().keyword_list
    return "".join(mask_char if ch.translate(table) else ch for ch in matched)


# ---------------------------------------------------------------------------- checker
@dataclass(frozen=True)
class Change:
    """One entry of a shop's change log."""

    revision: int
    at: dt.datetime
    by: str
    action: str
    detail: str


class _Pinned:
    """A checker view fixed to one overlay revision: rewrite() checks twice and must see one revision."""

    def __init__(self, shop: ShopChecker, overlay: _Overlay) -> None:
        self._shop, self._overlay = shop, overlay
        self.platform = shop.platform

    def check(self, text: str) -> CheckResult:
        return self._shop._check_with(self._overlay, text)


class ShopChecker:
    """The shared platform checker plus one shop's overlay; `check()` is safe from any thread.

    Mutations validate, compile a new overlay and swap it in atomically; a refused change leaves
    the settings as they were and raises ShopSettingsError.
    """

    def __init__(self, settings: ShopSettings | Mapping[str, Any], checker: Checker | None = None, *, by: str = "init"):
        settings = parse_settings(settings)  # validated, and a copy the caller cannot change under us
        if checker is not None and checker.platform != settings.platform:
            raise ShopSettingsError(
                f"店铺平台 {settings.platform} 与检查器平台 {checker.platform} 不一致",
                f"shop platform {settings.platform} differs from the checker's {checker.platform}",
                field="platform",
                value=settings.platform,
            )
        if checker is not None and checker.normalization != settings.normalization:
            checker = None  # the shop switched normalisation steps: the platform checker built that way
        self._given = checker
        base = checker if checker is not None else get_checker(settings.platform, settings.normalization)
        self._lock = threading.Lock()
        self._overlay = _compile(settings, base, 1)
        self._history: deque[Change] = deque([Change(1, _now(), by, "load", f"{len(settings.banned_words)} words")],
                                             maxlen=HISTORY_LIMIT)

    @classmethod
    def from_file(cls, path: Path | str, checker: Checker | None = None) -> ShopChecker:
        settings = ShopSettings.from_file(path)
        try:
            return cls(settings, checker, by=f"file:{path}")
        except ShopSettingsError as exc:
            raise ShopSettingsError(exc.zh, exc.en, field=exc.field, value=exc.value, origin=str(path)) from None

    # ------------------------------------------------------------------ reading
    @property
    def checker(self) -> Checker:
        """The platform checker the current revision runs on (shared; per normalisation switches)."""
        return self._overlay.checker

    @property
    def platform(self) -> str:
        return self._overlay.settings.platform

    def _base_for(self, settings: ShopSettings, current: _Overlay) -> Checker:
        """The platform checker for new settings: the current one unless the normalisation
        switches changed (a checker with other switches is built once per process, ~1 s)."""
        if settings.normalization == current.checker.normalization:
            return current.checker
        given = self._given
        if given is not None and given.normalization == settings.normalization:
            return given
        return get_checker(settings.platform, settings.normalization)

    @property
    def shop_id(self) -> str:
        return self._overlay.settings.shop_id

    @property
    def revision(self) -> int:
        return self._overlay.revision

    @property
    def rule_id(self) -> str:
        """The rule id the shop's own words are reported under."""
        return self._overlay.rule_id

    @property
    def settings(self) -> ShopSettings:
        """A copy of the current settings (editing it changes nothing; use the methods or replace())."""
        return self._overlay.settings.model_copy(deep=True)

    @property
    def history(self) -> list[Change]:
        """The change log, oldest first (the latest HISTORY_LIMIT changes)."""
        with self._lock:
            return list(self._history)

    @property
    def last_compile_ms(self) -> float:
        return self._overlay.compile_ms

    def check(self, text: str) -> CheckResult:
        """Check one message: the platform's rules with the shop's overlay applied."""
        return self._check_with(self._overlay, text)  # one read of the reference: one revision

    def check_many(self, texts: Iterable[str]) -> list[CheckResult]:
        overlay = self._overlay
        return [self._check_with(overlay, t) for t in texts]

    def _check_with(self, overlay: _Overlay, text: str) -> CheckResult:
        checker = overlay.checker
        return _apply(overlay, checker, text, checker.check(text))

    def rewrite(self, text: str) -> RewriteResult:
        """A compliant version of `text`: shop words masked with the shop's mask_char (or their
        replacement), personal data masked, flagged phrases replaced."""
        from kefuguard.rewrite import rewrite

        overlay = self._overlay
        pinned: Any = _Pinned(self, overlay)
        return rewrite(text, self.platform, checker=pinned, mask_char=overlay.settings.mask_char)

    # ------------------------------------------------------------------ changing
    def _change(self, action: str, detail: str, by: str, edit) -> int:
        with self._lock:
            current = self._overlay
            data = current.settings.model_dump()
            edit(data)
            settings = parse_settings(data)
            overlay = _compile(settings, self._base_for(settings, current), current.revision + 1)
            self._overlay = overlay  # the swap: one reference assignment
            self._history.append(Change(overlay.revision, _now(), by, action, detail))
            return overlay.revision

    def replace(self, settings: ShopSettings | Mapping[str, Any], *, by: str = "api") -> int:
        """Swap in whole new settings (e.g. a reloaded file); same shop and platform."""
        new = parse_settings(settings)
        cur = self._overlay.settings
        if (new.shop_id, new.platform) != (cur.shop_id, cur.platform):
            raise ShopSettingsError(
                "店铺编号和平台不能更改", "shop_id and platform cannot change", field="shop_id", value=new.shop_id
            )

        def edit(data: dict) -> None:
            data.clear()
            data.update(new.model_dump())

        return self._change("replace", f"{len(new.banned_words)} words", by, edit)

    def add_words(self, words: Iterable[str | ShopWord | Mapping[str, Any]], *, by: str = "api") -> int:
        """Ban words (a plain string is a literal word with the defaults); a word already banned
        (same normalised spelling, or same regex) is replaced by the new entry."""
        items = []
        for i, w in enumerate(words):
            if isinstance(w, ShopWord):
                items.append(w)
                continue
            raw = {"text": w} if isinstance(w, str) else dict(w)
            try:
                items.append(ShopWord.model_validate(raw))
            except ValidationError as exc:
                err = _error_from(exc, raw)
                raise ShopSettingsError(err.zh, err.en, field=f"banned_words[+{i}]", value=raw.get("text")) from None
        if not items:
            raise ShopSettingsError("没有要添加的词", "no words given", field="banned_words")

        def edit(data: dict) -> None:
            keys = {w.key: w for w in items}
            kept = [w for w in data["banned_words"] if ShopWord.model_validate(w).key not in keys]
            data["banned_words"] = kept + [w.model_dump() for w in keys.values()]

        return self._change("add_words", ", ".join(w.text for w in items), by, edit)

    def remove_words(self, words: Iterable[str | ShopWord], *, by: str = "api") -> int:
        """Unban words, named by any spelling that normalises alike (a regex by its exact text)."""
        words = list(words)
        if not words:
            raise ShopSettingsError("没有要删除的词", "no words given", field="banned_words")

        def key_of(word: str | ShopWord, present: set[tuple[bool, str]]) -> tuple[bool, str]:
            if isinstance(word, str) and (True, word) in present:
                return True, word  # a regex, named by its text
            return _word_key(word)

        def edit(data: dict) -> None:
            present = {ShopWord.model_validate(w).key for w in data["banned_words"]}
            keys = set()
            for word in words:
                key = key_of(word, present)
                if key not in present:
                    raise ShopSettingsError("店铺没有这个禁用词", "not a banned word of this shop",
                                            field="banned_words", value=word if isinstance(word, str) else word.text)
                keys.add(key)
            data["banned_words"] = [w for w in data["banned_words"] if ShopWord.model_validate(w).key not in keys]

        return self._change("remove_words", ", ".join(w if isinstance(w, str) else w.text for w in words), by, edit)

    def allow_phrases(self, phrases: Iterable[str], *, by: str = "api") -> int:
        """Excuse every finding lying inside one of these phrases (the shop's name, a product …)."""
        phrases = list(phrases)

        def edit(data: dict) -> None:
            data["allowed_phrases"] = [*data["allowed_phrases"], *phrases]

        return self._change("allow_phrases", ", ".join(phrases), by, edit)

    def disallow_phrases(self, phrases: Iterable[str], *, by: str = "api") -> int:
        phrases = list(phrases)

        def edit(data: dict) -> None:
            current = {normalise(p): p for p in data["allowed_phrases"]}
            gone = {normalise(p) for p in phrases}
            missing = [p for p in phrases if normalise(p) not in current]
            if missing:
                raise ShopSettingsError("不是本店的允许短语", "not an allowed phrase of this shop",
                                        field="allowed_phrases", value=missing[0])
            data["allowed_phrases"] = [p for p in data["allowed_phrases"] if normalise(p) not in gone]

        return self._change("disallow_phrases", ", ".join(phrases), by, edit)

    def disable_rule(self, rule_id: str, *, by: str = "api") -> int:
        def edit(data: dict) -> None:
            if rule_id not in data["disabled_rules"]:
                data["disabled_rules"].append(rule_id)

        return self._change("disable_rule", rule_id, by, edit)

    def enable_rule(self, rule_id: str, *, by: str = "api") -> int:
        self._require_rule(rule_id, "disabled_rules")

        def edit(data: dict) -> None:
            data["disabled_rules"] = [r for r in data["disabled_rules"] if r != rule_id]

        return self._change("enable_rule", rule_id, by, edit)

    def set_severity(self, rule_id: str, severity: Severity | str | None, *, by: str = "api") -> int:
        """Report a built-in rule at another severity (None: back to the platform's own)."""
        if severity is not None:
            try:
                severity = Severity(severity)
            except ValueError:
                raise ShopSettingsError(
                    f"未知严重度，可选 {', '.join(s.value for s in Severity)}",
                    f"unknown severity; use one of {', '.join(s.value for s in Severity)}",
                    field=f"severity_overrides.{rule_id}",
                    value=severity,
                ) from None
        self._require_rule(rule_id, f"severity_overrides.{rule_id}")

        def edit(data: dict) -> None:
            if severity is None:
                data["severity_overrides"].pop(rule_id, None)
            else:
                data["severity_overrides"][rule_id] = severity

        return self._change("set_severity", f"{rule_id}={severity}", by, edit)

    def add_exceptions(self, rule_id: str, phrases: Iterable[str], *, by: str = "api") -> int:
        """Excuse findings of one rule lying inside these phrases."""
        phrases = list(phrases)

        def edit(data: dict) -> None:
            data["rule_exceptions"][rule_id] = [*data["rule_exceptions"].get(rule_id, []), *phrases]

        return self._change("add_exceptions", f"{rule_id}: {', '.join(phrases)}", by, edit)

    def remove_exceptions(self, rule_id: str, phrases: Iterable[str] | None = None, *, by: str = "api") -> int:
        """Drop some (or, with None, all) of one rule's shop exceptions."""
        gone = None if phrases is None else {normalise(p) for p in phrases}

        def edit(data: dict) -> None:
            if rule_id not in data["rule_exceptions"]:
                raise ShopSettingsError("该规则没有店铺例外", "the rule has no shop exceptions",
                                        field="rule_exceptions", value=rule_id)
            kept = [] if gone is None else [p for p in data["rule_exceptions"][rule_id] if normalise(p) not in gone]
            if kept:
                data["rule_exceptions"][rule_id] = kept
            else:
                del data["rule_exceptions"][rule_id]

        return self._change("remove_exceptions", rule_id, by, edit)

    def set_mask_char(self, mask_char: str, *, by: str = "api") -> int:
        def edit(data: dict) -> None:
            data["mask_char"] = mask_char

        return self._change("set_mask_char", mask_char, by, edit)

    def _require_rule(self, rule_id: str, field_name: str) -> None:
        if rule_id not in _known_rules(self.checker):
            raise ShopSettingsError(
                f"平台 {self.platform} 没有规则 {rule_id!r}",
                f"no rule {rule_id!r} applies on platform {self.platform}",
                field=field_name,
                value=rule_id,
            )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
