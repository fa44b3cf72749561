"""The main job end to end: audit the bundled sample logs, serially and in parallel, and render
the reports; the HTML of `make demo` is opened in real headless Chromium."""

from __future__ import annotations

import csv
import json
import os
import subprocess

import pytest
from typer.testing import CliRunner

from kefuguard.audit import AuditOptions, run_audit
from kefuguard.cli import app
from kefuguard.rules.model import PLATFORMS
from kefuguard.sample import sample_dir

from .io.test_html_browser import _chromium, _Dom


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    return run_audit([sample_dir()], AuditOptions(out_dir=tmp_path_factory.mktemp("serial"), workers=1))


def test_counts_add_up(serial):
    imp = serial.imports
    assert imp.read == imp.accepted + imp.duplicates + imp.rejected
    assert imp.accepted == serial.messages > 3000
    assert imp.duplicates == 3 and imp.rejected == 9  # one duplicate and three bad rows per sample file


def test_rejects_file_names_file_line_and_reason(serial):
    with open(serial.imports.rejects_path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    assert len(body) == 9
    text = " ".join(header).lower()
    assert "file" in text or "文件" in text
    for row in body:
        assert any(cell.isdigit() for cell in row), row  # the line number
        assert any(name in " ".join(row) for name in ("jsonl", "csv", "xlsx"))


def test_every_platform_and_shop_audited(serial):
    assert {s.platform for s in serial.shops} == set(PLATFORMS)
    for shop in serial.shops:
        assert shop.conversations > 0 and shop.metrics, shop.shop
        assert shop.exposure is not None


def test_planted_violations_found(serial):
    categories = set(serial.findings_by_category)
    for expected in ("diversion", "abuse", "superlative", "broken_promise", "attitude", "review_invite"):
        assert expected in categories, expected
    abuse = [c for c in serial.flagged if c.buyer_abuse]
    assert abuse and all("买家辱骂" in c.tags for c in abuse)


def test_flagged_conversations_carry_masked_highlightable_messages(serial):
    assert serial.flagged
    for conv in serial.flagged:
        assert conv.messages, conv.conversation_id
        for f in conv.findings:
            if f.kind == "message" and f.start is not None:
                text = conv.messages[f.message_index].text
                assert 0 <= f.start < f.end <= len(text)


def test_pdd_reply_rate_fine_and_exposure_are_estimates(serial):
    assert "估算" in serial.disclaimer
    pdd = next(s for s in serial.shops if s.platform == "pinduoduo")
    assert any(m.metric.startswith("pdd.") for m in pdd.metrics)


def test_parallel_equals_serial(serial, tmp_path):
    parallel = run_audit([sample_dir()], AuditOptions(out_dir=tmp_path, workers=2, batch_messages=300))
    assert parallel.conversations == serial.conversations
    assert parallel.messages == serial.messages
    assert parallel.findings_by_category == serial.findings_by_category
    assert [(a.agent_id, a.mean_score, a.rank) for a in parallel.agents] == [
        (a.agent_id, a.mean_score, a.rank) for a in serial.agents
    ]
    assert [s.model_dump(exclude={"exposure"}) for s in parallel.shops] == [
        s.model_dump(exclude={"exposure"}) for s in serial.shops
    ]


def test_demo_writes_reports_that_render_in_a_browser(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--workers", "1"])
    assert result.exit_code == 0, result.output
    for name in ("report.html", "report.json", "report.xlsx", "findings.csv", "rejects.csv"):
        assert (tmp_path / name).is_file(), name
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["conversations"] > 0
    # the demo joins the bundled order and refund exports: KPIs for all six shops, in every format
    kpis = data["kpis"]
    assert {r["platform"] for r in kpis["rows"] if r["level"] == "shop"} == set(PLATFORMS)
    assert kpis["imports"]["orders"]["accepted"] == 518 and kpis["imports"]["refunds"]["accepted"] == 113
    assert "销售与售后指标" in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "销售指标" in result.output and (tmp_path / "order_rejects.csv").is_file()
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required under CI")
        pytest.skip("Chromium not installed")
    proc = subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
            (tmp_path / "report.html").as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = _Dom()
    dom.feed(proc.stdout)
    assert len(dom.find("rect", "bar", within="chart-histogram")) >= 5
    assert dom.find("rect", "bar", within="chart-categories")
    marks = dom.find("mark", "violation")
    assert marks and all(m["text"].strip() for m in marks)


def test_a_broken_file_in_the_folder_does_not_stop_the_audit(tmp_path):
    """Issue 9: the sample logs plus a truncated workbook, a notes file and an empty CSV."""
    import shutil

    from kefuguard.io.reports import render_html

    logs = tmp_path / "logs"
    shutil.copytree(sample_dir(), logs)
    (logs / "broken.xlsx").write_bytes((logs / "chat_kuaishou_taobao.xlsx").read_bytes()[:3000])
    (logs / "notes.bin").write_bytes(b"\x00\x01")
    (logs / "empty.csv").write_bytes(b"")
    report = run_audit([logs], AuditOptions(out_dir=tmp_path / "out", workers=1))
    imp = report.imports
    assert imp.read == imp.accepted + imp.duplicates + imp.rejected
    assert imp.accepted > 3000 and imp.rejected == 9 + 1
    status = {f["path"].rsplit("/", 1)[-1]: f["status"] for f in imp.files}
    assert status["broken.xlsx"] == "unreadable" and status["notes.bin"] == "skipped"
    assert status["empty.csv"] == "empty" and status["README.md"] == "skipped"
    with open(imp.rejects_path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    assert any(r[0].endswith("broken.xlsx") and r[2] == "0" for r in rows)
    html = render_html(report)
    assert "无法读取：" in html and "broken.xlsx" in html


def test_out_dir_that_is_a_file_is_refused(tmp_path):
    from kefuguard.audit import OutputDirError

    target = tmp_path / "reports"
    target.write_text("x", encoding="utf-8")
    with pytest.raises(OutputDirError, match="--out"):
        run_audit([sample_dir()], AuditOptions(out_dir=target, workers=1))
    assert target.read_text(encoding="utf-8") == "x"


def test_reports_written_into_the_input_folder_are_not_read_back(tmp_path):
    import shutil

    logs = tmp_path / "logs"
    shutil.copytree(sample_dir(), logs)
    first = run_audit([logs], AuditOptions(out_dir=logs, workers=1))
    second = run_audit([logs], AuditOptions(out_dir=logs, workers=1))
    assert (second.imports.read, second.imports.rejected) == (first.imports.read, first.imports.rejected)
    status = {f["path"].rsplit("/", 1)[-1]: f["status"] for f in second.imports.files}
    assert status["findings.csv"] == status["rejects.csv"] == "skipped"
