"""Sample chat logs: a seeded generator of realistic multi-day exports and the bundled sample set.

Names are loaded lazily so `python -m kefuguard.sample.generator` does not import the module twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kefuguard.sample.generator import (
        COLUMNS,
        SHOPS,
        Agent,
        Shop,
        generate_messages,
        generate_to_jsonl,
        sample_dir,
        write_sample_set,
    )

__all__ = [
    "COLUMNS",
    "SHOPS",
    "Agent",
    "Shop",
    "generate_messages",
    "generate_to_jsonl",
    "sample_dir",
    "write_sample_set",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from kefuguard.sample import generator

        return getattr(generator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
