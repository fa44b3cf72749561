"""Masking lives in the core (`kefuguard.masking`); `kefuguard.io.masking` re-exports it."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_core_masking_imports_nothing_above_the_engine():
    code = (
        "import sys, kefuguard.masking\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('kefuguard.io', 'kefuguard.conversation',"
        " 'kefuguard.cli', 'kefuguard.audit')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_io_masking_is_the_same_implementation():
    import kefuguard.io.masking as old
    import kefuguard.masking as core

    for name in ("mask_text", "mask_report", "pii_spans", "mask_optional", "MASKED_KINDS"):
        assert getattr(old, name) is getattr(core, name)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("核对：11010519491231002X、建国路", "核对：110105********002X、建国路"),
        ("身份证 11010519491231002x", "身份证 110105********002x"),
        ("订单号110105194912310021", "订单号110105194912310021"),  # wrong check digit: not an ID number
        ("call me 0571-88886666", None),
    ],
)
def test_id_numbers_masked_without_context(text, masked):
    from kefuguard.masking import mask_text

    result = mask_text(text)
    assert len(result) == len(text)
    if masked is not None:
        assert result == masked
    else:
        assert "88886666" not in result
