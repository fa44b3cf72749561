"""Phone, QQ, bank-card and ID-card numbers in the digit view; WeChat ids in the keyword view.

Candidates are maximal digit runs (Chinese/circled numerals already turned into digits and
separators removed, so 一三八 0013 8000 and ①③⑧… are runs too). Each kind validates its own
way, and a run preceded by order/tracking/price context (订单号, 快递单号, 价格…) is never contact
information.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from kefuguard.detectors.base import Detection, DetectorContext

_RUNS = re.compile(r"[0-9]{5,}x?")  # the digit view holds ASCII digits only
_MOBILE = re.compile(r"(?:86)?(1[3-9]\d{9})")
_LANDLINE = re.compile(r"0[1-9]\d{8,10}")
_HOTLINE = re.compile(r"[48]00\d{7}")
_LETTERS_BEFORE = re.compile(r"[a-z]*\Z")  # searched up to a run's start: the letters glued to it
_ALLOWED_GLUE = ("q", "qq", "v", "vx", "wx", "tel", "qq号", "x")
_GLUE_REACH = 16  # longer than any allowed glue or contact word
# English contact words an agent may write right before a number (tel13800…, phone:…, call…).
# The digit view reads the letter o as 0 (engine.yaml numerals), so each is also kept as it reads there.
_EN_CONTACT_WORDS = (
    "tel", "tele", "telephone", "phone", "cellphone", "cell", "call", "callme", "mobile", "mob", "contact",
    "whatsapp", "wechat", "weixin", "qq", "vx", "wx", "hotline",
)
_CONTACT_GLUE = tuple(
    dict.fromkeys((*_ALLOWED_GLUE, *_EN_CONTACT_WORDS, *(w.replace("o", "0") for w in _EN_CONTACT_WORDS)))
)


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
        import phonenumbers  # imported on the first number to validate: most checks never need it

        number = phonenumbers.PhoneNumber(country_code=86, national_number=int(national))
        return phonenumbers.is_valid_number(number)
    except Exception:  # a validator's failure means "not valid", never an error for the caller
        return False


def _valid_id_card(number: str) -> bool:
    """python-stdnum's resident-ID check; any failure inside it means "not valid" (its birth-place
    table raises KeyError for some county codes), never an exception for the caller."""
    try:
        from stdnum.cn import ric

        return ric.is_valid(number)
    except Exception:
        return False


def _valid_luhn(number: str) -> bool:
    try:
        from stdnum import luhn

        return luhn.is_valid(number)
    except Exception:
        return False


def _glued_letters(view: str, start: int) -> str:
    """Letters immediately before a run (SF1234…, vx1928…)."""
    # from at most 16 characters back: searching from 0 before every run made long texts quadratic
    return view[_LETTERS_BEFORE.search(view, max(0, start - _GLUE_REACH), start).start() : start]


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


def has_plausible_run(
    keyword_view: str, runs: re.Pattern[str], digit_table: list[str | None], ctx: DetectorContext | None = None
) -> bool:
    """Whether the keyword view holds a digit/numeral run `find_numbers` could accept.

    `runs` finds maximal runs of 5+ digits or numerals. Order numbers (20+ digits), tracking
    numbers and dates run together (12 digits not starting with 0) are the usual runs in
    customer-service text; this lets the checker skip them without building the digit view.
    With `ctx`, a run right after an order/tracking/price word (订单号, 快递单号, 金额 …) is ruled out
    too, as `find_numbers` would: the words are looked for in the last characters before the run
    (`find_numbers` may start a run up to two characters later, and its window still holds them).
    """
    found = runs.search(keyword_view)
    while found is not None:
        start, end = found.span()
        # `find_numbers` may read up to two leading o's as the end of a word (hello 0571…): the run
        # is also tried without them
        for skip in range(3):
            if skip and keyword_view[start + skip - 1] != "o":
                break
            if _plausible_run(keyword_view, start + skip, end, digit_table, ctx):
                return True
        found = runs.search(keyword_view, end)
    return False


def _plausible_run(
    keyword_view: str, start: int, end: int, digit_table: list[str | None], ctx: DetectorContext | None
) -> bool:
    """`has_plausible_run`'s test of one run."""
    n = end - start
    if n < 5:
        return False
    if ctx is None:
        # numerals map one to one onto digits: only a 12- or 13-long run needs its head read
        return _plausible(n, keyword_view[start : start + 2].translate(digit_table) if n in (12, 13) else "")
    if not (_plausible(n, "") or n in (12, 13)):
        return False
    head = keyword_view[start : start + 3].translate(digit_table)
    return (
        _plausible(n, head[:2])
        and (n > 11 or _phone_shaped(n, head) or _qq_possible(keyword_view, start, head, digit_table, ctx))
        and not ctx.mentions(keyword_view[max(0, start - ctx.window + 2) : start].translate(digit_table), "negative")
    )


