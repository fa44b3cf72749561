"""The message checker: rule packs + normaliser + detectors compiled into one reusable object.

Build a `Checker` once per platform (it compiles every keyword, alias, exception, anchor and
regex-derived literal into Aho-Corasick automata), then call `check(text)` as often as you like,
from any thread: checking touches no shared mutable state. Clean messages — most of them — cost
one translate, one scan of the small screening automaton and two character-class searches;
the overlapping scan, regexes, validators, offsets and refusal context run only where something
was hit.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from pathlib import Path

import ahocorasick_rs
from pydantic import BaseModel

from kefuguard.detectors import DetectorContext, find_emails, find_numbers, find_urls, find_wechat_ids
from kefuguard.detectors.base import Detection, words_regex
from kefuguard.detectors.links import find_written_links, might_hold_written_link
from kefuguard.detectors.numbers import (
    find_split_phones,
    has_plausible_run,
    separated_before_from_offsets,
    split_phone_gate,
    wechat_prefix_pattern,
)
from kefuguard.findings import CheckResult, Finding
from kefuguard.normalize import (
    DEFAULT_NORMALIZATION,
    Normalization,
    Tables,
    Views,
    as_list_table,
    beyond_list_table,
    build_digit_table,
    build_tables,
    char_class,
    finish_keyword_view,
    latin_letters,
    plus_pattern,
    sound_alike_spellings,
)
from kefuguard.regex_prefilter import min_digit_run, prefiltered, required_factors, weakest
from kefuguard.rules.engine_data import EngineData, load_engine_data, read_keyword_file
from kefuguard.rules.loader import check_platform, load_packs
from kefuguard.rules.model import Category, Penalty, Rule, RulePack, Severity, Source
from kefuguard.segmentation import is_whole_words

_KEYWORD, _EXCEPTION, _ANCHOR, _FACTOR = 0, 1, 2, 3
_NONE: frozenset = frozenset()
_NO_POSITIONS: frozenset = frozenset()
_WHOLE_WORDS = ("words",)  # verifier: the hit must be whole words in a segmentation
_SCAN = ("scan",)  # screen entry: a regex gate that could hide a keyword (see _gates_match)
_DIGIT_EDGES = ("digits",)  # verifier: a pattern with digits at an edge must not continue a number
_NO_LATIN_EDGES = (False, False)  # shared, so the hot loop tests identity
_CLAUSE_TAIL = re.compile("[^。！？!?；;\n，,~～]*")  # matched on a reversed window: the clause's tail
_REFUSAL_LOOKBACK = 16
_NUMBER_DETECTORS = frozenset({"phone", "qq", "bank_card", "id_card"})
_LATIN_PAIR = re.compile(r"[a-z][a-z]")  # a domain needs letters: most messages have none
_URL_GATE = re.compile(r"[.。．]\s*[a-zA-Zａ-ｚＡ-Ｚ]{2}|[wWｗＷ]{3}|[hHｈＨ][tTｔＴ]{2}[pPｐＰ]")  # no IGNORECASE: 20% faster


_TABLES: dict[tuple[bool, ...], Tables] = {}  # per set of table switches, once built or loaded
_TABLES_LOCK = threading.Lock()


def shared_tables(normalization: Normalization = DEFAULT_NORMALIZATION) -> Tables:
    """Translate tables are the same for every platform: build them once per process (per set
    of normalisation switches)."""
    key = normalization.table_key
    tables = _TABLES.get(key)
    if tables is None:
        with _TABLES_LOCK:
            tables = _TABLES.get(key)
            if tables is None:
                tables = _TABLES[key] = build_shared_tables(normalization)
    return tables


def adopt_shared_tables(tables: Tables) -> Tables:
    """Use `tables` (the default ones, loaded from a cache) as the process's tables unless some
    are already in use; returns the tables in use."""
    with _TABLES_LOCK:
        return _TABLES.setdefault(DEFAULT_NORMALIZATION.table_key, tables)


def build_shared_tables(normalization: Normalization = DEFAULT_NORMALIZATION) -> Tables:
    """Build the translate tables from the Unicode database, OpenCC and engine.yaml (~0.3 s)."""
    data = load_engine_data()
    keyword, link = build_tables(normalization)
    digits = build_digit_table(data.numerals)
    numeral_chars = {chr(c) for c in digits}
    return Tables(
        keyword,
        link,
        digits,
        keyword_list=as_list_table(keyword),
        keyword_beyond=beyond_list_table(keyword),
        # number detectors only look at runs of 5+ digits/numerals (0-9 spelled out: a \d in the
        # class makes re look every character up in the Unicode database, twice as slow)
        numeral_runs=re.compile(char_class(numeral_chars | set("0123456789")) + "{5,}"),
        latin_letter=latin_letters(keyword),
        plus=plus_pattern(keyword),
    )


@lru_cache(maxsize=1)
def shared_detector_context() -> DetectorContext:
    """engine.yaml's detector context words, normalised like messages (same for every platform)."""
    ctx = load_engine_data().detector_context
    table = shared_tables().keyword_list

    def norm(words: list[str]) -> tuple[str, ...]:
        return tuple(w.translate(table) for w in words)

    return DetectorContext(
        window=ctx.window,
        negative=norm(ctx.negative),
        qq=norm(ctx.qq),
        wechat=norm(ctx.wechat),
        bank=norm(ctx.bank),
        phone=norm(ctx.phone),
    )


@dataclass
class CompiledRule:
    """A rule as it applies on one platform (platform overrides merged in)."""

    rule: Rule
    pack_label: str
    severity: Severity
    title: str
    penalty: Penalty
    source: Source
    suggestion: str
    detectors: frozenset[str]

    @property
    def id(self) -> str:
        return self.rule.id


def _is_ascii_letter(ch: str) -> bool:
    return "a" <= ch <= "z" or "A" <= ch <= "Z"


@lru_cache(maxsize=64)
def _digit_run(n: int) -> re.Pattern[str]:
    """A search for n consecutive ASCII digits (the keyword view's digits are all ASCII)."""
    return re.compile(f"[0-9]{{{n}}}")


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


