"""Shared fixtures: checkers are expensive to build, so build each platform's once per session."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from kefuguard.checker import Checker
from kefuguard.rules.loader import load_packs
from kefuguard.rules.model import PLATFORMS

# compiled checkers are cached on disk (kefuguard.cache): tests use a fresh directory, never the user's
os.environ.setdefault("KEFUGUARD_CACHE_DIR", tempfile.mkdtemp(prefix="kefuguard-test-cache-"))

# the storage fixtures (`database`, `db_url`: SQLite always, PostgreSQL when KEFUGUARD_TEST_PG_URL is set)
pytest_plugins = ["tests.storage.db_fixtures"]

SEEDS_DIR = Path(__file__).resolve().parents[2] / "shared" / "seeds"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def packs():
    return load_packs()


@pytest.fixture(scope="session")
def checkers(packs) -> dict[str, Checker]:
    return {p: Checker(p, packs=packs) for p in PLATFORMS}