def _phone_shaped(n: int, head: str) -> bool:
    """A run of 5–11 digits that `_classify` could take for a phone number by its length and head."""
    return (
        (n == 11 and head[0] == "1" and head[1] in "3456789")
        or (10 <= n <= 12 and head[0] == "0")
        or (n == 10 and head in ("400", "800"))
    )


def _qq_possible(view: str, start: int, head: str, digit_table: list[str | None], ctx: DetectorContext) -> bool:
    """A QQ number needs a QQ word (qq, 扣扣, 加 …) in the four characters before it (a glued q
    is one): prices run together (945.00 → 94500), dates and codes have none."""
    return head[0] != "0" and ctx.mentions(view[max(0, start - 4) : start].translate(digit_table), "qq")


def separated_before_from_offsets(offsets: Sequence[int] | Callable[[], Sequence[int]]) -> Callable[[int], bool]:
    """`separated_before` for `find_numbers`, from a view's offset map (`Views.offsets`: original
    index of every view character, plus the end sentinel). A character was deleted right before
    view index i iff the original index jumps by more than one; one original character expanded
    into several view characters (equal offsets) is no separator.

    `offsets` may be a zero-argument callable (`lambda: views.offsets`): it is called on first
    use only, and `find_numbers` asks only when a Latin letter stands right before a digit run,
    so most messages never build the offset map.
    """
    table: list[Sequence[int]] = [] if callable(offsets) else [offsets]

    def separated_before(i: int) -> bool:
        if not table:
            table.append(offsets())
        offs = table[0]
        try:
            if i <= 0:
                return bool(offs) and offs[0] > 0
            return offs[i] > offs[i - 1] + 1
        except IndexError:
            return False

    return separated_before


def _glued_word(view: str, start: int, separated_before: Callable[[int], bool]) -> str:
    """The letters/digits glued to view index `start` in the ORIGINAL text: walk back while no
    deleted character (space, colon, punctuation) stood between."""
    j = start
    while j > 0 and view[j - 1] in _LATIN_OR_DIGIT and not separated_before(j):
        j -= 1
    return view[j:start]


def _spelled_o_prefix(view: str, start: int, end: int, separated_before: Callable[[int], bool]) -> int:
    """Where a run really starts when its first zeros are the o of a word before it: the digit
    view reads o as 0, so `hello 138…` is hell0138…; a separator after those zeros in the original
    text shows they belong to the word. Returns `start` when that is not the case."""
    if not (start and view[start - 1] in _LATIN) or separated_before(start):
        return start
    k = start
    while k < end and k - start < 2 and view[k] == "0":
        k += 1
        if separated_before(k):
            return k
    return start


