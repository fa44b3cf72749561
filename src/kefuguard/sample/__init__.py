"""Sample chat logs: a seeded generator of realistic multi-day exports and the bundled sample set."""

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
