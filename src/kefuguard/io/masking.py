"""Moved to `kefuguard.masking` (core, shared by reports, storage and logs); re-exported here so
existing imports keep working."""

from kefuguard.masking import (
    MASKED_KINDS,
    mask_cells,
    mask_optional,
    mask_report,
    mask_text,
    pii_spans,
)

__all__ = ["MASKED_KINDS", "mask_cells", "mask_optional", "mask_report", "mask_text", "pii_spans"]
