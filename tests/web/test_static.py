"""The dashboard's files: everything the page loads is in the package, third-party code comes with
its licence and provenance, and the project's own files name no other host (no CDN, no web fonts)
and hold no inline script (the page's Content-Security-Policy allows scripts from the server only)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from kefuguard.web import CSP, INDEX, STATIC_DIR, render_index

ROOT = Path(__file__).resolve().parents[2]
OWN = [INDEX, *sorted(p for p in STATIC_DIR.rglob("*") if p.is_file() and "vendor" not in p.parts)]
VENDOR = STATIC_DIR / "vendor"


def test_every_file_the_page_loads_is_shipped():
    page = render_index("test").decode()
    loaded = re.findall(r'(?:src|href)="(/static/[^"?]+)', page)
    assert len(loaded) >= 5
    for path in loaded:
        assert (STATIC_DIR / path.removeprefix("/static/")).is_file(), path
    assert "{{" not in page


def test_own_files_name_no_other_host_and_have_no_inline_script():
    for path in OWN:
        text = path.read_text(encoding="utf-8")
        hosts = [u for u in re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I)
                 if "www.w3.org" not in u]
        assert not hosts, f"{path.name} names {hosts}"
        assert "@import" not in text and "@font-face" not in text, path.name
        assert not re.search(r"\son[a-z]+=\"", text), f"{path.name} has an inline event handler"
    html = INDEX.read_text(encoding="utf-8")
    assert all(re.search(r"\ssrc=", tag) for tag in re.findall(r"<script[^>]*>", html)), "an inline <script>"
    assert "script-src 'self'" in CSP and "connect-src 'self'" in CSP and "unsafe-eval" not in CSP


def test_vendored_libraries_carry_licence_and_provenance():
    note = (VENDOR / "README.md").read_text(encoding="utf-8")
    for lib in (p for p in VENDOR.iterdir() if p.is_dir()):
        files = {p.name for p in lib.iterdir()}
        assert "LICENSE" in files, f"{lib.name} has no LICENSE"
        for code in (f for f in files if f.endswith(".js")):
            assert code in note, f"{code} is not described in vendor/README.md"
    licence = (VENDOR / "echarts" / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Version 2.0" in licence
    assert "BSD" in (VENDOR / "echarts" / "LICENSE-zrender").read_text(encoding="utf-8")
    assert "6.1.0" in note and "Apache-2.0" in note and "sha512-" in note
    head = (VENDOR / "echarts" / "echarts.common.min.js").read_text(encoding="utf-8")[:2000]
    assert "Apache Software Foundation" in head


def test_package_data_and_ignored_artifacts():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data = project["tool"]["setuptools"]["package-data"]["kefuguard"]
    assert {"web/index.html", "web/static/*", "web/static/**/*"} <= set(data)
    assert any(dep.startswith("selenium==") for dep in project["project"]["optional-dependencies"]["dev"])
    assert "/test-artifacts/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
