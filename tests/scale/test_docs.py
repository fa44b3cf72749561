"""docs/scale.md documents the Parquet tables exactly as kefuguard.io.parquet writes them."""

from __future__ import annotations

from pathlib import Path

from kefuguard.audit import OUTPUT_FILES, PARQUET_FILES
from kefuguard.io.parquet import TABLES, schema_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "scale.md"


def test_scale_doc_holds_the_parquet_schemas():
    text = DOC.read_text(encoding="utf-8")
    start = text.index("<!-- parquet-schemas")
    end = text.index("<!-- /parquet-schemas -->")
    block = text[text.index("\n", start) + 1:end]
    assert block.strip() == schema_markdown().strip(), "run kefuguard.io.parquet.schema_markdown() and paste it"


def test_every_parquet_table_is_an_output_never_read_back():
    assert set(PARQUET_FILES) == set(TABLES)
    assert set(PARQUET_FILES) <= set(OUTPUT_FILES)
