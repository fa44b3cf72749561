"""Named detectors for contact and personal information (Presidio-style recognizers).

Each detector is small: a candidate pattern, context words that must (or must not) stand nearby,
and a validator (phonenumbers, Luhn, the ID-card checksum) that drops look-alikes such as order
numbers, tracking numbers, prices and dates. Detectors only find spans; masking is `rewrite`'s job.
"""

from kefuguard.detectors.base import Detection, DetectorContext
from kefuguard.detectors.links import find_emails, find_urls, find_written_links, might_hold_written_link
from kefuguard.detectors.numbers import (
    find_numbers,
    find_split_phones,
    find_wechat_ids,
    might_hold_split_phone,
    separated_before_from_offsets,
)

__all__ = [
    "Detection",
    "DetectorContext",
    "find_emails",
    "find_numbers",
    "find_split_phones",
    "find_urls",
    "find_wechat_ids",
    "find_written_links",
    "might_hold_split_phone",
    "might_hold_written_link",
    "separated_before_from_offsets",
]
