"""PII masked in every output (issue 9, item 2): run `kefuguard audit` on a small log holding a buyer's
phone number, ID number and address — in buyer and agent messages and in a rejected row — and scan
every file the audit writes (HTML, JSON, XLSX opened with openpyxl, findings.csv, rejects.csv)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefuguard.cli import app

PHONE = "13812345678"
ID_NUMBER = "11010519491231002X"
ADDRESS = "建国路88号3栋2单元501室"
SECRETS = (PHONE, ID_NUMBER, ADDRESS, "建国路88号", "2单元501室")

HEADER = ["会话ID", "平台", "店铺", "客服账号", "买家", "角色", "发送时间", "消息内容"]


def _log(path: Path) -> Path:
    rows = [
        ["C1", "拼多多", "旗舰店", "kf01", "buyer1", "买家", "2024-05-01 10:00:00",
         f"我的电话{PHONE}，身份证{ID_NUMBER}，地址北京市朝阳区{ADDRESS}"],
        ["C1", "拼多多", "旗舰店", "kf01", "buyer1", "客服", "2024-05-01 10:00:30",
         f"亲，加我微信吧，或者打我电话也行，我核对一下：{PHONE}、{ID_NUMBER}、{ADDRESS}"],
        ["C1", "拼多多", "旗舰店", "kf01", "buyer1", "买家", "2024-05-01 10:01:00", "好的"],
        # rejected (no time), with all three in it
        ["C1", "拼多多", "旗舰店", "kf01", "buyer1", "买家", "",
         f"再说一次：{PHONE} {ID_NUMBER} 北京市朝阳区{ADDRESS}"],
        ["C2", "拼多多", "旗舰店", "kf02", "buyer2", "买家", "2024-05-01 11:00:00", f"寄到{ADDRESS}，手机{PHONE}"],
        ["C2", "拼多多", "旗舰店", "kf02", "buyer2", "客服", "2024-05-01 11:00:20", "你是不是傻，自己看详情页"],
    ]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def _texts(out: Path) -> dict[str, str]:
    """Every file under `out` as text (the workbook: every cell of every sheet)."""
    from openpyxl import load_workbook

    texts: dict[str, str] = {}
    for path in sorted(out.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".xlsx":
            wb = load_workbook(path, read_only=True)
            cells = [str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
                     if v is not None]
            wb.close()
            texts[path.name] = "\n".join(cells)
        else:
            texts[path.name] = path.read_bytes().decode("utf-8", "replace")
    return texts


def _leaks(texts: dict[str, str]) -> list[tuple[str, str]]:
    found = []
    for name, text in texts.items():
        for secret in SECRETS:
            # also as it would appear inside JSON embedded with ASCII escapes
            forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
            if any(form in text for form in forms):
                found.append((name, secret))
    return found


def test_every_output_of_an_audit_is_masked(tmp_path: Path) -> None:
    log = _log(tmp_path / "chat.csv")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["audit", str(log), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    texts = _texts(out)
    assert set(texts) >= {"report.html", "report.json", "report.xlsx", "findings.csv", "rejects.csv"}
    assert _leaks(texts) == []
    # ...and the masked forms are there, so the scan did look at the data
    assert "138****5678" in texts["rejects.csv"] and "138****5678" in texts["findings.csv"]
    assert "138****5678" in texts["report.xlsx"] and "138****5678" in texts["report.json"]
    assert PHONE not in result.output


def test_no_mask_is_explicit_and_warned(tmp_path: Path) -> None:
    log = _log(tmp_path / "chat.csv")
    out = tmp_path / "raw"
    result = CliRunner().invoke(app, ["audit", str(log), "--out", str(out), "--workers", "1", "--no-mask"])
    assert result.exit_code == 0, result.output
    assert "--no-mask" in result.output and "警告" in result.output
    leaks = _leaks(_texts(out))
    assert ("rejects.csv", PHONE) in leaks and ("findings.csv", PHONE) in leaks  # the scan finds what is there


@pytest.mark.parametrize("workers", [1, 2])
def test_rejects_and_findings_masked_through_the_library_too(tmp_path: Path, workers: int) -> None:
    from kefuguard.audit import AuditOptions, run_audit

    log = _log(tmp_path / "chat.csv")
    run_audit([log], AuditOptions(out_dir=tmp_path / "o", workers=workers))
    texts = _texts(tmp_path / "o")
    assert set(texts) == {"findings.csv", "rejects.csv"}
    assert _leaks(texts) == []


def test_no_mask_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    log = _log(tmp_path / "chat.csv")
    with caplog.at_level("WARNING", logger="kefuguard.audit"):
        result = CliRunner().invoke(app, ["audit", str(log), "--out", str(tmp_path / "o"), "-w", "1", "--no-mask"])
    assert result.exit_code == 0
    assert any("--no-mask" in r.getMessage() for r in caplog.records)
