"""URLs, bare domains and e-mail addresses, found in the link view (original offsets).

The link view is NFKC + lower-case with 。and ． read as dots, so ｗｗｗ．ｘｘ．ｃｏｍ is caught;
the checked platform's own domains are allowed.
"""

from __future__ import annotations

import re

from kefuguard.detectors.base import Detection

_TLDS = (
    "com|cn|net|org|cc|top|xyz|vip|shop|me|io|co|info|link|ink|site|wang|store|club|online|tv|hk|"
    "tw|jp|app|ltd|group|work|fun|live|icu"
)
_URL = re.compile(
    rf"(?:https?://|www\.)[^\s\u4e00-\u9fff，。！？]+"
    rf"|(?<![a-z0-9@.\-])(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+(?:{_TLDS})(?![a-z0-9])(?:/[^\s\u4e00-\u9fff，。！？]*)?"
)
_EMAIL = re.compile(r"[a-z0-9][a-z0-9._%+\-]*@[a-z0-9.\-]+\.[a-z]{2,}")
_HOST = re.compile(r"^(?:https?://)?([^/:?#]+)")


def _host(url: str) -> str:
    m = _HOST.match(url)
    return m.group(1) if m else url


def _allowed(host: str, allowed: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in allowed)


def find_urls(link_view: str, allowed: tuple[str, ...]) -> list[Detection]:
    found = []
    for m in _URL.finditer(link_view):
        value = m.group().rstrip(".,;:)")
        if _allowed(_host(value), allowed):
            continue
        found.append(Detection("url", m.start(), m.start() + len(value), value, in_original=True))
    return found


def find_emails(link_view: str) -> list[Detection]:
    return [Detection("email", m.start(), m.end(), m.group(), in_original=True) for m in _EMAIL.finditer(link_view)]
