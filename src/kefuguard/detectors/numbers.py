"""Phone, QQ, bank-card and ID-card numbers in the digit view; WeChat ids in the keyword view.

Candidates are maximal digit runs (Chinese/circled numerals already turned into digits and
separators removed, so 一三八 0013 8000 and ①③⑧… are runs too). Each kind validates its own
way, and a run preceded by order/tracking/price context (订单号, 快递单号, 价格…) is never contact
information.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from stdnum import luhn
from stdnum.cn import ric

from kefuguard.detectors.base import Detection, DetectorContext

_RUNS = re.compile(r"[0-9]{5,}x?")  # the digit view holds ASCII digits only
_MOBILE = re.compile(r"(?:86)?(1[3-9]\d{9})")
_LANDLINE = re.compile(r"0[1-9]\d{8,10}")
_HOTLINE = re.compile(r"[48]00\d{7}")
_LETTERS_BEFORE = re.compile(r"[a-z]*\Z")  # searched up to a run's start: the letters glued to it
_ALLOWED_GLUE = ("q", "qq", "v", "vx", "wx", "tel", "qq号", "x")


@lru_cache(maxsize=4096)
def is_phone_number(digits: str) -> bool:
    """A valid mainland mobile or fixed-line number, by Google's libphonenumber metadata.

    The number is built directly (country code 86, trunk 0 dropped) rather than parsed from
    text: the digits are already clean, and parsing costs four times as much.
    """
    national = digits[2:] if len(digits) == 13 and digits.startswith("86") else digits
    national = national[1:] if national.startswith("0") else national
    if not national.isdigit():
        return False
    try:
        number = phonenumbers.PhoneNumber(country_code=86, national_number=int(national))
        return phonenumbers.is_valid_number(number)
    except Exception:  # a validator's failure means "not valid", never an error for the caller
        return False


def _valid_id_card(number: str) -> bool:
    """python-stdnum's resident-ID check; any failure inside it means "not valid" (its birth-place
    table raises KeyError for some county codes), never an exception for the caller."""
    try:
        return ric.is_valid(number)
    except Exception:
        return False


def _valid_luhn(number: str) -> bool:
    try:
        return luhn.is_valid(number)
    except Exception:
        return False


def _glued_letters(view: str, start: int) -> str:
    """Letters immediately before a run (SF1234…, vx1928…)."""
    return view[_LETTERS_BEFORE.search(view, 0, start).start() : start]


def _classify(run: str, before: str, glued: str, ctx: DetectorContext) -> str | None:
    body = run.rstrip("x")
    if run.endswith("x"):
        return "id_card" if len(run) == 18 and _valid_id_card(run.upper()) else None
    n = len(body)
    if _MOBILE.fullmatch(body) and is_phone_number(body[-11:]):
        return "phone"
    if (_LANDLINE.fullmatch(body) or _HOTLINE.fullmatch(body)) and (
        is_phone_number(body) or _HOTLINE.fullmatch(body)
    ):
        return "phone"
    if n == 18 and _valid_id_card(body):
        return "id_card"
    if 16 <= n <= 19 and _valid_luhn(body) and (ctx.mentions(before, "bank") or body.startswith("62")):
        return "bank_card"
    if 5 <= n <= 11 and body[0] != "0" and (ctx.mentions(before[-4:], "qq") or glued.endswith("q")):
        return "qq"
    return None


def _plausible_length(run: str) -> bool:
    """Could a run this long be any kind of number we detect? A cheap filter before context."""
    body = run.rstrip("x")
    return _plausible(len(body), body[:2])


def _plausible(n: int, head: str) -> bool:
    """The length rules, given a run's length and its first two digits (used for 12 and 13)."""
    if n <= 11 or 16 <= n <= 19:
        return True  # QQ, mobile, landline, hotline; bank card; ID card (18)
    if n == 12:
        return head.startswith("0")  # landline with a four-digit area code
    if n == 13:
        return head == "86"  # mobile with the country code
    return False


def has_plausible_run(keyword_view: str, runs: re.Pattern[str], digit_table: list[str | None]) -> bool:
    """Whether the keyword view holds a digit/numeral run `find_numbers` could accept.

    `runs` finds maximal runs of 5+ digits or numerals. Order numbers (20+ digits), tracking
    numbers and dates run together (12 digits not starting with 0) are the usual runs in
    customer-service text; this lets the checker skip them without building the digit view.
    """
    found = runs.search(keyword_view)
    while found is not None:
        start, end = found.span()
        n = end - start
        # numerals map one to one onto digits: only a 12- or 13-long run needs its head read
        head = keyword_view[start : start + 2].translate(digit_table) if n in (12, 13) else ""
        if _plausible(n, head):
            return True
        found = runs.search(keyword_view, end)
    return False


def find_numbers(digit_view: str, ctx: DetectorContext) -> list[Detection]:
    """Contact/PII numbers in the digit view (same coordinates as the keyword view)."""
    found: list[Detection] = []
    for m in _RUNS.finditer(digit_view):
        start, end = m.span()
        if not _plausible_length(m.group()):
            continue  # order numbers (20+ digits), dates run together (202405011430) …
        if start > 0 and digit_view[start - 1].isdigit():
            continue
        before = ctx.before(digit_view, start)
        if ctx.mentions(before, "negative"):
            continue
        glued = _glued_letters(digit_view, start)
        if glued and not glued.endswith(_ALLOWED_GLUE):
            continue  # tracking numbers (sf1234…, yt…, jd…) and codes
        kind = _classify(m.group(), before, glued, ctx)
        if kind:
            found.append(Detection(kind, start, end, m.group()))
    return found


def find_wechat_ids(keyword_view: str, wechat_prefixes: re.Pattern[str]) -> list[Detection]:
    """A WeChat id right after a WeChat mention: 微信号abc_123, vx: wxid_88…

    A Latin alias (v, vx, wx) must start a word: the v of service@qq.com is no WeChat mention.
    (Checked here rather than by look-behinds in the pattern, which would cost it re's fast scan
    for the alternatives' first characters.)
    """
    found: list[Detection] = []
    m = wechat_prefixes.search(keyword_view)
    while m is not None:
        start = m.start()
        if start and keyword_view[start] in _LATIN and keyword_view[start - 1] in _LATIN_OR_DIGIT:
            m = wechat_prefixes.search(keyword_view, start + 1)
            continue
        found.append(Detection("wechat_id", m.start("id"), m.end("id"), m.group("id")))
        m = wechat_prefixes.search(keyword_view, m.end())
    return found


_LATIN = frozenset("abcdefghijklmnopqrstuvwxyz")
_LATIN_OR_DIGIT = _LATIN | frozenset("0123456789")


def wechat_prefix_pattern(prefixes: list[str]) -> re.Pattern[str]:
    """Compile the WeChat-id pattern from the alias list (longest prefixes first)."""
    alts = "|".join(re.escape(p) for p in sorted(set(prefixes), key=len, reverse=True))
    return re.compile(rf"(?:{alts})(?:号|id)?(?:是|为|搜|加)?(?P<id>[a-z][a-z0-9]{{5,19}})")
