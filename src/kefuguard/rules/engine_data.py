"""Engine data (aliases, phonetic terms, negations, detector context, platform names/domains).

Loaded from `rules/data/engine.yaml`, validated, and cached; keyword files from `rules/data/`.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from kefuguard.rules.loader import RulePackError, yaml_load


class DetectorContextData(BaseModel):
    model_config = ConfigDict(extra="forbid")
    window: int = 8
    negative: list[str] = Field(default_factory=list)
    qq: list[str] = Field(default_factory=list)
    wechat: list[str] = Field(default_factory=list)
    bank: list[str] = Field(default_factory=list)
    phone: list[str] = Field(default_factory=list)


class ContextTerms(BaseModel):
    """Aliases that are everyday words too: they count only next to one of these words."""

    model_config = ConfigDict(extra="forbid")
    terms: list[str] = Field(min_length=1)
    before: list[str] = Field(default_factory=list)
    after: list[str] = Field(default_factory=list)


class EngineData(BaseModel):
    model_config = ConfigDict(extra="forbid")
    aliases: dict[str, list[str]]
    phonetic_terms: list[str]
    phonetic_exceptions: list[str] = Field(default_factory=list)
    pinyin_terms: list[str] = Field(default_factory=list)
    keyword_numerals: dict[str, list[str]] = Field(default_factory=dict)
    segmented_terms: list[str] = Field(default_factory=list)
    segmenter_words: list[str] = Field(default_factory=list)
    segmenter_word_freq: dict[str, int] = Field(default_factory=dict)
    context_terms: list[ContextTerms] = Field(default_factory=list)
    negations: list[str]
    numerals: dict[str, list[str]]
    detector_context: DetectorContextData
    platform_names: dict[str, list[str]]
    platform_domains: dict[str, list[str]]


def data_dir() -> Path:
    return Path(str(resources.files("kefuguard.rules") / "data"))


@lru_cache(maxsize=1)
def load_engine_data() -> EngineData:
    path = data_dir() / "engine.yaml"
    try:
        return EngineData.model_validate(yaml_load(path.read_text(encoding="utf-8")))
    except Exception as exc:  # malformed data must name the file
        raise RulePackError(f"{path}: {exc}") from exc


@lru_cache(maxsize=64)
def read_keyword_file(name: str) -> tuple[str, ...]:
    """A word list in rules/data/: one term per line, '#' starts a comment."""
    path = data_dir() / name
    if not path.is_file():
        raise RulePackError(f"keyword file {name!r} not found in {data_dir()}")
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        term = line.split("#", 1)[0].strip()
        if term:
            words.append(term)
    return tuple(words)
