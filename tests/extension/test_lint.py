"""ESLint over the extension's JavaScript (extension/eslint.config.js: recommended rules, no console,
no eval, no remote imports), with the versions pinned in extension/package-lock.json.

Needs node and npm: without them the test skips with the reason, except under CI (CI set), where it
fails. `npm ci` runs here when extension/node_modules lacks eslint (it needs the npm registry once).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.extension.conftest import EXTENSION_SRC

ESLINT = EXTENSION_SRC / "node_modules" / ".bin" / "eslint"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def test_eslint_passes() -> None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        _unavailable("the extension's lint needs node and npm (apt-get install nodejs npm)")
    if not ESLINT.exists():
        installed = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=EXTENSION_SRC,
                                   capture_output=True, text=True, timeout=300)
        if installed.returncode != 0 or not ESLINT.exists():
            _unavailable(f"npm ci in extension/ failed (no registry?): {installed.stderr.strip()[-600:]}")
    result = subprocess.run([node, str(ESLINT), "--max-warnings", "0", "."], cwd=EXTENSION_SRC,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