def find_numbers(
    digit_view: str, ctx: DetectorContext, separated_before: Callable[[int], bool] | None = None
) -> list[Detection]:
    """Contact/PII numbers in the digit view (same coordinates as the keyword view).

    `separated_before(i)`, when given, tells whether a deleted character (space, colon,
    punctuation) stood right before digit-view index i in the original text (build it with
    `separated_before_from_offsets`). Then only letters glued to a run in the ORIGINAL text veto
    it (SF1234567890, jd…; not `call me 13800138000` or `mobile: 130…`), English contact words
    glued to it (tel, phone, call, mobile, whatsapp …) do not veto, and a leading 0 that is the o
    of a word before a separator (`hello 138…`) is not part of the run. Without it, letters
    glued in the digit view veto as before.
    """
    found: list[Detection] = []
    for m in _RUNS.finditer(digit_view):
        start, end = m.span()
        run = m.group()
        if separated_before is not None:
            real_start = _spelled_o_prefix(digit_view, start, end, separated_before)
            if real_start != start:
                run = digit_view[real_start:end]
                if not _RUNS.fullmatch(run):
                    continue
                start = real_start
            elif start > 0 and digit_view[start - 1].isdigit():
                continue
        elif start > 0 and digit_view[start - 1].isdigit():
            continue
        if not _plausible_length(run):
            continue  # order numbers (20+ digits), dates run together (202405011430) …
        before = ctx.before(digit_view, start)
        if ctx.mentions(before, "negative"):
            continue
        glued = _glued_letters(digit_view, start)
        if separated_before is None:
            if glued and not glued.endswith(_ALLOWED_GLUE):
                continue  # tracking numbers (sf1234…, yt…, jd…) and codes
        else:
            word = _glued_word(digit_view, start, separated_before)
            if word and not word.isdigit() and not word.endswith(_CONTACT_GLUE):
                continue  # letters glued in the original text: tracking numbers and codes
        kind = _classify(run, before, glued, ctx)
        if kind:
            found.append(Detection(kind, start, end, run))
    return found


# ------------------------------------------------------------------ numbers split by words
_SPLIT_GROUP = re.compile(r"[0-9]+")
_SPLIT_MIN_GROUP = 3  # shorter digit groups (the 3 of 前3位) are part of a gap
_SPLIT_MAX_GAP = 10  # digit-view characters between two groups (punctuation and spaces deleted)
_SPLIT_MAX_GROUPS = 3
_SPLIT_WINDOW = 12  # context looked for this far before the first group, and in every gap
# phone context as it reads in the digit view, # standing for a digit: 三/四 are 3/4 there (前3位,
# 后4位) and the letter o is 0 (ph0ne). `split_phone_gate` reads # as any numeral instead.
_SPLIT_CONTEXT_WORDS = (
    *("号码", "电话", "手机", "座机", "前#位", "后#位", "末#位", "中间", "尾号", "尾数", "后面"),
    *("打", "联系", "致电", "拨", "tel", "ph#ne", "m#bile", "call", "cell", "c#ntact", "whatsapp"),
)
_SPLIT_CONTEXT = re.compile("|".join(re.escape(w).replace(r"\#", "[0-9]") for w in _SPLIT_CONTEXT_WORDS))
# a group right after one of these is an amount or a measure (满300减30, 身高175体重130)
_SPLIT_BEFORE_BREAK = frozenset("满减第共约高重长宽价降省仅")
# a group right before one of these is a quantity, a price, a date or a size
_SPLIT_AFTER_BREAK = re.compile(
    r"元|块|件|天|月|日|年|点|分|秒|斤|克|米|个|岁|折|次|周|楼|层|室|栋|套|箱|盒|瓶|袋|包|万|千|百|码|寸|度|毫|厘|"
    r"号(?!码)|cm|mm|kg|ml|gb?(?![a-z])|%"
)


def _split_group_ok(view: str, start: int, end: int) -> bool:
    if start and view[start - 1] in _SPLIT_BEFORE_BREAK:
        return False
    return _SPLIT_AFTER_BREAK.match(view, end) is None


def _split_start_ok(view: str, start: int) -> bool:
    """A chain may not start right after glued letters (sf139…, a tracking number's prefix)."""
    glued = _glued_letters(view, start)
    return not glued or glued.endswith(_CONTACT_GLUE)


def find_split_phones(digit_view: str, ctx: DetectorContext) -> list[Detection]:
    """A mainland mobile number written in parts with words between: 号码前三位是139，后面是1234 5678.

    Digit groups of 3+ digits, at most `_SPLIT_MAX_GAP` digit-view characters apart (shorter
    groups such as the 3 of 前3位 count as gap), two or three of them, whose concatenation is a
    valid mobile number (11 digits, or 86 + 11), with phone context (号码, 电话, 前3位, 尾号, 打,
    联系 …) before the first group or between groups and no order/price context (engine.yaml's
    negative words) there. A group that is an amount or a measure (满300, 175cm, 199元) breaks the
    chain. The span runs from the first group's start to the last group's end (digit view, which
    shares the keyword view's coordinates). A single run is `find_numbers`' business.
    """
    try:
        return _find_split_phones(digit_view, ctx)
    except Exception:  # a detector never breaks a check
        return []


