"""What the checker reports: findings with offsets into the text the agent typed, and results.

Plain serialisable models, so the CLI, the audit, the API and storage all speak the same JSON.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, Field

from kefuguard.rules.model import Category, Penalty, Severity, Source


class Finding(BaseModel):
    """One rule broken at one place. `start`/`end` index the original text (Python str offsets)."""

    rule_id: str
    category: Category
    severity: Severity
    title: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    matched: str
    penalty: Penalty
    suggestion: str
    source: Source
    pack: str = Field(description="pack id@version that produced the finding")
    refusal: bool = Field(default=False, description="the term was mentioned while refusing (不能加微信)")
    detector: str | None = Field(default=None, description="named detector that found it, if any")
    replacement: str | None = None
    tags: list[str] = Field(default_factory=list, description="labels a shop gave its own word (ShopSettings)")


class CheckResult(BaseModel):
    """The outcome of checking one message on one platform."""

    text: str
    platform: str
    findings: list[Finding] = Field(default_factory=list)
    packs: list[str] = Field(default_factory=list, description="pack versions the verdict came from")

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def to_json(self, **kwargs) -> str:
        return self.model_dump_json(**kwargs)

    def to_dict(self) -> dict:
        return json.loads(self.model_dump_json())


class RewriteResult(BaseModel):
    """A compliant version of a message and what could not be fixed automatically."""

    original: str
    text: str
    platform: str
    fixed: list[Finding] = Field(default_factory=list)
    unfixed: list[Finding] = Field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.unfixed
