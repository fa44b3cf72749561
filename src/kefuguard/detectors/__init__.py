"""Named detectors for contact and personal information (Presidio-style recognizers).

Each detector is small: a candidate pattern, context words that must (or must not) stand nearby,
and a validator (phonenumbers, Luhn, the ID-card checksum) that drops look-alikes such as order
numbers, tracking numbers, prices and dates. Detectors only find spans; masking is `rewrite`'s job.
"""

from kefuguard.detectors.base import Detection, DetectorContext
from kefuguard.detectors.links import find_emails, find_urls
from kefuguard.detectors.numbers import find_numbers, find_wechat_ids

__all__ = ["Detection", "DetectorContext", "find_emails", "find_numbers", "find_urls", "find_wechat_ids"]
