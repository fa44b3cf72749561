"""The conversation checks' data: audit_checks.yaml's schema, loaded and validated once per process.

Each entry documents one conversation-level check (audit.*) the way a rule pack documents a
message rule: title, category, severity, penalty with its basis, the seed sentence, a suggestion
and per-platform overrides. The code of each check is a registered unit in
`kefuguard.conversation.units`; a test keeps the YAML ids and the registry in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kefuguard.rules.model import PLATFORMS, Penalty, Severity, Source


# ---------------------------------------------------------------------------------------- data
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuditCheckOverride(_Strict):
    """How one platform differs for a check: what it costs there and the seed sentence saying so."""

    title: str | None = None
    severity: Severity | None = None
    penalty: Penalty | None = None
    source: Source | None = None
    suggestion: str | None = None


class AuditCheck(_Strict):
    """One conversation-level check (audit.*), documented like a message rule."""

    id: str = Field(pattern=r"^audit\.[a-z_]+$")
    title: str = Field(min_length=2)
    category: str = Field(min_length=2)
    severity: Severity
    penalty: Penalty
    source: Source
    suggestion: str = Field(min_length=2)
    platforms: tuple[str, ...] = ("all",)
    overrides: dict[str, AuditCheckOverride] = Field(default_factory=dict)

    @field_validator("platforms")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for p in value:
            if p != "all" and p not in PLATFORMS:
                raise ValueError(f"unknown platform {p!r}")
        return value

    @field_validator("overrides")
    @classmethod
    def _override_platforms(cls, value: dict[str, AuditCheckOverride]) -> dict[str, AuditCheckOverride]:
        for p in value:
            if p not in PLATFORMS:
                raise ValueError(f"override for unknown platform {p!r}")
        return value

    def applies_to(self, platform: str) -> bool:
        return "all" in self.platforms or platform in self.platforms

    def on(self, platform: str) -> ResolvedCheck:
        """The check as it applies on `platform` (its override merged in)."""
        ov = self.overrides.get(platform) or AuditCheckOverride()
        return ResolvedCheck(
            id=self.id,
            title=ov.title or self.title,
            category=self.category,
            severity=ov.severity or self.severity,
            penalty=ov.penalty or self.penalty,
            source=ov.source or self.source,
            suggestion=ov.suggestion or self.suggestion,
        )


@dataclass(frozen=True)
class ResolvedCheck:
    id: str
    title: str
    category: str
    severity: Severity
    penalty: Penalty
    source: Source
    suggestion: str


class AuditChecksFile(_Strict):
    version: str
    checks: dict[str, AuditCheck]
    topics: dict[str, tuple[str, ...]]
    topic_groups: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    buyer_abuse_words: tuple[str, ...]


def data_path() -> Path:
    return Path(str(resources.files("kefuguard.rules") / "data" / "audit_checks.yaml"))


@lru_cache(maxsize=1)
def load_audit_checks() -> AuditChecksFile:
    """The packaged audit_checks.yaml, validated once per process."""
    path = data_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        for cid, entry in (raw.get("checks") or {}).items():
            entry.setdefault("id", cid)
        data = AuditChecksFile.model_validate(raw)
    except (OSError, AttributeError, yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"{path}: invalid audit check data: {exc}") from exc
    for cid, check in data.checks.items():
        if cid != check.id:
            raise ValueError(f"{path}: check key {cid!r} differs from its id {check.id!r}")
    return data


AUDIT_CHECK_IDS: dict[str, AuditCheck] = dict(load_audit_checks().checks)
