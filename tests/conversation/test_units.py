"""Conversation checks as registered units: the YAML and the registry in step; per-check and per-shop settings."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from kefuguard.checker import get_checker
from kefuguard.conversation.check_data import data_path
from kefuguard.conversation.checks import audit_conversation, build_context
from kefuguard.conversation.config import AuditConfig
from kefuguard.conversation.model import SHANGHAI, Conversation, Message
from kefuguard.conversation.units import REGISTRY

T0 = dt.datetime(2025, 6, 16, 10, 0, tzinfo=SHANGHAI)


def _yaml_ids() -> list[str]:
    return list(yaml.safe_load(data_path().read_text(encoding="utf-8"))["checks"])


def test_every_yaml_check_has_exactly_one_unit_and_the_reverse() -> None:
    ids = _yaml_ids()
    assert len(ids) == len(set(ids))
    assert set(ids) == set(REGISTRY)
    assert all(REGISTRY[cid].id == cid for cid in ids)


def test_a_second_unit_for_an_id_is_refused() -> None:
    from kefuguard.conversation.units import check

    with pytest.raises(ValueError, match="registered twice"):
        check("audit.reply_time")(lambda ctx, config: ())


def test_unit_fields_are_config_fields() -> None:
    for unit in REGISTRY.values():
        assert all(f in AuditConfig.model_fields for f in unit.fields), unit.id


def _chat(shop: str = "店A", platform: str = "pinduoduo") -> Conversation:
    rows = [("buyer", 0, "在吗，这个有货吗"), ("agent", 400, "嗯"), ("buyer", 500, "好的谢谢")]
    messages = [
        Message(conversation_id="c", platform=platform, shop=shop, buyer_id="b", agent_id="a" if r == "agent" else "",
                role=r, sent_at=T0 + dt.timedelta(seconds=s), text=t)
        for r, s, t in rows
    ]
    return Conversation(conversation_id="c", platform=platform, shop=shop, messages=messages)


def _ids(conv: Conversation, config: AuditConfig) -> set[str]:
    return {f.check_id for f in audit_conversation(conv, get_checker(conv.platform), config).findings}


def test_checks_section_switches_off_and_changes_thresholds() -> None:
    conv = _chat()
    assert {"audit.curt_reply", "audit.reply_time"} <= _ids(conv, AuditConfig())
    off = AuditConfig.from_yaml("checks:\n  audit.curt_reply: {enabled: false}\n")
    assert "audit.curt_reply" in off.disabled_checks
    assert "audit.curt_reply" not in _ids(conv, off)
    lenient = AuditConfig.from_mapping({"checks": {"audit.reply_time": {"reply_limit_seconds": {"pinduoduo": 600}}}})
    assert "audit.reply_time" not in _ids(conv, lenient)
    regraded = AuditConfig.from_mapping({"checks": {"audit.reply_time": {"severity": "major", "deduction": 3}}})
    assert regraded.check_severities["audit.reply_time"] == "major"
    assert regraded.check_deductions == {"audit.buyer_abuse": 0.0, "audit.reply_time": 3}


@pytest.mark.parametrize(
    "section",
    [
        {"audit.nope": {"enabled": False}},
        {"audit.curt_reply": {"max_quick_replies": 2}},  # not a field the curt unit reads
        {"audit.curt_reply": {"enabled": "no"}},
        {"audit.missed_reply": {"acknowledgement_max_chars": 5}, "audit.follow_up": {"acknowledgement_max_chars": 6}},
    ],
)
def test_bad_checks_section_is_an_error(section: dict) -> None:
    with pytest.raises(ValueError):
        AuditConfig.from_mapping({"checks": section})


def test_shop_overrides_apply_to_that_shop_only() -> None:
    config = AuditConfig.from_mapping({"shops": {"店B": {"checks": {"audit.curt_reply": {"enabled": False}}}}})
    assert config.for_shop("店A") is config
    assert "audit.curt_reply" in config.for_shop("店B").disabled_checks
    assert "audit.curt_reply" in _ids(_chat("店A"), config)
    assert "audit.curt_reply" not in _ids(_chat("店B"), config)
    with pytest.raises(ValueError):
        AuditConfig.from_mapping({"shops": {"店B": {"curt_min_chars": 0}}})
    with pytest.raises(ValueError):
        AuditConfig.from_mapping({"shops": {"店B": {"mask_pii": False}}})


def test_context_records_what_the_metrics_exclude() -> None:
    conv = _chat(platform="tmall")
    msgs = list(conv.messages)
    bot = {"role": "bot", "text": "您好，自动回复", "sent_at": T0 + dt.timedelta(seconds=5)}
    msgs.insert(1, Message.model_validate(msgs[0].model_dump() | bot))
    msgs = [m.model_copy(update={"buyer_reported": True}) if m.role == "buyer" else m for m in msgs]
    conv = Conversation(conversation_id="c", platform="tmall", shop="店A", messages=msgs)
    ctx = build_context(conv, get_checker("tmall"), AuditConfig())
    assert ctx.turns[0].bot_reply == 1 and ctx.turns[0].reply == 2
    assert ctx.buyer_reported
    assert ctx.scope()[0] == "bot"  # Tmall's profile drops bot-answered turns
