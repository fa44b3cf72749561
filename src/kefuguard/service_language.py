"""The service-language library (004_…/002_…): courtesy words, taboo → standard pairs, scripts.

Data lives in `rules/data/service_language.yaml` next to the rule packs; this module only
validates and serves it, so suggestions, the script library and training material all quote the
same sentences. Every entry keeps the seed file and the verbatim sentence it comes from.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Stage = Literal["opening", "asking", "listening", "solving", "closing"]
STAGES: tuple[Stage, ...] = ("opening", "asking", "listening", "solving", "closing")
STAGE_ZH: dict[str, str] = {
    "opening": "开场白",
    "asking": "询问问题",
    "listening": "倾听问题",
    "solving": "解决问题",
    "closing": "结束对话",
}
StepKey = Literal["calm", "respect", "ask", "offer", "act"]
STEP_KEYS: tuple[StepKey, ...] = ("calm", "respect", "ask", "offer", "act")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeedQuote(_Frozen):
    """Where an entry comes from: seed file name and a sentence quoted verbatim from it."""

    file: str = Field(pattern=r"^\d{3}_[0-9a-f]+\.txt$")
    quote: str = Field(min_length=4)


class Courtesy(_Frozen):
    """The ten-character courtesy set (十字用语)."""

    words: tuple[str, ...]
    seed_wording: tuple[str, ...]
    note: str
    source: SeedQuote

    @model_validator(mode="after")
    def _ten_characters(self) -> Courtesy:
        if sum(len(w) for w in self.words) != 10:
            raise ValueError(f"the courtesy set must have ten characters, got {''.join(self.words)!r}")
        return self


class TabooPair(_Frozen):
    """A forbidden service phrase (服务忌语) and what to say instead (规范用语).

    `rule` names the message rule that detects the taboo; tone and behaviour entries have none.
    """

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    kind: Literal["phrase", "tone", "behaviour"]
    taboo: str
    standard: str
    rule: str | None = None
    source: SeedQuote

    @model_validator(mode="after")
    def _phrases_have_rules(self) -> TabooPair:
        if self.kind == "phrase" and not self.rule:
            raise ValueError(f"taboo {self.id!r}: a detectable phrase needs the rule that detects it")
        return self


class Script(_Frozen):
    """One line of the five-stage script (话术)."""

    stage: Stage
    text: str
    source: SeedQuote

    @property
    def stage_zh(self) -> str:
        return STAGE_ZH[self.stage]


class AbusiveBuyerStep(_Frozen):
    """One step of handling a buyer who abuses the agent (002_…): calm, respect, ask, offer, act."""

    order: int = Field(ge=1, le=5)
    key: StepKey
    name: str
    example: str
    source: SeedQuote


class ServiceLanguage(_Frozen):
    version: str
    courtesy: Courtesy
    taboos: tuple[TabooPair, ...]
    scripts: tuple[Script, ...]
    abusive_buyer_steps: tuple[AbusiveBuyerStep, ...]

    @model_validator(mode="after")
    def _complete(self) -> ServiceLanguage:
        ids = [t.id for t in self.taboos]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate taboo id")
        missing = [s for s in STAGES if not any(sc.stage == s for sc in self.scripts)]
        if missing:
            raise ValueError(f"no script for stage(s): {', '.join(missing)}")
        keys = tuple(step.key for step in sorted(self.abusive_buyer_steps, key=lambda s: s.order))
        if keys != STEP_KEYS or [s.order for s in self.abusive_buyer_steps] != [1, 2, 3, 4, 5]:
            raise ValueError(f"abusive-buyer steps must be {', '.join(STEP_KEYS)} in order 1-5")
        return self

    def scripts_for(self, stage: str) -> list[Script]:
        """The script lines of one stage, in library order."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; choose one of: {', '.join(STAGES)}")
        return [s for s in self.scripts if s.stage == stage]

    def taboos_for_rule(self, rule_id: str) -> list[TabooPair]:
        """The taboo pairs a message rule detects (its suggestion is their standard phrase)."""
        return [t for t in self.taboos if t.rule == rule_id]

    def search(self, query: str) -> list[TabooPair | Script | AbusiveBuyerStep]:
        """Entries whose wording contains `query` (script library lookup)."""
        q = query.strip()
        if not q:
            return []
        hits: list[TabooPair | Script | AbusiveBuyerStep] = []
        hits.extend(t for t in self.taboos if q in t.taboo or q in t.standard)
        hits.extend(s for s in self.scripts if q in s.text)
        hits.extend(s for s in self.abusive_buyer_steps if q in s.name or q in s.example)
        return hits


def data_path() -> Path:
    return Path(str(resources.files("kefuguard.rules") / "data" / "service_language.yaml"))


@lru_cache(maxsize=1)
def load_service_language() -> ServiceLanguage:
    """The bundled service-language library, validated once per process."""
    path = data_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return ServiceLanguage.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"{path}: invalid service-language data: {exc}") from exc
