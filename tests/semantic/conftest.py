"""Semantic tests: the sentence encoder is loaded once per test process (one per xdist worker).

Without the semantic extra the tests that need the encoder are skipped with the reason — except
under CI=true, where a missing extra is a failure (CI installs `.[semantic]`, so the suite must
never pass by skipping them).
"""

from __future__ import annotations

import os

import pytest

from kefuguard.semantic.embeddings import INSTALL_HINT, available

MISSING = f"the semantic extra is not installed ({INSTALL_HINT})"


def need_semantic() -> None:
    if available():
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI: {MISSING}", pytrace=False)
    pytest.skip(MISSING)


@pytest.fixture(scope="session")
def encoder():
    need_semantic()
    from kefuguard.semantic.embeddings import get_encoder

    return get_encoder().warm()


@pytest.fixture(scope="session")
def tone_model(encoder):
    from kefuguard.semantic.tone import load_tone_model

    return load_tone_model()
