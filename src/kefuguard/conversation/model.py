"""Chat-log data model: one message per record, conversations as ordered messages.

Serialisable (pydantic) so the same objects travel through importers, the audit, the future HTTP
API and storage. Naive timestamps are taken to be Asia/Shanghai, where every platform here lives.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kefuguard.rules.model import platform_code

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Role(StrEnum):
    buyer = "buyer"
    agent = "agent"
    bot = "bot"
    system = "system"


def as_shanghai(value: dt.datetime) -> dt.datetime:
    """Attach Asia/Shanghai to naive datetimes; convert aware ones to it."""
    if value.tzinfo is None:
        return value.replace(tzinfo=SHANGHAI)
    return value.astimezone(SHANGHAI)


class Message(BaseModel):
    """One chat message as exported by a platform's customer-service workbench."""

    model_config = ConfigDict(frozen=True)

    conversation_id: str = Field(min_length=1)
    platform: str
    shop: str = Field(min_length=1)
    agent_id: str = ""
    buyer_id: str = ""
    role: Role
    sent_at: dt.datetime
    text: str = Field(min_length=1)
    quick_reply: bool = False
    auto_reply: bool = False
    buyer_reported: bool = False
    order_time: dt.datetime | None = None
    paid_amount: float | None = Field(default=None, ge=0)
    source: str = Field(default="", description="file:line it was read from, for tracing findings")

    @field_validator("platform")
    @classmethod
    def _platform(cls, value: str) -> str:
        return platform_code(value)

    @field_validator("sent_at", "order_time")
    @classmethod
    def _tz(cls, value: dt.datetime | None) -> dt.datetime | None:
        return None if value is None else as_shanghai(value)

    @property
    def is_manual_reply(self) -> bool:
        """A human agent's reply: bots and auto-replies never count as 人工回复."""
        return self.role is Role.agent and not self.auto_reply

    def dedup_key(self) -> tuple:
        return (self.conversation_id, self.role.value, self.sent_at, self.text, self.agent_id)


class Conversation(BaseModel):
    """A conversation: messages of one buyer with one shop, in time order."""

    conversation_id: str
    platform: str
    shop: str
    messages: list[Message]

    @property
    def agents(self) -> list[str]:
        seen: dict[str, None] = {}
        for m in self.messages:
            if m.role is Role.agent and m.agent_id:
                seen.setdefault(m.agent_id, None)
        return list(seen)

    @property
    def primary_agent(self) -> str:
        """The agent who sent most manual messages (the one a score is charged to)."""
        counts: dict[str, int] = {}
        for m in self.messages:
            if m.is_manual_reply and m.agent_id:
                counts[m.agent_id] = counts.get(m.agent_id, 0) + 1
        return max(counts, key=counts.__getitem__) if counts else ""

    @property
    def buyer_reported(self) -> bool:
        return any(m.buyer_reported for m in self.messages)

    @property
    def started_at(self) -> dt.datetime:
        return self.messages[0].sent_at