def _find_split_phones(digit_view: str, ctx: DetectorContext) -> list[Detection]:
    groups = [
        m.span()
        for m in _SPLIT_GROUP.finditer(digit_view)
        if _SPLIT_MIN_GROUP <= m.end() - m.start() <= 10 and _split_group_ok(digit_view, *m.span())
    ]
    found: list[Detection] = []
    i = 0
    while i < len(groups) - 1:
        first_start = groups[i][0]
        before = digit_view[max(0, first_start - _SPLIT_WINDOW) : first_start]
        if ctx.mentions(before[-ctx.window :], "negative") or not _split_start_ok(digit_view, first_start):
            i += 1
            continue
        context = bool(_SPLIT_CONTEXT.search(before) or ctx.mentions(before, "phone"))
        digits = digit_view[first_start : groups[i][1]]
        hit = None
        for j in range(i + 1, min(i + _SPLIT_MAX_GROUPS, len(groups))):
            gap = digit_view[groups[j - 1][1] : groups[j][0]]
            if len(gap) > _SPLIT_MAX_GAP or ctx.mentions(gap, "negative"):
                break
            context = context or bool(_SPLIT_CONTEXT.search(gap) or ctx.mentions(gap, "phone"))
            digits += digit_view[groups[j][0] : groups[j][1]]
            if len(digits) > 13:
                break
            if context and len(digits) in (11, 13) and _MOBILE.fullmatch(digits) and is_phone_number(digits[-11:]):
                hit = j
                break
        if hit is None:
            i += 1
            continue
        end = groups[hit][1]
        found.append(Detection("phone", first_start, end, digits))
        i = hit + 1
    return found


def split_phone_gate(numeral_chars: Iterable[str], phone_words: Iterable[str] = ()) -> re.Pattern[str]:
    """The keyword-view regex behind `might_hold_split_phone`, for the given numeral characters
    (engine.yaml numerals; ASCII digits are always included) and phone context words (the
    detector context's `phone` list, as `find_split_phones` receives it).

    `find_split_phones` needs a context word within 12 characters before the first group or in a
    gap of at most 10 before a later group: either way a context word followed, within 12
    characters, by the start of a run of 3+ digits/numerals. That is what this matches (a digit
    inside a context word, as in 前三位, matches any numeral). Context words are rarer than
    numerals, so the search tries few positions.
    """
    chars = {c for c in numeral_chars if len(c) == 1} | set("0123456789")
    n = "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"

    def word(w: str) -> str:
        return "".join(n if c == "#" or c in chars else re.escape(c) for c in w)

    words = {word(w) for w in (*_SPLIT_CONTEXT_WORDS, *phone_words) if w}
    alternation = "|".join(sorted(words, key=len, reverse=True))
    return re.compile(f"(?:{alternation}).{{0,{_SPLIT_WINDOW}}}?(?<!{n}){n}{{{_SPLIT_MIN_GROUP}}}", re.DOTALL)


@lru_cache(maxsize=1)
def _default_split_gate() -> re.Pattern[str]:
    from kefuguard.rules.engine_data import load_engine_data  # engine data, loaded once and cached

    data = load_engine_data()
    numerals = [ch for chars in data.numerals.values() for ch in chars]
    return split_phone_gate(numerals, [w.lower() for w in data.detector_context.phone])


def might_hold_split_phone(keyword_view: str, gate: re.Pattern[str] | None = None) -> bool:
    """Cheap gate for `find_split_phones`, on the keyword view (numerals not yet digits): one
    compiled-regex search; False means `find_split_phones` finds nothing. `gate` defaults to
    `split_phone_gate` over engine.yaml's numerals and phone words; a caller on the hot path
    passes its own, built once from the context it gives `find_split_phones`."""
    return (gate or _default_split_gate()).search(keyword_view) is not None


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
