"""`kefuguard extension pack`: the zip holds what the browser loads and nothing else, the same bytes
for the same sources; the sources hold no remote code and nothing that writes to a page's console.
(The browser tests load this zip, unzipped.)"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefuguard.cli import app
from kefuguard.cli_extension import ExtensionError, build_zip, check_sources
from tests.extension.conftest import EXTENSION_SRC

runner = CliRunner()


def test_pack_builds_the_zip(tmp_path: Path) -> None:
    result = runner.invoke(app, ["extension", "pack", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((EXTENSION_SRC / "manifest.json").read_text(encoding="utf-8"))
    target = tmp_path / f"kefuguard-extension-{manifest['version']}.zip"
    assert str(target.resolve()) in result.output
    with zipfile.ZipFile(target) as zf:
        names = set(zf.namelist())
        assert json.loads(zf.read("manifest.json")) == manifest
    assert {"manifest.json", "background.js", "common.js", "content.js", "content.css", "options.html",
            "options.js", "options.css"} <= names
    assert not {n for n in names if n.startswith("node_modules/") or n in ("package.json", "package-lock.json",
                                                                           "eslint.config.js")}
    # reproducible: the same sources give the same bytes
    again = build_zip(EXTENSION_SRC, tmp_path / "again")
    assert again.read_bytes() == target.read_bytes()


def test_path_and_missing_sources(tmp_path: Path) -> None:
    result = runner.invoke(app, ["extension", "path"])
    assert result.exit_code == 0 and result.output.strip() == str(EXTENSION_SRC)
    result = runner.invoke(app, ["extension", "pack", "--source", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "找不到扩展源码" in result.output


def test_remote_code_is_refused(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"manifest_version": 3, "name": "x", "version": "1"}', encoding="utf-8")
    (tmp_path / "page.html").write_text('<script src="https://cdn.example.com/x.js"></script>', encoding="utf-8")
    with pytest.raises(ExtensionError, match="远程代码"):
        check_sources(tmp_path)
    (tmp_path / "page.html").write_text('<script src="page.js"></script>', encoding="utf-8")
    (tmp_path / "page.js").write_text('import x from "https://cdn.example.com/x.js";', encoding="utf-8")
    with pytest.raises(ExtensionError, match="远程代码"):
        check_sources(tmp_path)
    (tmp_path / "manifest.json").write_text('{"manifest_version": 2}', encoding="utf-8")
    with pytest.raises(ExtensionError, match="Manifest V3"):
        check_sources(tmp_path)


def test_manifest_and_sources_keep_the_promises() -> None:
    """MV3, a module service worker, the key's storage, the workbenches' hosts; no console, no eval,
    no fetch but the background's to the configured server."""
    manifest = json.loads((EXTENSION_SRC / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["manifest_version"] == 3
    assert manifest["background"] == {"service_worker": "background.js", "type": "module"}
    assert set(manifest["permissions"]) == {"storage", "scripting"}  # no tabs, no cookies, no webRequest
    hosts = " ".join(manifest["host_permissions"])
    for host in ("im.jinritemai.com", "fxg.jinritemai.com", "mms.pinduoduo.com", "*.taobao.com", "*.tmall.com",
                 "dongdong.jd.com", "*.jd.com", "s.kwaixiaodian.com", "*.kwaixiaodian.com", "127.0.0.1"):
        assert host in hosts, host
    assert "unsafe-eval" not in json.dumps(manifest.get("content_security_policy", {}))
    for path in EXTENSION_SRC.glob("*.js"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\bconsole\s*\.", text), f"{path.name} writes to the console"
        assert not re.search(r"\beval\s*\(|new\s+Function\s*\(", text), path.name
        if path.name != "background.js":
            assert "fetch(" not in text, f"{path.name}: only the background worker talks to the server"
    content = (EXTENSION_SRC / "content.js").read_text(encoding="utf-8")
    assert "apiKey" not in content and "chrome.storage" not in content  # the key never reaches a page