class Checker:
    """Checks agent messages against every rule that applies on one platform."""

    def __init__(
        self,
        platform: str,
        *,
        packs: Sequence[RulePack] | None = None,
        extra_pack_dirs: Sequence[Path | str] = (),
        normalization: Normalization | None = None,
    ) -> None:
        self.platform = check_platform(platform)
        self.packs = list(packs) if packs is not None else load_packs(extra_pack_dirs)
        self.data: EngineData = load_engine_data()
        self.normalization = normalization or DEFAULT_NORMALIZATION
        self.tables = shared_tables(self.normalization)
        self.rules: list[CompiledRule] = self._compile_rules()
        contributing = {cr.pack_label for cr in self.rules} | {
            p.label for p in self.packs if p.overrides and (self.platform in p.pack.platforms or "all" in p.pack.platforms)
        }
        self.pack_labels = [p.label for p in self.packs if p.label in contributing]
        self._compile_automaton()
        # what a finding takes from its rule, worked out once: its fixed fields, the severity and
        # its rank as reported plainly and when mentioned while refusing, and refusal awareness
        self._finding_meta = [
            (
                (cr.id, cr.rule.category, cr.title, cr.penalty, cr.suggestion, cr.source, cr.pack_label, cr.rule.replacement),
                (cr.severity, cr.severity.rank),
                (cr.severity.lowered(), cr.severity.lowered().rank),
                cr.rule.refusal_aware,
            )
            for cr in self.rules
        ]
        self._ctx = shared_detector_context()
        # a phone number split by words (前三位139，后面12345678) and links written out (abc点com)
        self._split_gate = split_phone_gate((chr(c) for c in self.tables.digits), self._ctx.phone)
        # …and it needs two groups of 3+ digits at most ten characters apart (a cheap second test)
        group = char_class({chr(c) for c in self.tables.digits} | set("0123456789")) + "{3,}"
        self._two_groups = re.compile(f"{group}.{{1,10}}?{group}")
        self._own_domains = tuple(self.data.platform_domains.get(self.platform, ()))
        wechat_prefixes = [self._norm(a) for a in ("微信", *self.data.aliases.get("微信", ()))]
        self._wechat_re = wechat_prefix_pattern([p for p in wechat_prefixes if p])
        negations = sorted({self._norm(n) for n in self.data.negations if self._norm(n)}, key=len, reverse=True)
        self._negation_re = re.compile("|".join(re.escape(n) for n in negations)) if negations else None
        self._detector_rules: dict[str, list[int]] = defaultdict(list)
        for i, cr in enumerate(self.rules):
            for name in cr.detectors:
                self._detector_rules[name].append(i)
        self._number_rules = bool(self._detector_rules.keys() & _NUMBER_DETECTORS)
        self._url_rules = "url" in self._detector_rules
        self._wechat_id_rules = "wechat_id" in self._detector_rules
        # per URL rule: the platform's own domains plus the rule's extra allowed domains
        self._url_allowed = {
            i: self._own_domains + tuple(d for ref in self.rules[i].rule.match.detectors for d in ref.allow_domains)
            for i in self._detector_rules.get("url", ())
        }
        self._email_rules = "email" in self._detector_rules
        self._phone_rules = "phone" in self._detector_rules
        self._written_rules = self._url_rules or self._email_rules
        self._keyword_list = self.tables.keyword_list
        self._latin_letter = self.tables.latin_letter
        self._plus = self.tables.plus
        self._numeral_runs = self.tables.numeral_runs
        self._beyond = bool(self.tables.keyword_beyond)  # characters past the list table need a second pass
        self._compile_screen()

    # ---------------------------------------------------------------- compile
    def _norm(self, text: str) -> str:
        return text.translate(self.tables.keyword)

    def _compile_rules(self) -> list[CompiledRule]:
        overrides = {}
        for pack in self.packs:
            applies = "all" in pack.pack.platforms or self.platform in pack.pack.platforms
            if applies:
                for ov in pack.overrides:
                    overrides[ov.rule] = ov
        known = {r.id for p in self.packs for r in p.rules}
        for rid in overrides:
            if rid not in known:
                raise ValueError(f"override for unknown rule {rid!r} on platform {self.platform}")
        compiled = []
        for pack in self.packs:
            for rule in pack.rules:
                if self.platform not in pack.platforms_of(rule):
                    continue
                ov = overrides.get(rule.id)
                compiled.append(
                    CompiledRule(
                        rule=rule,
                        pack_label=pack.label,
                        severity=(ov and ov.severity) or rule.severity,
                        title=(ov and ov.title) or rule.title,
                        penalty=(ov and ov.penalty) or rule.penalty,
                        source=(ov and ov.source) or rule.source,
                        suggestion=(ov and ov.suggestion) or rule.suggestion,
                        detectors=frozenset(d.name for d in rule.match.detectors),
                    )
                )
        return compiled

    def _own_names(self) -> list[str]:
        names = self.data.platform_names.get(self.platform, [])
        out = []
        for n in names:
            out.append(self._norm(n))
            out.extend(self._norm(a) for a in self.data.aliases.get(n, ()))
        return [n for n in out if n]

    def _expand(self, keyword: str) -> set[str]:
        """A keyword plus its evasive spellings, via the alias table, each also with its Chinese
        numerals written as digits or financial numerals (二维码 → 2维码, 贰维码)."""
        variants = {keyword}
        for term, aliases in self._norm_aliases.items():
            if term in keyword:
                for alias in aliases:
                    variants.add(keyword.replace(term, alias))
        numerals = self._keyword_numerals
        for variant in list(variants):
            if numerals.keys() & set(variant):
                options = [numerals.get(ch, (ch,)) for ch in variant]
                variants.update("".join(combo) for combo in itertools.islice(itertools.product(*options), 27))
        return variants

    def _pinyin_spellings(self, term: str) -> list[str]:
        """Spellings of `term` with some characters as their toneless pinyin or its first letter
        (w信, wei信, 支fu宝, zhi付宝); not every character by first letter alone (wx, zfb: too short
        to be safe unless engine.yaml lists them as aliases)."""
        from pypinyin import lazy_pinyin  # build time only: pypinyin's phrase tables take 0.1 s to import

        syllables = lazy_pinyin(term)
        if len(syllables) != len(term) or not all(s.isascii() and s.isalpha() for s in syllables):
            return []
        options = [(ch, syl, syl[0]) for ch, syl in zip(term, syllables, strict=True)]
        out = []
        for combo in itertools.product(range(3), repeat=len(term)):
            if all(c == 0 for c in combo) or all(c == 2 for c in combo):
                continue
            out.append("".join(opt[c] for opt, c in zip(options, combo, strict=True)))
        return out

    def _compile_automaton(self) -> None:
        switches = self.normalization
        self._norm_aliases = {
            self._norm(t): [a for a in (self._norm(x) for x in al) if len(a) >= 2]
            for t, al in self.data.aliases.items()
            if switches.aliases
        }
        for term in self.data.pinyin_terms if switches.pinyin else ():
            norm = self._norm(term)
            known = self._norm_aliases.setdefault(norm, [])
            known.extend(sp for sp in self._pinyin_spellings(norm) if sp not in known)
        self._keyword_numerals = {
            self._norm(k): (self._norm(k), *(self._norm(v) for v in vs))
            for k, vs in self.data.keyword_numerals.items()
            if switches.numerals
        }
        own = self._own_names()
        payloads: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        self._needs_factor: set[tuple[int, int]] = set()
        self._factor_screened: set[tuple[int, int]] = set()
        self._always_patterns: list[tuple[int, int]] = []
        for i, cr in enumerate(self.rules):
            words = list(cr.rule.match.keywords)
            for fname in cr.rule.match.keyword_files:
                words.extend(read_keyword_file(fname))
            diversion = cr.rule.category is Category.diversion
            for word in words:
                norm = self._norm(word)
                if not norm:
                    continue
                for variant in self._expand(norm):
                    if diversion and any(name in variant for name in own):
                        continue  # the checked platform's own name is not diversion
                    payloads[variant].append((_KEYWORD, i, 0))
            for exc in cr.rule.exceptions:
                norm = self._norm(exc)
                if norm:
                    for variant in self._expand(norm):
                        payloads[variant].append((_EXCEPTION, i, 0))
            for j, pat in enumerate(cr.rule.match.patterns):
                anchors = [a for a in (self._norm(x) for x in pat.anchors) if a]
                for anchor in anchors:
                    payloads[anchor].append((_ANCHOR, i, j))
                # literals every match must contain, derived from the regex: it runs only where
                # both a hand-written anchor and one of these occur (最 → 卖得最好, 卖得最火 …).
                # Whichever of the two is rarer is the gate the screening automaton looks for.
                factors = required_factors(pat.regex)
                if factors and weakest(factors) >= 1.5 and not factors <= set(anchors):
                    if anchors:
                        self._needs_factor.add((i, j))
                        if weakest(factors) > weakest(anchors):
                            self._factor_screened.add((i, j))
                    for factor in factors:
                        payloads[factor].append((_FACTOR if anchors else _ANCHOR, i, j))
                elif not anchors:
                    self._always_patterns.append((i, j))
        # sound-alike spellings of curated terms (威信 → 微信) match exactly like the term itself
        exceptions = {self._norm(x) for x in self.data.phonetic_exceptions}
        for term in (self._norm(t) for t in self.data.phonetic_terms if switches.sound_alikes):
            keyword_payloads = [pl for pl in payloads.get(term, ()) if pl[0] == _KEYWORD]
            if not keyword_payloads or any(name in term for name in own):
                continue
            for spelling in sound_alike_spellings(term):
                if spelling not in exceptions and spelling not in payloads:
                    payloads[spelling] = list(keyword_payloads)
        self._patterns = list(payloads)
        self._payloads = [tuple(payloads[p]) for p in self._patterns]
        self._keyword_rules = [tuple(i for kind, i, _ in pl if kind == _KEYWORD) for pl in self._payloads]
        self._exception_rules = [tuple(i for kind, i, _ in pl if kind == _EXCEPTION) for pl in self._payloads]
        # most patterns gate no regex: they share one empty set (a checker holds thousands)
        self._anchored = [frozenset((i, j) for kind, i, j in pl if kind == _ANCHOR) or _NONE for pl in self._payloads]
        self._factored = [frozenset((i, j) for kind, i, j in pl if kind == _FACTOR) or _NONE for pl in self._payloads]
        self._edge_letters = [
            (left, right) if left or right else _NO_LATIN_EDGES
            for left, right in ((_is_ascii_letter(p[0]), _is_ascii_letter(p[-1])) for p in self._patterns)
        ]
        self._verifiers = self._compile_verifiers()
        # what a hit of each pattern means, in one tuple: the hot loop unpacks it once per hit
        self._hit_roles = list(
            zip(
                self._keyword_rules, self._exception_rules, self._anchored, self._edge_letters, self._verifiers,
                strict=True,
            )
        )
        self._ac = ahocorasick_rs.AhoCorasick(self._patterns) if self._patterns else None
        # folding repeated characters can only create a new match if the repeated character
        # stands inside a keyword or exception of three or more characters (付 in 支付宝), between
        # the characters that stand around the run in the text: a repeat at a term's edge is found
        # by the plain scan, and 谢谢/哈哈/一点点/hello need no second scan (regexes run on the
        # unfolded text, so their anchors and literals do not count)
        self._repeat_triples = {
            (p[n - 1], p[n], p[n + 1])
            for p, pl in zip(self._patterns, self._payloads, strict=True)
            if len(p) >= 3 and any(kind in (_KEYWORD, _EXCEPTION) for kind, _, _ in pl)
            for n in range(1, len(p) - 1)
            if not p[n].isdigit() and switches.repeats
        }
        repeat_chars = {c for _, c, _ in self._repeat_triples}
        self._repeat_gate = re.compile("(" + char_class(repeat_chars) + r")\1+") if repeat_chars else re.compile("(?!)")
        self._regexes = [
            [(regex, "hit" in regex.groupindex) for regex in (prefiltered(p.regex) for p in cr.rule.match.patterns)]
            for cr in self.rules
        ]
        # a regex that reads a number (1[3-9]\d{9}) runs only where a digit run that long stands
        self._regex_digits = [
            [_digit_run(n) if (n := min_digit_run(p.regex)) >= 3 else None for p in cr.rule.match.patterns]
            for cr in self.rules
        ]

    # ---------------------------------------------------------------- pickling
    # A checker is cached on disk (kefuguard.cache) to spare a command line the build. The
    # automata cannot be pickled: they are rebuilt from their pattern lists (a few ms); the
    # shared translate tables are stored once, apart from the checkers.
    # Regexes travel as their source and are compiled on first use (recompiling them all took
    # 40 ms of a load); sentinels compared by identity in the hot loop are restored.
    _UNPICKLED = (
        "_ac", "_screen", "tables", "_keyword_list", "_numeral_runs", "_latin_letter", "_plus",
        "_hit_roles", "_regexes",
    )

    def __getstate__(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in self._UNPICKLED}
        state["_regex_sources"] = [
            [(r if type(r) is tuple else (r.pattern, r.flags), hit) for r, hit in rule] for rule in self._regexes
        ]
        return state

    def __setstate__(self, state: dict) -> None:
        self._regexes = [[(source, hit) for source, hit in rule] for rule in state.pop("_regex_sources")]
        self.__dict__.update(state)
        self._edge_letters = [_NO_LATIN_EDGES if e == _NO_LATIN_EDGES else e for e in self._edge_letters]
        self._anchored = [a or _NONE for a in self._anchored]
        self._factored = [a or _NONE for a in self._factored]
        sentinels = {_WHOLE_WORDS: _WHOLE_WORDS, _DIGIT_EDGES: _DIGIT_EDGES}
        self._verifiers = [sentinels.get(v, v) if v is not None else None for v in self._verifiers]
        self._screen_gates = [_SCAN if g == _SCAN else g for g in self._screen_gates]
        self._hit_roles = list(
            zip(
                self._keyword_rules, self._exception_rules, self._anchored, self._edge_letters, self._verifiers,
                strict=True,
            )
        )
        tables = self.tables = shared_tables(self.normalization)
        self._keyword_list = tables.keyword_list
        self._numeral_runs = tables.numeral_runs
        self._latin_letter = tables.latin_letter
        self._plus = tables.plus
        self._ac = ahocorasick_rs.AhoCorasick(self._patterns) if self._patterns else None
        self._screen = ahocorasick_rs.AhoCorasick(
            self._screen_patterns or ["\x00"], matchkind=ahocorasick_rs.MatchKind.LeftmostLongest
        )

    def _transparent_gates(self, relevant: list[str], gate, doubled: set[str]) -> list:
        """Per relevant screen entry, what `_gates_match` does when the screen reports it:
        - the regexes it gates, when it is nothing but a regex gate and hides no other relevant
          string (none inside it, none starting inside it and running past its end): run them;
        - () for a doubled-character entry that hides nothing: the repeat test decides;
        - _SCAN for a gate or doubled entry that could hide a keyword (官方 + 方便…, qqq + qq):
          one overlapping scan tells whether a keyword is there;
        - None for a keyword or a character past the translate tables: the full path.
        A message whose relevant screen hits are all regex gates cannot hold a keyword the scan
        did not report, so `check` runs just those regexes and, when none matches, skips the full
        path (小时, 地址, 官方 in ordinary replies). Doubled-character entries are left out of the
        hiding test: the repeat test reads the text itself."""
        index = {p: k for k, p in enumerate(self._patterns)}
        doubled = {p for p in doubled if p not in index}  # 绿泡泡 is a keyword as well as a doubled 泡
        matter = [p for p in relevant if p not in doubled]
        inner = ahocorasick_rs.AhoCorasick(matter) if matter else None
        prefixes = {p[:n] for p in matter for n in range(1, len(p))}
        def hides_nothing(entry: str) -> bool:
            inside = inner.find_matches_as_strings(entry, overlapping=True) if inner else []
            return all(found == entry for found in inside) and not any(
                entry[n:] in prefixes for n in range(1, len(entry))
            )

        out: list = []
        for entry in relevant:
            if entry in doubled:  # qqq (a doubled q after q) hides the keyword qq: look closer
                out.append(() if hides_nothing(entry) else _SCAN)
                continue
            k = index.get(entry)
            payload = self._payloads[k] if k is not None else ()
            gated = tuple(sorted({(i, j) for kind, i, j in payload if kind in (_ANCHOR, _FACTOR) and gate(kind, i, j)}))
            if k is None or not gated or any(kind == _KEYWORD for kind, _, _ in payload):
                out.append(None)  # a keyword, or a character past the translate tables: full path
            else:
                out.append(gated if hides_nothing(entry) else _SCAN)
        return out

    def _regex_matches(self, i: int, j: int, kw: str) -> bool:
        digits = self._regex_digits[i][j]
        if digits is not None and digits.search(kw) is None:
            return False  # it needs a digit run longer than any in the message
        return self._regex(i, j).search(kw) is not None

    def _regex(self, i: int, j: int) -> re.Pattern[str]:
        regex, has_hit_group = self._regexes[i][j]
        if type(regex) is tuple:  # a checker loaded from the cache compiles its regexes on first use
            regex = re.compile(*regex)
            self._regexes[i][j] = (regex, has_hit_group)
        return regex

    def _gates_match(self, kw: str, screen: list[tuple[int, int, int]]) -> bool:
        """False when every relevant screen hit is a regex gate or a doubled character and none of
        the regexes the full path would run matches `kw`: then nothing in the message can be a
        finding of a keyword or regex rule. True otherwise (the full path decides).

        A transparent gate (one that hides no keyword) runs its regexes straight away. Otherwise
        one overlapping scan tells exactly what is there, as the full path would see it: any
        keyword means the full path; a regex runs only where its anchor and, if it needs one, one
        of its derived literals occur (小时 alone does not run the 每隔…小时…催你 regex)."""
        gates, bound = self._screen_gates, self._screen_relevant
        scan = False
        for k, _, _ in screen:
            if k < bound:
                gated = gates[k]
                if gated is None:
                    return True
                if gated is _SCAN:
                    scan = True
        if not scan:
            for k, _, _ in screen:
                if k < bound:
                    for i, j in gates[k]:
                        if (i, j) not in self._needs_factor and self._regex_matches(i, j, kw):
                            return True
                    if any((i, j) in self._needs_factor for i, j in gates[k]):
                        scan = True
        if scan:
            hits = self._ac.find_matches_as_indexes(kw, overlapping=True)
            keyword_rules, anchored, factored = self._keyword_rules, self._anchored, self._factored
            if any(keyword_rules[k] for k, _, _ in hits):
                return True
            anchors = [anchored[k] for k, _, _ in hits if anchored[k]]
            if anchors:
                found = set().union(*[factored[k] for k, _, _ in hits if factored[k]])
                needs = self._needs_factor
                for i, j in set().union(*anchors):
                    if ((i, j) not in needs or (i, j) in found) and self._regex_matches(i, j, kw):
                        return True
        return self._folding_repeat(kw)

    def _compile_verifiers(self) -> list[tuple | None]:
        """Per pattern, what a bare hit must also pass (None for most patterns):
        - ("words",): a term that is also part of ordinary words (京东 in 南京东路) must be whole
          words in a segmentation of the sentence;
        - ("context", before, after): an alias that is an everyday word (企鹅, 咸鱼, 1688) needs a
          contact or platform word right before or after it;
        - digits at a pattern's edge (1688) must not continue a longer number."""
        words: set[str] = set()
        aliases: set[str] = set()  # the segmenter must know these as words (红书|上, not 红|书上)
        for term in self.data.segmented_terms:
            norm = self._norm(term)
            words.add(norm)
            aliases.update(a for a in self._norm_aliases.get(norm, ()) if all(_is_cjk(c) for c in a))
        words |= aliases
        contexts: dict[str, tuple] = {}
        for group in self.data.context_terms:
            before = words_regex([self._norm(w) for w in group.before], at_end=True)
            after = words_regex([self._norm(w) for w in group.after])
            for term in group.terms:
                contexts[self._norm(term)] = ("context", before, after)
        out: list[tuple | None] = []
        if not self.normalization.segmentation:
            words, contexts = set(), {}
        for pattern in self._patterns:
            if pattern in contexts:
                out.append(contexts[pattern])
            elif pattern in words or (
                all(_is_cjk(c) for c in pattern) and any(pattern.startswith(w) or pattern.endswith(w) for w in words)
            ):
                out.append(_WHOLE_WORDS)  # 京东, and 微信号 in 稍微信号 (its term at an edge)
            elif pattern[0].isdigit() or pattern[-1].isdigit():
                out.append(_DIGIT_EDGES)
            else:
                out.append(None)
        freq = {self._norm(w): f for w, f in self.data.segmenter_word_freq.items()}
        self._segmenter_words = tuple(
            (w, freq[w]) if w in freq else w for w in sorted({self._norm(w) for w in self.data.segmenter_words} | aliases)
        )
        return out

    def _verified(self, views: Views, verify: tuple, s: int, e: int) -> bool:
        """Whether a keyword hit passes its pattern's extra test (see `_compile_verifiers`)."""
        kw = views.keyword
        if verify is _DIGIT_EDGES:
            return not ((s > 0 and kw[s - 1].isdigit()) or (e < len(kw) and kw[e].isdigit()))
        if verify is _WHOLE_WORDS:
            if s > 0 and kw[s - 1] == kw[s] and e < len(kw) and kw[e] == kw[e - 1]:
                return True  # doubled at both edges (微微信信) is an evasion, not ordinary words (宝宝贝壳)
            o_start, o_end = views.span(s, e)
            return is_whole_words(views.link, o_start, o_end, self._segmenter_words)
        _, before, after = verify
        return before.search(kw, 0, s) is not None or after.match(kw, e) is not None

    def _compile_screen(self) -> None:
        """A smaller automaton that only decides whether a message needs the full check.

        It holds what can start a finding (keywords and their spellings; the rarer of each regex's
        two gates, its anchors or its derived literals; doubled characters that folding repeats
        could turn into a keyword) plus, as neutral entries, exception phrases (唯一的区别, 第一次).
        Scanned leftmost-longest, 唯一的区别 hides 唯一, so a clean message whose only hits are
        excused keywords leaves after one scan that reports neutral entries only.

        A neutral phrase must not hide anything that matters. It is dropped when a relevant string
        inside it is a regex gate or a keyword it does not excuse. A relevant string that starts
        inside it and runs past its end (唯一的区别 + 别家卖的) gets a bridging entry, 唯一的区别家卖的,
        which the longest-match scan prefers wherever the text holds both.
        """
        screened = self._factor_screened

        def gate(kind: int, i: int, j: int) -> bool:
            return (kind == _FACTOR and (i, j) in screened) or (kind == _ANCHOR and (i, j) not in screened)

        # a doubled character that folding could turn into a keyword (支支付宝) also needs the full check,
        # and so does a character the list table cannot normalise (it may hide a keyword: 微\U000e0067信)
        doubled = {x + c + c for x, c, _ in self._repeat_triples}
        relevant: set[str] = doubled | {chr(cp) for cp in self.tables.keyword_beyond}
        neutral: dict[str, set[int]] = {}  # phrase -> rules it is an exception of
        for pattern, payload in zip(self._patterns, self._payloads, strict=True):
            if any(kind == _KEYWORD or gate(kind, i, j) for kind, i, j in payload):
                relevant.add(pattern)
            elif any(kind == _EXCEPTION for kind, _, _ in payload):
                neutral[pattern] = {i for kind, i, _ in payload if kind == _EXCEPTION}
        index = {p: k for k, p in enumerate(self._patterns)}
        inner = ahocorasick_rs.AhoCorasick(sorted(relevant)) if relevant else None
        by_prefix: dict[str, list[str]] = defaultdict(list)
        for p in relevant:
            for n in range(1, len(p)):
                by_prefix[p[:n]].append(p)

        def hides_nothing(phrase: str, excused: set[int]) -> bool:
            for found in inner.find_matches_as_strings(phrase, overlapping=True) if inner else ():
                if found not in index:
                    return False  # a doubled character
                for kind, i, j in self._payloads[index[found]]:
                    if (kind == _KEYWORD and i not in excused) or gate(kind, i, j):
                        return False
            return True

        kept: list[str] = []
        bridges: set[str] = set()
        for phrase, excused in neutral.items():
            if hides_nothing(phrase, excused):
                kept.append(phrase)
                for n in range(1, len(phrase)):
                    bridges.update(phrase + p[len(phrase) - n :] for p in by_prefix.get(phrase[n:], ()))
        relevant |= bridges
        kept = sorted(set(kept) - relevant)
        screen = self._screen_patterns = sorted(relevant) + kept
        self._screen_relevant = len(relevant)  # entries below this index matter, the rest are neutral
        self._screen_gates = self._transparent_gates(screen[: len(relevant)], gate, doubled)
        # an automaton needs at least one pattern: a checker with nothing to scan for gets one that
        # cannot occur in a keyword view (control characters are deleted by normalisation)
        self._screen = ahocorasick_rs.AhoCorasick(screen or ["\x00"], matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)

    # ---------------------------------------------------------------- check
    def _split_phone_possible(self, kw: str) -> bool:
        """The split-phone gate: a phone word followed by a group of 3+ digits, with a second group
        near it (groups are at most ten characters apart; the phone word stands before the first
        or between them, so both lie within 20 characters of the gate's match)."""
        if self._two_groups.search(kw) is None:
            return False
        for found in self._split_gate.finditer(kw):
            if self._two_groups.search(kw, max(0, found.start() - 20), found.end() + 20) is not None:
                return True
        return False

    def _folding_repeat(self, kw: str) -> bool:
        """Whether a run of a repeated character stands where folding it could complete a keyword:
        between the characters that surround it in some keyword (支 付付 宝)."""
        triples, gate = self._repeat_triples, self._repeat_gate
        found = gate.search(kw)
        while found is not None:
            a, b = found.span()
            if a > 0 and b < len(kw) and (kw[a - 1], kw[a], kw[b]) in triples:
                return True
            found = gate.search(kw, b)
        return False

    def _add_collapsed_hits(self, views: Views, hits: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
        """Hits found only once repeated characters are folded (支支付付宝 → 支付宝)."""
        extra = self._ac.find_matches_as_indexes(views.collapsed, overlapping=True) if self._ac else []
        if extra:
            index = views.collapsed_index
            for k, s, e in extra:
                # keep only hits whose repetition is inside the term: a repeat at its edge
                # (妈妈的 for 妈的) is already visible to the plain scan
                start, end = index[s + 1] - 1, index[e - 1] + 1
                if end - start > e - s:
                    hits.append((k, start, end))
        return hits

    def _add_joined_hits(self, views: Views, hits: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
        """Hits found only once '+' inside a word is deleted instead of read as 加 (微+信)."""
        extra = self._ac.find_matches_as_indexes(views.joined, overlapping=True) if self._ac else []
        if extra:
            index = views.joined_index
            hits = list(hits)
            for k, s, e in extra:
                start, end = index[s], index[e - 1] + 1
                if end - start > e - s:  # a deleted '+' lies inside: the plain scan could not see it
                    hits.append((k, start, end))
        return hits

    def _glued_latin(self, hits: list[tuple[int, int, int]]) -> set[int]:
        """Keyword-view positions where Latin aliases meet (tb|vx in tbvx)."""
        edges = self._edge_letters
        latin = [(s, e) for k, s, e in hits if edges[k] is not _NO_LATIN_EDGES and self._keyword_rules[k]]
        if len(latin) < 2:
            return _NO_POSITIONS
        starts, ends = {s for s, _ in latin}, {e for _, e in latin}
        return starts & ends

    def _latin_span(self, views: Views, k: int, s: int, e: int, glued: set[int]) -> tuple[int, int] | None:
        """Short Latin aliases (tb, vx, qq) must not sit inside a longer Latin word or after a
        number (1TB is a disk size); a number after them is fine (vx1928…). Letters count in
        any width (ｈｏｔｅｌ is hotel); the alias's own letter repeated at its edge is part of it
        (vvx, QQQ, wxxxx), and so is another Latin alias glued to it (tbvx: `glued` holds the
        keyword-view positions where such hits start or end). Returns the hit's span widened over
        such repeats, or None when the alias is part of a longer word."""
        left, right = self._edge_letters[k]
        text, kw = views.text, views.keyword
        letter = self._latin_letter
        if left and s not in glued:
            first = kw[s]
            while s > 0 and kw[s - 1] == first:
                s -= 1
            o_start = views.offsets[s]
            if o_start > 0 and (text[o_start - 1] in letter or text[o_start - 1].isdigit()):
                return None
        if right and e not in glued:
            last = kw[e - 1]
            while e < len(kw) and kw[e] == last:
                e += 1
            o_end = views.offsets[e - 1] + 1
            if o_end < len(text) and text[o_end] in letter:
                return None
        return s, e

    def _straddles_words(self, views: Views, s: int, e: int) -> bool:
        """A hit whose characters stand apart in the original (抖，音) is an evasion only if the
        pieces are words of their own (加微，信), not parts of their neighbours (不抖，音乐节)."""
        if not self.normalization.segmentation:
            return False
        o_start, o_end = views.span(s, e)
        if o_end - o_start == e - s or not (_is_cjk(views.text[o_start]) and _is_cjk(views.text[o_end - 1])):
            return False
        return not is_whole_words(views.link, o_start, o_end, self._segmenter_words)

    def _is_refusal(self, views: Views, o_start: int) -> bool:
        """Whether a negation (不能, 不可以 …) stands earlier in the same clause, at most
        _REFUSAL_LOOKBACK characters back."""
        if self._negation_re is None:
            return False
        window = views.text[max(0, o_start - _REFUSAL_LOOKBACK) : o_start]
        clause_length = _CLAUSE_TAIL.match(window[::-1]).end()  # back to the last clause end
        clause = window[len(window) - clause_length :].translate(self._keyword_list)
        return self._negation_re.search(clause) is not None

    def _contact_numbers(self, views: Views, runs: bool, split: bool) -> list[Detection]:
        """The contact/PII numbers some rule here looks for: digit runs (`runs`: the run gate
        passed; letters glued to a run in the original text veto it, `call me 138…` does not)
        and phone numbers split by words (`split`: the split gate passed)."""
        digits = views.digits
        found = find_numbers(digits, self._ctx, separated_before_from_offsets(lambda: views.offsets)) if runs else []
        if split:
            found = found + find_split_phones(digits, self._ctx)
        kinds = self._detector_rules
        return [det for det in found if det.kind in kinds]

    def _detect(
        self, views: Views, any_hit: bool, numbers: list[Detection] | None, links: bool, mails: bool, written: bool
    ) -> list[tuple[int, Detection]]:
        """Run the named detectors whose cheap gates (computed by `check`) passed; `numbers` are
        the number detections when `check` already made them."""
        out: list[tuple[int, Detection]] = []
        dr = self._detector_rules
        for det in numbers or ():
            out.extend((i, det) for i in dr[det.kind])
        if links:
            for i in dr["url"]:
                out.extend((i, det) for det in find_urls(views.link, self._url_allowed[i]))
        if mails:
            for det in find_emails(views.link):
                out.extend((i, det) for i in dr["email"])
        if written:
            url_rules = dr.get("url", ())
            found = [find_written_links(views.link, self._url_allowed[i]) for i in url_rules] or [
                find_written_links(views.link)
            ]
            for i, dets in zip(url_rules, found, strict=False):
                out.extend((i, det) for det in dets if det.kind == "url")
            for det in found[0]:
                if det.kind == "email":
                    out.extend((i, det) for i in dr.get("email", ()))
        if any_hit and "wechat_id" in dr:
            for det in find_wechat_ids(views.keyword, self._wechat_re):
                out.extend((i, det) for i in dr["wechat_id"])
        return out

    def check(self, text: str) -> CheckResult:
        """Check one message. Offsets in the result index `text` as given."""
        if type(text) is not str:
            raise TypeError(f"text must be str, not {type(text).__name__}")
        # fast path: one translate, one scan of the screening automaton and two C-level searches
        # (digit runs, Latin letters) decide that most messages are clean without building anything
        kw = text.translate(self._keyword_list)
        screen = self._screen.find_matches_as_indexes(kw)
        relevant = bool(screen) and min(screen)[0] < self._screen_relevant
        if relevant and self._beyond and (finished := finish_keyword_view(kw, self.tables)) is not kw:
            # a character past the list table (a flag emoji's invisible tags) is normalised too
            kw = finished
            screen = self._screen.find_matches_as_indexes(kw)
            relevant = bool(screen) and min(screen)[0] < self._screen_relevant
        if relevant:
            relevant = self._gates_match(kw, screen)
        # a '+' inside a word (微+信) joins it: such messages are also screened without their '+'
        views = None
        plus = "加" in kw and self._plus.search(text) is not None
        if plus:
            views = Views(text, self.tables, kw)
            joined = self._screen.find_matches_as_indexes(views.joined)
            plus = bool(joined) and min(joined)[0] < self._screen_relevant
            relevant = relevant or plus
        # order numbers, tracking numbers and dates run together are the usual digit runs: their
        # lengths rule them out before any validation
        numbers = (
            self._number_rules
            and self._numeral_runs.search(kw) is not None  # most messages: no run, no digit table needed
            and has_plausible_run(kw, self._numeral_runs, self.tables.digits_list, self._ctx)
        )
        links = self._url_rules and _LATIN_PAIR.search(kw) is not None and _URL_GATE.search(text) is not None
        mails = self._email_rules and ("@" in text or "＠" in text)
        split = self._phone_rules and self._split_phone_possible(kw)
        written = self._written_rules and might_hold_written_link(text)
        always = bool(self._always_patterns)
        if not (relevant or numbers or links or mails or split or written or always):
            return _clean_result(text, self.platform, self.pack_labels)
        repeats = relevant and self._folding_repeat(kw)
        views = views or Views(text, self.tables, kw)
        contacts = self._contact_numbers(views, numbers, split) if numbers or split else []
        hits = self._ac.find_matches_as_indexes(kw, overlapping=True) if relevant or always else []
        if repeats:
            hits = self._add_collapsed_hits(views, hits)
        spans: dict[int, list[tuple[int, int]]] = {}  # rule -> keyword-view spans
        exceptions: dict[int, list[tuple[int, int]]] = {}
        runnable: set[tuple[int, int]] = set()
        if plus:
            hits = self._add_joined_hits(views, hits)
        if hits:
            hit_roles = self._hit_roles
            anchored = []
            glued = self._glued_latin(hits)
            for k, s, e in hits:
                keyword_rules, exception_rules, anchors, edges, verify = hit_roles[k]
                if keyword_rules:
                    span = (s, e) if edges is _NO_LATIN_EDGES else self._latin_span(views, k, s, e, glued)
                    if (
                        span is not None
                        and (verify is None or self._verified(views, verify, s, e))
                        and not self._straddles_words(views, s, e)
                    ):
                        for i in keyword_rules:
                            spans.setdefault(i, []).append(span)
                if exception_rules:
                    for i in exception_rules:
                        exceptions.setdefault(i, []).append((s, e))
                if anchors:
                    anchored.append(anchors)
            # a keyword inside one of its rule's exceptions (唯一 in 唯一的区别) does not count
            if exceptions and spans:
                for i, exc in exceptions.items():
                    if i in spans:
                        kept = [sp for sp in spans[i] if not any(xs <= sp[0] and sp[1] <= xe for xs, xe in exc)]
                        if kept:
                            spans[i] = kept
                        else:
                            del spans[i]
            if anchored:
                factored = self._factored
                found_factors = set().union(*[factored[k] for k, _, _ in hits if factored[k]])
                needs = self._needs_factor
                runnable = {ij for ij in set().union(*anchored) if ij not in needs or ij in found_factors}
        if not (spans or runnable or links or mails or written or contacts or always):
            return _clean_result(text, self.platform, self.pack_labels)
        for i, j in (*runnable, *self._always_patterns) if always else runnable:
            self._run_pattern(kw, i, j, spans, exceptions)
        detections = (
            self._detect(views, bool(spans), contacts, links, mails, written)
            if contacts or links or mails or written or (spans and self._wechat_id_rules)
            else ()
        )
        if not spans and not detections:
            return _clean_result(text, self.platform, self.pack_labels)
        return self._result(views, spans, detections)

    def _run_pattern(self, kw: str, i: int, j: int, spans, exceptions) -> None:
        digits = self._regex_digits[i][j]
        if digits is not None and digits.search(kw) is None:
            return
        regex, has_hit_group = self._regex(i, j), self._regexes[i][j][1]
        exc = exceptions.get(i, ())
        for m in regex.finditer(kw):
            s, e = m.span("hit") if has_hit_group and m.group("hit") is not None else m.span()
            if e > s and not any(xs <= s and e <= xe for xs, xe in exc):
                spans.setdefault(i, []).append((s, e))

    def _result(self, views: Views, spans, detections) -> CheckResult:
        offsets = views.offsets
        text = views.text
        located = {i: [(offsets[s], offsets[e - 1] + 1, None) for s, e in items] for i, items in spans.items()}
        for i, det in detections:
            if det.in_original:
                item = (det.start, det.end, det.kind)
            else:
                item = (offsets[det.start], offsets[det.end - 1] + 1, det.kind)
            located.setdefault(i, []).append(item)
        keyed: list[tuple[int, int, str, Finding]] = []
        # no negation anywhere in the message: no finding in it can be a refusal (most messages)
        negations = self._negation_re is not None and self._negation_re.search(views.keyword) is not None
        for i, items in located.items():
            static, plain, refused, refusal_aware = self._finding_meta[i]
            for o_s, o_e, detector in _merge(items) if len(items) > 1 else items:
                refusal = negations and refusal_aware and self._is_refusal(views, o_s)
                severity, rank = refused if refusal else plain
                rule_id, category, title, penalty, suggestion, source, pack, replacement = static
                values = {
                    "rule_id": rule_id,
                    "category": category,
                    "severity": severity,
                    "title": title,
                    "start": o_s,
                    "end": o_e,
                    "matched": text[o_s:o_e],
                    "penalty": penalty,
                    "suggestion": suggestion,
                    "source": source,
                    "pack": pack,
                    "refusal": refusal,
                    "detector": detector,
                    "replacement": replacement,
                    "tags": [],
                }
                keyed.append((o_s, -rank, rule_id, _fast_model(Finding, values)))
        if len(keyed) > 1:
            keyed.sort(key=_FINDING_ORDER)
        return _fast_model(
            CheckResult,
            {"text": text, "platform": self.platform, "findings": [k[3] for k in keyed], "packs": [*self.pack_labels]},
        )

    def check_many(self, texts: Iterable[str]) -> list[CheckResult]:
        return [self.check(t) for t in texts]

    def rule(self, rule_id: str) -> CompiledRule:
        for cr in self.rules:
            if cr.id == rule_id:
                return cr
        raise KeyError(rule_id)


_SET_DICT = object.__setattr__
# pydantic's own slot descriptors: setting them directly is about twice as fast as setattr
_SET_FIELDS_SET = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_SET_EXTRA = BaseModel.__dict__["__pydantic_extra__"].__set__
_SET_PRIVATE = BaseModel.__dict__["__pydantic_private__"].__set__


def _fast_model(cls, values: dict):
    """Build a pydantic model from values the checker already validated, skipping validation.

    Equivalent to `model_construct` with every field given (`values` becomes the instance dict),
    at a fraction of its cost: results are built on the hot path of every message.
    """
    obj = cls.__new__(cls)
    _SET_DICT(obj, "__dict__", values)
    _SET_FIELDS_SET(obj, _ALL_FIELDS[cls].copy())
    _SET_EXTRA(obj, None)
    _SET_PRIVATE(obj, None)
    return obj


_ALL_FIELDS = {cls: set(cls.model_fields) for cls in (Finding, CheckResult)}  # every field is always given
_CLEAN_FIELDS = _ALL_FIELDS[CheckResult]
_FINDING_ORDER = itemgetter(0, 1, 2)  # start, most severe first, rule id
_START = itemgetter(0)
_NEW_RESULT = CheckResult.__new__


def _clean_result(text: str, platform: str, packs: list[str]) -> CheckResult:
    """The no-findings result, built for the hot path (shared, immutable fields-set)."""
    obj = _NEW_RESULT(CheckResult)
    # fresh containers: a caller may assign to or append to a result like any model's
    _SET_DICT(obj, "__dict__", {"text": text, "platform": platform, "findings": [], "packs": [*packs]})
    _SET_FIELDS_SET(obj, _CLEAN_FIELDS.copy())
    _SET_EXTRA(obj, None)
    _SET_PRIVATE(obj, None)
    return obj


def _merge(items: list[tuple[int, int, str | None]]) -> list[tuple[int, int, str | None]]:
    """Union of overlapping spans of one rule (加微信 and 微信 → one finding); a merged span keeps
    the first detector name among its parts."""
    items.sort(key=_START)
    merged: list[tuple[int, int, str | None]] = []
    start, end, detector = items[0]
    for s, e, d in items[1:]:
        if s < end:
            end = max(end, e)
            detector = detector or d
        else:
            merged.append((start, end, detector))
            start, end, detector = s, e, d
    merged.append((start, end, detector))
    return merged


_CHECKERS: dict[tuple[str, Normalization], Checker] = {}
_CHECKERS_LOCK = threading.Lock()


def get_checker(platform: str, normalization: Normalization | None = None) -> Checker:
    """A process-wide, lazily built checker per platform (bundled packs + $KEFUGUARD_RULES_DIR),
    and per set of normalisation switches (default: all on; that one comes from the disk cache)."""
    name = check_platform(platform)
    normalization = normalization or DEFAULT_NORMALIZATION
    checker = _CHECKERS.get((name, normalization))
    if checker is None:
        with _CHECKERS_LOCK:
            checker = _CHECKERS.get((name, normalization))
            if checker is None:
                if normalization == DEFAULT_NORMALIZATION:
                    from kefuguard.cache import cached_checker  # the disk cache is optional I/O

                    checker = cached_checker(name)
                else:
                    checker = Checker(name, normalization=normalization)
                _CHECKERS[(name, normalization)] = checker
    return checker


_CATEGORY_CHECKERS: dict[tuple[str, frozenset[str], int], Checker] = {}


def category_checker(base: Checker, categories: frozenset[str]) -> Checker:
    """A checker with only `base`'s rules of the given categories (same packs and overrides).

    The audit screens buyer messages for abuse; a checker holding just the abuse rules does that
    at a fraction of the full checker's cost.
    """
    key = (base.platform, categories, id(base))
    checker = _CATEGORY_CHECKERS.get(key)
    if checker is None:
        kept = {r.id for p in base.packs for r in p.rules if r.category.value in categories}
        packs = [
            p.model_copy(
                update={
                    "rules": [r for r in p.rules if r.id in kept],
                    "overrides": [o for o in p.overrides if o.rule in kept],
                }
            )
            for p in base.packs
        ]
        with _CHECKERS_LOCK:
            checker = _CATEGORY_CHECKERS.setdefault(key, Checker(base.platform, packs=packs))
    return checker


def check(text: str, platform: str) -> CheckResult:
    """Check one message on one platform with the bundled packs."""
    return get_checker(platform).check(text)
