"""URLs, bare domains and e-mail addresses, found in the link view (original offsets).

The link view is NFKC + lower-case with 。and ． read as dots, so ｗｗｗ．ｘｘ．ｃｏｍ is caught;
the checked platform's own domains are allowed.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from functools import cache

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


# ------------------------------------------------------------------ links written out
# Links and e-mails spelled so that the plain patterns miss them: letters spaced out
# (h t t p s : / / w w w . a b c . c o m), dots written 点/點/dot/(.)/[.], @ written 艾特/at/圈a/#/
# (at)/[at], and bare IPv4 addresses. Tokens are matched one after another; whitespace may join
# two tokens only where a writer spaces a link out (see `_joins`), then the joined tokens are read
# as a link (written forms → . and @) and validated like a plain link.
_SP = "[ \t\u3000\u00a0]"
_ALNUM = "0-9a-zA-Z０-９ａ-ｚＡ-Ｚ"
_OPEN, _CLOSE = r"[(\[（【［{｛]", r"[)\]）】］}｝]"
_TOKEN_SOURCE = (
    rf"(?P<ws>{_SP}{{1,3}})?"
    rf"(?:(?P<scheme>[:：]{_SP}*/{_SP}*/)"
    rf"|(?P<dot>[.。．]|[点點](?={_SP}*[a-zA-Zａ-ｚＡ-Ｚ])|{_OPEN}{_SP}*(?:[.。．点點]|[dD][oO][tT]){_SP}*{_CLOSE})"
    rf"|(?P<at>[@＠#＃]|艾特|圈{_SP}*[aAａＡ]|{_OPEN}{_SP}*(?:[aA][tT]|[@＠]){_SP}*{_CLOSE})"
    rf"|(?P<colon>[:：])|(?P<slash>/)"
    rf"|(?P<atom>[{_ALNUM}][{_ALNUM}_\-]*))"
)
_SEP_TEXT = {"scheme": "://", "dot": ".", "at": "@", "colon": ":", "slash": "/"}
_PLAIN_SEPS = frozenset(".。．@＠:：/")
_W_TLDS = _TLDS + "|edu|gov|email|mail"
_LABEL = r"[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?"
_IPV4 = r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_W_EMAIL_SOURCE = (rf"(?<![a-z0-9._%+\-])[a-z0-9][a-z0-9._%+\-]*@(?P<domain>(?:{_LABEL}\.)+(?:{_W_TLDS}))(?![a-z0-9])")
_W_URL_SOURCE = (
    rf"(?<![a-z0-9@.\-])(?:https?://)?(?P<host>(?:{_LABEL}\.)+(?:{_TLDS}))(?![a-z0-9\-])(?::\d{{1,5}})?(?:/[a-z0-9_\-./:]*)?"
    rf"|https?://(?P<ip>{_IPV4})(?![0-9])(?::\d{{1,5}})?(?:/[a-z0-9_\-./:]*)?"
)
_IP_URL_SOURCE = (
    rf"(?<![0-9a-zA-Z.\-_])(?P<ip>{_IPV4})(?![0-9a-zA-Z_]|\.[0-9a-zA-Z])(?::\d{{1,5}}(?!\d))?"
    r"(?:/[^\s\u4e00-\u9fff，。！？]*)?"
)
_VERSION_CONTEXT_SOURCE = r"(?i)(?:版本号?|固件|系统|version|ver|型号)[\s:：是为]*\Z"
_MAIL_DOMAINS = frozenset(
    {
        "qq.com", "163.com", "126.com", "yeah.net", "139.com", "189.cn", "sina.com", "sina.cn", "sohu.com",
        "foxmail.com", "gmail.com", "outlook.com", "hotmail.com", "live.com", "icloud.com", "yahoo.com",
        "aliyun.com", "88.com",
    }
)
_DIGIT_HOST_TLDS = frozenset(("com", "cn", "net", "org"))
_POINT_TLDS = frozenset(("com", "cn", "net", "org", "cc", "top", "xyz", "vip", "hk", "tw", "io", "co", "info"))


@cache
def _compiled() -> dict[str, re.Pattern[str]]:
    """The written-link patterns, compiled on the first message that passes the gate (compiling
    them at import took a command-line check 20 ms for nothing)."""

    return {
        "token": re.compile(_TOKEN_SOURCE),
        "email": re.compile(_W_EMAIL_SOURCE),
        "url": re.compile(_W_URL_SOURCE),
        "ip": re.compile(_IP_URL_SOURCE),
        "version": re.compile(_VERSION_CONTEXT_SOURCE),
    }


def _tokens(text: str) -> list[list[tuple[str, str, int, int, bool]]]:
    """Runs of link tokens that stand next to each other (up to 3 spaces between): per token
    (kind, text read as a link, start, end, spaced: whitespace before it)."""
    runs: list[list[tuple[str, str, int, int, bool]]] = []
    run: list[tuple[str, str, int, int, bool]] = []
    last_end = -1
    for m in _compiled()["token"].finditer(text):
        kind = m.lastgroup
        if kind is None:
            continue
        start, end = m.span(kind)
        value = _SEP_TEXT.get(kind)
        if value is None:
            value = m.group(kind)
            value = value.lower() if value.isascii() else unicodedata.normalize("NFKC", value).lower()
        token = (kind, value, start, end, m.group("ws") is not None)
        if m.start() != last_end and run:
            runs.append(run)
            run = []
        run.append(token)
        last_end = end
    if run:
        runs.append(run)
    return runs


def _spelled_words(run: list[tuple[str, str, int, int, bool]]) -> list[tuple[str, str, int, int, bool]]:
    """` dot ` and ` at ` between two words, with spaces on both sides, are separators."""
    out = list(run)
    for k in range(1, len(out) - 1):
        kind, value, start, end, spaced = out[k]
        if (
            kind == "atom"
            and value in ("dot", "at")
            and spaced
            and out[k + 1][4]
            and out[k - 1][0] == "atom"
            and out[k + 1][0] == "atom"
        ):
            out[k] = ("dot" if value == "dot" else "at", "." if value == "dot" else "@", start, end, True)
    return out


def _joins(prev: tuple, cur: tuple, nxt: tuple | None, text: str) -> bool:
    """Whether whitespace before `cur` still joins it to `prev` (both are in one written link)."""
    if not cur[4]:
        return True
    if prev[0] == "atom" and cur[0] == "atom":
        return prev[3] - prev[2] == 1 and cur[3] - cur[2] == 1  # letters spaced out one by one
    if cur[0] != "atom" and text[cur[2] : cur[3]] in _PLAIN_SEPS:
        # `abc . com` and `w w w . a b c`: spaces on both sides of a plain separator, not `ok .me`
        return nxt is not None and nxt[4]
    if prev[0] != "atom" and text[prev[2] : prev[3]] in _PLAIN_SEPS:
        # after a plain separator: only if it was spaced before too (`sorry. me` is two sentences)
        return prev[4]
    return True  # written separators (点, dot, 艾特, (.), ://) take spaces either side


def _link_runs(text: str):
    for run in _tokens(text):
        run = _spelled_words(run)
        part = [run[0]]
        for k in range(1, len(run)):
            nxt = run[k + 1] if k + 1 < len(run) else None
            if _joins(run[k - 1], run[k], nxt, text):
                part.append(run[k])
            else:
                yield part
                part = [run[k]]
        yield part


def _read(text: str, part) -> tuple[str, list[int], list[int], list[bool]]:
    """The run read as a link: its text and, per character, the original span and whether the
    character comes from a written form or a spaced-out join."""
    chars, starts, ends, written = [], [], [], []
    for kind, value, start, end, spaced in part:
        raw = text[start:end]
        is_written = (
            (kind in ("dot", "at") and raw not in _PLAIN_SEPS)
            or (kind == "scheme" and raw != "://")
            or (spaced and part[0][2] != start)
        )
        chars.append(value)
        starts.extend([start] * len(value))
        ends.extend([end] * len(value))
        written.extend([is_written] * len(value))
    return "".join(chars), starts, ends, written


def _written_at_ok(text: str, part, s: int, e: int, domain: str, starts: list[int]) -> bool:
    """An e-mail whose @ is the English word ` at ` counts only if its domain is written out too or
    is a mail provider (`see you at 3 dot com`, `look at jd.com` are no e-mails)."""
    at_words = [t for t in part if t[0] == "at" and text[t[2] : t[3]].lower() == "at" and starts[s] <= t[2] < starts[e - 1] + 1]
    if not at_words:
        return True
    dot_written = any(t[0] == "dot" and text[t[2] : t[3]] not in _PLAIN_SEPS and t[2] > at_words[0][2] for t in part)
    return dot_written or domain in _MAIL_DOMAINS


def _host_ok(host: str, point_dots: int) -> bool:
    """Whether a host whose dots include `point_dots` written as a bare 点/點 reads as a site.

    Digits only (8点live, 12点com) are a time far more often than a site: only 2+ digits and
    com/cn/net/org count (163点com, 360点cn). One word, 点, and a TLD that is an English word too
    (app点shop: "tap shop") counts only for the TLDs sites are written with (abc点com, abc点top).
    """
    if not point_dots:
        return True
    labels = host.split(".")
    if all(label.isdigit() for label in labels[:-1]):
        return labels[-1] in _DIGIT_HOST_TLDS and len("".join(labels[:-1])) >= 2
    return len(labels) > 2 or labels[-1] in _POINT_TLDS


def find_written_links(text: str, allowed: tuple[str, ...] = ()) -> list[Detection]:
    """Links and e-mails written out so the plain patterns miss them, and bare IPv4 addresses.

    `text` is the link view (or the original text: the coordinates are the same, and full-width
    and upper-case letters are read as ASCII). Returns in_original spans, kind "url" or "email":
    spaced-out links (h t t p s : / / w w w . a b c . c o m), dots written 点/點/dot/(.)/[.]
    (abc点com, abc dot com), @ written 艾特/at/圈a/#/(at)/[at] (abc123艾特qq点com, lily#163.com,
    service at 163 dot com), and public IPv4 addresses with an optional :port and /path (not
    private/loopback ones such as a router's 192.168.1.1, not version numbers such as v1.2.3.4 or
    版本1.2.3.4, not inside a longer dotted number). Links only the plain `find_urls` /
    `find_emails` patterns need are left to them; `allowed` domains (and their subdomains) are
    not reported.
    """
    try:
        return _find_written_links(text, allowed)
    except Exception:  # a detector never breaks a check
        return []


def _find_written_links(text: str, allowed: tuple[str, ...]) -> list[Detection]:
    found: list[Detection] = []
    for part in _link_runs(text):
        if len(part) < 3:
            continue
        read, starts, ends, written = _read(text, part)
        taken: list[tuple[int, int]] = []
        for m in _compiled()["email"].finditer(read):
            s, e = m.span()
            taken.append((s, e))
            if any(written[s:e]) and _written_at_ok(text, part, s, e, m.group("domain"), starts):
                found.append(Detection("email", starts[s], ends[e - 1], text[starts[s] : ends[e - 1]], in_original=True))
        for m in _compiled()["url"].finditer(read):
            s, e = m.span()
            value = m.group().rstrip(".:/")
            e = s + len(value)
            if any(ts < e and s < te for ts, te in taken) or not any(written[s:e]):
                continue
            host = m.group("host") or m.group("ip")
            o_start, o_end = starts[s], ends[e - 1]
            point_dots = sum(1 for t in part if t[0] == "dot" and o_start <= t[2] < o_end and text[t[2]] in "点點")
            if _allowed(host, allowed) or (m.group("host") and not _host_ok(host, point_dots)):
                continue
            found.append(Detection("url", starts[s], ends[e - 1], text[starts[s] : ends[e - 1]], in_original=True))
    for m in _compiled()["ip"].finditer(text):
        ip = m.group("ip")
        if _compiled()["version"].search(text, max(0, m.start() - 12), m.start()) or not _is_public(ip):
            continue
        value = m.group().rstrip(".,;:)")
        if any(d.start <= m.start() < d.end for d in found):
            continue
        found.append(Detection("url", m.start(), m.start() + len(value), value, in_original=True))
    return found


def _is_public(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_global
    except ValueError:
        return False


# The gate: one search over the original text (or the link view) that every written link
# `find_written_links` reports passes. Written 点 must come before a letter (下午3点发货, 两点半 stay
# out) and a written separator right after a letter or digit (#3号色 stays out). Every branch
# starts at the rarer character (a space, a dot, 点, #, 艾, 圈, a bracket) and looks back for the
# letter: the pattern opens with one character class, so re skips all other characters at C speed.
_A = f"[{_ALNUM}]"
_AT_WORD, _DOT_WORD = "[aAａＡ][tTｔＴ]", "[dDｄＤ][oOｏＯ][tTｔＴ]"


def _after_alnum(marker: str) -> str:
    """Right after `marker`, which follows a letter/digit with at most three spaces between."""
    return "(?:" + "|".join(f"(?<={_A}{_SP * k}{marker})" for k in range(4)) + ")"


_GATE = re.compile(
    rf"[ \t\u3000\u00a0点點#＃艾圈(\[（【［{{｛.。．/@＠]"
    rf"(?:(?<=[点點]){_after_alnum('[点點]')}{_SP}*[a-zA-Zａ-ｚＡ-Ｚ]"  # abc点com, abc 点 com
    rf"|(?<=[#＃]){_after_alnum('[#＃]')}{_SP}*{_A}"  # lily#163.com
    rf"|(?<=艾){_after_alnum('艾')}特{_SP}*{_A}"  # abc艾特qq
    rf"|(?<=圈){_after_alnum('圈')}{_SP}*[aAａＡ]{_SP}*{_A}"  # abc圈aqq
    rf"|(?<={_OPEN}){_after_alnum(_OPEN)}{_SP}*(?:[.。．点點@＠]|{_DOT_WORD}|{_AT_WORD})"  # abc(.)com, abc[at]qq
    rf"|(?<={_A}{_SP})(?:{_SP}*(?:{_DOT_WORD}|{_AT_WORD}){_SP}+{_A}"  # abc dot com, service at 163
    rf"|{_SP}*[.。．:：/@＠#＃]"  # a space before a separator: abc . com, h t t p s : / /
    rf"|(?<!{_A}{_A}{_SP}){_SP}{{0,2}}{_A}(?!{_A}))"  # letters spaced out: w w w, c o m
    rf"|(?<=[.。．/@＠]){_SP}+{_A}"  # a space after a separator: https:// www.abc.com
    rf"|(?<=[0-9０-９][.。．])[0-9０-９]{{1,3}}[.。．][0-9０-９]{{1,3}}[.。．][0-9０-９])"  # IPv4
)


def might_hold_written_link(text: str) -> bool:
    """Cheap gate for `find_written_links` on the original text (or the link view): one
    compiled-regex search; False means `find_written_links` finds nothing."""
    return _GATE.search(text) is not None
