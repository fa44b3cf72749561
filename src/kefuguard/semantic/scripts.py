"""The 话术 script library: given a buyer message, the compliant scripts that answer it best.

Entries: the question → answer scripts of `rules/data/scripts_library.yaml` (004_… 规范用语 and
scripts, 000_…/002_… answers), plus the service-language library (`kefuguard.service_language`):
the five-stage scripts, the standard phrase of every 服务忌语 and the five steps of handling an
abusive buyer (002_…). Every entry cites its seed file and sentence.

Search: with the semantic extra installed, the buyer message is embedded and compared with each
entry's typical buyer questions (and, a little less, with its answer); without it, a character
bigram overlap ranks them — the library works either way (`method` says which ran). Results are
filtered per platform: an entry not meant for the platform, or whose text the platform's checker
flags (宝贝 on Pinduoduo …), is never returned.

Pure library functions for the CLI (`kefuguard scripts search`) and the HTTP API:
`search_scripts`, `scripts_for_finding`, `load_library`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from kefuguard.semantic import embeddings

_NONWORD = re.compile(r"[\W_]+")
TEXT_WEIGHT = 0.9  #: an answer's own text counts a little less than the questions it is written for
MIN_SCORE = {"semantic": 0.5, "lexical": 0.15}  #: below this nothing is returned
#: and nothing further below the best match than this (a short query like 在吗 is close to everything a little)
WINDOW = {"semantic": 0.3, "lexical": 0.5}


@dataclass(frozen=True)
class ScriptEntry:
    id: str
    title: str
    text: str
    questions: tuple[str, ...]
    kind: str  #: "script" (question → answer), "stage" (five-stage script), "standard" (规范用语), "abusive_step"
    stage: str | None = None
    platforms: tuple[str, ...] = ("all",)
    source_file: str = ""
    source_quote: str = ""

    def applies_to(self, platform: str | None) -> bool:
        return platform is None or "all" in self.platforms or platform in self.platforms

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "text": self.text, "kind": self.kind, "stage": self.stage,
            "questions": list(self.questions), "platforms": list(self.platforms),
            "source": {"file": self.source_file, "quote": self.source_quote},
        }


@dataclass(frozen=True)
class ScriptMatch:
    entry: ScriptEntry
    score: float
    method: str  #: "semantic" or "lexical"
    matched: str = ""  #: the question (or the text) that matched best

    def to_dict(self) -> dict[str, Any]:
        return {**self.entry.to_dict(), "score": round(self.score, 4), "method": self.method, "matched": self.matched}


@dataclass
class _Index:
    entries: tuple[ScriptEntry, ...]
    keys: list[tuple[int, str, float]] = field(default_factory=list)  #: (entry, text, weight)
    vectors: Any = None


def data_path():
    return resources.files("kefuguard.rules") / "data" / "scripts_library.yaml"


@lru_cache(maxsize=1)
def load_library() -> tuple[ScriptEntry, ...]:
    """Every entry of the library (the YAML scripts, then the service-language library)."""
    from kefuguard.service_language import STAGE_ZH, load_service_language

    raw = yaml.safe_load(data_path().read_text(encoding="utf-8"))
    entries: list[ScriptEntry] = []
    for e in raw["scripts"]:
        entries.append(ScriptEntry(
            id=e["id"], title=e["title"], text=e["text"], questions=tuple(e["questions"]), kind="script",
            stage=e.get("stage"), platforms=tuple(e.get("platforms") or ("all",)),
            source_file=e["source"]["file"], source_quote=e["source"]["quote"],
        ))
    lib = load_service_language()
    for i, s in enumerate(lib.scripts):
        entries.append(ScriptEntry(
            id=f"stage.{s.stage}.{i}", title=f"{STAGE_ZH[s.stage]}话术", text=s.text, questions=(), kind="stage",
            stage=s.stage, source_file=s.source.file, source_quote=s.source.quote,
        ))
    for t in lib.taboos:
        if t.kind == "behaviour":
            continue
        entries.append(ScriptEntry(
            id=f"standard.{t.id}", title=f"服务忌语“{t.taboo}”的规范说法", text=t.standard, questions=(t.taboo,),
            kind="standard", source_file=t.source.file, source_quote=t.source.quote,
        ))
    for step in sorted(lib.abusive_buyer_steps, key=lambda s: s.order):
        entries.append(ScriptEntry(
            id=f"abusive_buyer.{step.key}", title=f"买家辱骂五步法 第{step.order}步：{step.name}", text=step.example,
            questions=("买家骂人怎么办", "顾客辱骂客服", "你们就是骗子", "垃圾店"), kind="abusive_step",
            source_file=step.source.file, source_quote=step.source.quote,
        ))
    ids = [e.id for e in entries]
    if len(ids) != len(set(ids)):
        raise ValueError("scripts library: duplicate ids")
    return tuple(entries)


_LOCK = threading.Lock()
_INDEX: _Index | None = None


def _index() -> _Index:
    global _INDEX
    with _LOCK:
        if _INDEX is None:
            entries = load_library()
            keys = []
            for i, e in enumerate(entries):
                keys.extend((i, q, 1.0) for q in e.questions)
                keys.append((i, e.text, TEXT_WEIGHT))
            _INDEX = _Index(entries, keys)
        return _INDEX


def _bigrams(text: str) -> set[str]:
    t = _NONWORD.sub("", text.lower())
    return {t[i : i + 2] for i in range(len(t) - 1)} or ({t} if t else set())


def _lexical(query: str, keys: list[tuple[int, str, float]]) -> list[float]:
    q = _bigrams(query)
    out = []
    for _, text, weight in keys:
        k = _bigrams(text)
        out.append(weight * (2 * len(q & k) / (len(q) + len(k))) if q and k else 0.0)
    return out


def _semantic(query: str, index: _Index) -> list[float]:
    encoder = embeddings.get_encoder()
    with _LOCK:
        if index.vectors is None:
            index.vectors = encoder.encode([t for _, t, _ in index.keys])
    q = encoder.encode([query])[0]
    sims = index.vectors @ q
    return [float(s) * w for s, (_, _, w) in zip(sims, index.keys, strict=True)]


@lru_cache(maxsize=8)
def _compliant_ids(platform: str) -> frozenset[str]:
    from kefuguard.checker import get_checker

    checker = get_checker(platform)
    return frozenset(e.id for e in load_library() if e.applies_to(platform) and checker.check(e.text).ok)


def compliant_entries(platform: str, checker: Any = None) -> list[ScriptEntry]:
    """The entries meant for `platform` whose text its checker (or `checker`) does not flag."""
    if checker is None:
        ok = _compliant_ids(platform)
        return [e for e in load_library() if e.id in ok]
    return [e for e in load_library() if e.applies_to(platform) and checker.check(e.text).ok]


def search_scripts(
    query: str,
    platform: str | None = None,
    *,
    top: int = 5,
    semantic: bool | None = None,
    kinds: Sequence[str] | None = None,
    checker: Any = None,
) -> list[ScriptMatch]:
    """The best-matching scripts for a buyer message, best first.

    `platform`: only entries meant for it whose text passes its checker (None: every entry, unchecked).
    `semantic`: True to require the encoder, False for the bigram ranking, None to use the encoder
    when the extra is installed. `kinds` restricts the entry kinds (script, stage, standard, abusive_step).
    """
    query = query.strip()
    if not query:
        return []
    use_semantic = embeddings.available() if semantic is None else semantic
    index = _index()
    method = "semantic" if use_semantic else "lexical"
    scores = _semantic(query, index) if use_semantic else _lexical(query, index.keys)
    allowed = None
    if platform is not None:
        allowed = {e.id for e in compliant_entries(platform, checker)}
    best: dict[int, tuple[float, str]] = {}
    for (i, text, _), s in zip(index.keys, scores, strict=True):
        if s > best.get(i, (-2.0, ""))[0]:
            best[i] = (s, text)
    ranked = []
    for i, (s, text) in best.items():
        e = index.entries[i]
        if s < MIN_SCORE[method] or (allowed is not None and e.id not in allowed) or (kinds and e.kind not in kinds):
            continue
        ranked.append((-round(s, 6), i, ScriptMatch(e, s, method, text)))  # ties: library order (五步法 in order)
    ranked.sort(key=lambda r: r[:2])
    if not ranked:
        return []
    floor = ranked[0][2].score - WINDOW[method]
    return [m for _, _, m in ranked if m.score >= floor][:top]


def scripts_for_finding(finding: Any, platform: str | None = None, *, top: int = 3,
                        semantic: bool | None = None) -> list[ScriptMatch]:
    """Scripts to show next to a message finding (its title and suggestion are the query)."""
    platform = platform or getattr(finding, "platform", None)
    query = f"{getattr(finding, 'title', '')} {getattr(finding, 'suggestion', '')}".strip()
    return search_scripts(query, platform, top=top, semantic=semantic)
