"""Every prohibition the seeds name (listed by hand in tests/fixtures/coverage/) maps to a rule.

Ids starting `audit.` are conversation-level checks of the chat-log audit, not message rules.
"""

from __future__ import annotations

import pytest
import yaml

from kefuguard.rules.loader import load_packs

from .conftest import FIXTURES, SEEDS_DIR

PACKS = load_packs()
RULE_PLATFORMS = {r.id: set(p.platforms_of(r)) for p in PACKS for r in p.rules}


def _entries():
    for path in sorted((FIXTURES / "coverage").glob("*.yaml")):
        for n, entry in enumerate(yaml.safe_load(path.read_text(encoding="utf-8")) or []):
            yield pytest.param(entry, id=f"{path.stem}#{n}")


def _audit_checks() -> set[str]:
    try:
        from kefuguard.conversation.checks import AUDIT_CHECK_IDS
    except ImportError:
        return set()
    return set(AUDIT_CHECK_IDS)


AUDIT_IDS = _audit_checks()


@pytest.mark.parametrize("entry", list(_entries()))
def test_prohibition_has_rule(entry):
    assert entry.get("rules"), f"no rule mapped for {entry['prohibition']}"
    platform = entry["platform"]
    for rid in entry["rules"]:
        if rid.startswith("audit."):
            assert rid in AUDIT_IDS, f"{entry['prohibition']}: unknown conversation check {rid}"
            continue
        assert rid in RULE_PLATFORMS, f"{entry['prohibition']}: rule {rid} does not exist"
        if platform != "all":
            assert platform in RULE_PLATFORMS[rid], f"{rid} does not apply on {platform}"


@pytest.mark.skipif(not SEEDS_DIR.is_dir(), reason="../shared/seeds not present")
@pytest.mark.parametrize("entry", list(_entries()))
def test_prohibition_quote_in_seed(entry):
    import re

    seed = re.sub(r"\s+", "", (SEEDS_DIR / entry["seed"]).read_text(encoding="utf-8"))
    assert re.sub(r"\s+", "", entry["quote"]) in seed


def test_every_platform_has_coverage():
    platforms = set()
    for path in (FIXTURES / "coverage").glob("*.yaml"):
        platforms |= {e["platform"] for e in yaml.safe_load(path.read_text(encoding="utf-8")) or []}
    assert {"douyin", "pinduoduo", "tmall", "taobao", "jd", "kuaishou"} <= platforms
