"""A generator of risky customer-service messages, shared by the fuzz tests and the fuzz benchmark.

One fragment grammar, two front ends:

* `messages()` / `digit_strings()`: hypothesis strategies (each choice is a hypothesis draw, so
  failures shrink towards short messages of plain fragments);
* `MessageGenerator(seed).message()`: a seeded `random.Random` front end, fast enough for
  hundreds of thousands of messages (bench/bench_fuzz.py).

Fragments: digit strings of every length 1–25 (mobile-like, landline/hotline, 18-digit ID-like
with valid and invalid checksums and X, Luhn-valid card numbers, QQ-like), written as ASCII,
一三八, 壹叁捌, ①③⑧ or full-width digits, with separators (space, -, +, *, emoji, zero-width)
inside; keywords and their aliases; links, domains and e-mail addresses; Latin words; traditional
characters; flag emoji; ordinary agent phrases; order and tracking numbers with their context words.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Protocol

from hypothesis import strategies as st

DIGITS = "0123456789"
CHINESE_DIGITS = "零一二三四五六七八九"
CHINESE_DIGITS_ALT = "〇幺两仨四五六七八九"  # 〇 for 0, 幺 for 1, 两 for 2 … as people say them
FINANCIAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"
CIRCLED_DIGITS = "⓪①②③④⑤⑥⑦⑧⑨"
FULLWIDTH_DIGITS = "０１２３４５６７８９"
DIGIT_SCRIPTS = (DIGITS, CHINESE_DIGITS, CHINESE_DIGITS_ALT, FINANCIAL_DIGITS, CIRCLED_DIGITS, FULLWIDTH_DIGITS)

SEPARATORS = (" ", "-", "+", "*", "·", "_", ".", "　", "😊", "❤", "🌹", "\u200b", "\u200d", "\ufeff", "\u2060", "，", "/")
JOINERS = ("", "", "", " ", "，", "。", "！", "~", "～", "\n", "；", "…", "😊", "\u200b")

KEYWORDS = (
    "微信", "微信号", "加微信", "vx", "VX", "wx", "V❤信", "薇信", "威信", "weixin", "wechat", "v信", "微❤",
    "qq", "QQ", "ＱＱ", "扣扣", "企鹅号", "q号", "支付宝", "zfb", "吱付宝", "淘宝", "某宝", "tb", "淘bao",
    "京东", "某东", "拼多多", "pdd", "抖音", "快手", "闲鱼", "小红书", "天猫", "二维码", "2维码", "二weima",
    "收款码", "付款码", "扫码加", "电话", "dianhua", "tel", "座机", "手机号", "shouji", "加我", "+我", "加个好友",
    "私聊", "进群", "转账", "转zhang", "线下交易", "私下交易", "银行卡号", "卡号", "身份证号", "邮箱", "链接", "网址",
    "宝贝", "最低价", "全网最低", "第一", "好评返现", "五星好评", "没货了", "缺货", "包邮",
)
NUMBER_CONTEXT = (
    "", "", "加", "加我", "+", "打", "联系", "我的电话是", "电话", "手机", "手机:", "tel", "q", "qq", "QQ号",
    "扣扣", "v", "vx", "wx", "微信号", "微信", "卡号", "银行卡", "工行卡", "身份证", "身份证号", "证件号",
    "收货电话：", "核对地址：张三 ", "地址", "座机 ", "热线", "号码", "企鹅",
)
ORDER_CONTEXT = ("订单号", "订单号：", "快递单号", "运单号", "单号:", "物流单号 ", "价格¥", "￥", "SF", "YT", "JD", "ZTO")
LINKS = (
    "www.example.com", "https://t.cn/abc", "http://a.b.cn/x?y=1", "shop.taobao.com", "item.jd.com/123.html",
    "pinduoduo.com", "mobile.yangkeduo.com", "douyin.com", "ｍｙｓｈｏｐ．ｃｏｍ", "www。abc。com", "abc.xyz", "t.me/abc",
    "a@b.com", "service@qq.com", "shop_service@163.com", "ｓｅｒｖｉｃｅ＠ｑｑ．ｃｏｍ", "bit.ly/3xYz", "v1.0", "3.5元",
    "xx.top", "wxid_abc123", "1688.com",
)
LATIN = (
    "hello", "thanks", "ok", "OK", "add", "jia", "wo", "me", "add wx", "jia wo", "iphone15", "address", "size",
    "XL", "L码", "1TB", "TB", "SF", "vip", "Q版", "tel", "wei", "xin", "abc", "nb", "666", "v1", "qq", "hi",
)
TRADITIONAL = (
    "請加微信", "電話聯繫", "淘寶", "銀行卡號", "謝謝親", "已經發貨了", "微信號", "二維碼", "轉帳", "親，請稍等",
    "寶貝", "這個顏色", "發票", "退貨", "質量問題", "身份證號", "聯繫方式",
)
FLAGS = ("🇨🇳", "🇺🇸", "🇭🇰", "🇯🇵", "🏳️‍🌈", "🏴󠁧󠁢󠁥󠁮󠁧󠁿", "🏴‍☠️", "🇹🇼", "👍🏻", "👨‍👩‍👧")
PHRASES = (
    "亲，您好，请问有什么可以帮您？", "好的呢，马上为您安排发货", "这款是纯棉的，尺码偏小", "建议拍大一码~",
    "已经为您加急处理了", "支持7天无理由退换货", "请耐心等待一下", "退款已经原路退回", "发票可以开的",
    "库存还有", "收到货有任何问题随时联系我们", "以实物为准哈", "谢谢亲的支持", "欢迎下次光临~", "我们不能加",
    "我们不能", "不可以", "亲亲", "在的", "稍等", "好的", "核对一下收货信息", "地址是北京市朝阳区建国路88号",
    "你自己不会看吗", "爱买不买", "你有病吧", "滚", "关我什么事", "全网最低价", "绝对正品", "给个五星好评返现5元",
    "最近天气冷", "第一次购买可以领券", "加购物车", "加厚款", "已经帮您备注", "明天发货", "满300减30",
    "收件人号码", "有事打这个", "发你", "找我", "联系我", "聊更方便", "扫一下", "发到", "就行", "哦", "呢", "吧",
)
ID_AREAS = ("110105", "110005", "310101", "440301", "320102", "510104", "000000", "999999", "654321", "820000")
CARD_PREFIXES = ("62", "62", "4", "5", "35", "9", "")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


class Source(Protocol):
    """Where the grammar's choices come from (a seeded Random or hypothesis draws)."""

    def randint(self, a: int, b: int) -> int: ...

    def choice(self, seq: Sequence): ...


class _DrawSource:
    """Hypothesis draws behind the Source interface (each shrinks towards its first option)."""

    def __init__(self, draw: Callable) -> None:
        self._draw = draw

    def randint(self, a: int, b: int) -> int:
        return self._draw(st.integers(a, b))

    def choice(self, seq: Sequence):
        return seq[self._draw(st.integers(0, len(seq) - 1))]


def _chance(src: Source, percent: int) -> bool:
    """True with `percent`% probability (draw 0, the shrink target, is False)."""
    return src.randint(0, 99) >= 100 - percent


def _digits(src: Source, n: int, first: str = DIGITS) -> str:
    """n random digits; the first from `first`. (Python-level loop: the seeded front end is hot.)"""
    if n <= 0:
        return ""
    return src.choice(first) + "".join(src.choice(DIGITS) for _ in range(n - 1))


def id_check_digit(body17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(body17, _ID_WEIGHTS, strict=True)) % 11]


def luhn_check_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def _mobile(src: Source) -> str:
    number = "1" + src.choice("3456789") + _digits(src, 9)
    return src.choice(("", "", "", "86", "+86", "0086")) + number if _chance(src, 20) else number


def _landline(src: Source) -> str:
    kind = src.randint(0, 2)
    if kind == 0:
        return "0" + src.choice(("10", "21", "755", "571", "20", "28", "351")) + _digits(src, src.randint(7, 8))
    if kind == 1:
        return src.choice(("400", "800")) + _digits(src, 7)
    return "0" + _digits(src, src.randint(9, 11), "123456789")


def _id_card(src: Source) -> str:
    area = src.choice(ID_AREAS) if _chance(src, 80) else _digits(src, 6)
    year = src.randint(1900, 2030)
    date = f"{year:04d}{src.randint(0, 13):02d}{src.randint(0, 32):02d}"
    body = area + date + _digits(src, 3)
    mode = src.randint(0, 3)
    if mode <= 1:
        check = id_check_digit(body)  # valid checksum (often X)
    elif mode == 2:
        check = "X"
    else:
        check = src.choice(DIGITS)
    return body + (check.lower() if check == "X" and _chance(src, 30) else check)


def _card(src: Source) -> str:
    n = src.randint(15, 19)
    prefix = src.choice(CARD_PREFIXES)
    body = prefix + _digits(src, n - 1 - len(prefix))
    return body + (luhn_check_digit(body) if _chance(src, 75) else src.choice(DIGITS))


def _qq(src: Source) -> str:
    return _digits(src, src.randint(5, 11), "123456789")


def digit_run(src: Source) -> str:
    """One ASCII digit string of a risky kind (lengths 1–25)."""
    kind = src.randint(0, 6)
    if kind == 0:
        return _digits(src, src.randint(1, 25))
    if kind == 1:
        return _mobile(src)
    if kind == 2:
        return _landline(src)
    if kind == 3:
        return _id_card(src)
    if kind == 4:
        return _card(src)
    if kind == 5:
        return _qq(src)
    return "0" + _digits(src, src.randint(0, 24))  # a leading zero


def _render_digits(src: Source, digits: str) -> str:
    """Digits as written by someone evading a filter: one script, or mixed per digit; separators."""
    if _chance(src, 50):
        out = list(digits)
    elif _chance(src, 70):
        script = src.choice(DIGIT_SCRIPTS)
        out = [script[int(d)] if d.isdigit() else d for d in digits]
    else:
        out = [src.choice(DIGIT_SCRIPTS)[int(d)] if d.isdigit() else d for d in digits]
    if _chance(src, 35):
        sep = src.choice(SEPARATORS)
        if _chance(src, 60) and len(out) >= 8:
            cuts = (3, 7)  # 138 0013 8000
        else:
            cuts = tuple(sorted({src.randint(1, max(1, len(out) - 1)) for _ in range(src.randint(1, 3))}))
        for cut in reversed(cuts):
            if 0 < cut < len(out):
                out.insert(cut, sep if _chance(src, 80) else src.choice(SEPARATORS))
    return "".join(out)


def _number_fragment(src: Source) -> str:
    return src.choice(NUMBER_CONTEXT) + _render_digits(src, digit_run(src))


def _order_fragment(src: Source) -> str:
    context = src.choice(ORDER_CONTEXT)
    if context in ("SF", "YT", "JD", "ZTO"):
        return context + _digits(src, src.randint(10, 15))
    if context in ("价格¥", "￥"):
        return f"{context}{src.randint(1, 9999)}" + (f".{src.randint(0, 99):02d}" if _chance(src, 40) else "")
    if _chance(src, 30):
        return f"{context}{src.randint(100000, 999999)}-{_digits(src, 15)}"
    return context + _digits(src, src.randint(12, 24))


def _keyword_fragment(src: Source) -> str:
    word = src.choice(KEYWORDS)
    if _chance(src, 20) and len(word) >= 2:  # a separator inside the word: 微 信, 淘-宝
        cut = src.randint(1, len(word) - 1)
        word = word[:cut] + src.choice(SEPARATORS) + word[cut:]
    return word


def _date_fragment(src: Source) -> str:
    return f"{src.randint(2020, 2026)}-{src.randint(1, 12):02d}-{src.randint(1, 28):02d} {src.randint(0, 23)}:30"


_FRAGMENTS: tuple[tuple[int, Callable[[Source], str]], ...] = (
    (6, _number_fragment),
    (5, _keyword_fragment),
    (5, lambda src: src.choice(PHRASES)),
    (2, lambda src: src.choice(LINKS)),
    (2, lambda src: src.choice(LATIN)),
    (1, lambda src: src.choice(TRADITIONAL)),
    (1, lambda src: src.choice(FLAGS)),
    (2, _order_fragment),
    (1, _date_fragment),
    (1, lambda src: src.choice(SEPARATORS)),
)
# a flat table, so one uniform draw picks a fragment kind by weight (shrinks towards numbers)
_FRAGMENT_TABLE = tuple(fn for weight, fn in _FRAGMENTS for _ in range(weight))


def fragment(src: Source) -> str:
    return src.choice(_FRAGMENT_TABLE)(src)


def message(src: Source, max_fragments: int = 6) -> str:
    """One message: 1–`max_fragments` fragments, joined by nothing, punctuation or separators."""
    parts = [fragment(src)]
    for _ in range(src.randint(1, max_fragments) - 1):
        parts.append(src.choice(JOINERS))
        parts.append(fragment(src))
    return "".join(parts)


class MessageGenerator:
    """The seeded front end: `MessageGenerator(seed).message()`, reproducible for a seed."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self.randint = self._rng.randint
        self.choice = self._rng.choice

    def message(self, max_fragments: int = 6) -> str:
        return message(self, max_fragments)

    def messages(self, n: int, max_fragments: int = 6) -> list[str]:
        return [message(self, max_fragments) for _ in range(n)]

    def digit_string(self) -> str:
        return digit_run(self)


@st.composite
def messages(draw, max_fragments: int = 6) -> str:
    """Hypothesis strategy over the same grammar."""
    return message(_DrawSource(draw), max_fragments)


@st.composite
def digit_strings(draw) -> str:
    """A digit-view string for the number detectors: context + a risky digit run (ASCII digits,
    lower-case x as the digit view writes an ID number's X), sometimes two runs."""
    src = _DrawSource(draw)
    run = digit_run(src).lower().replace("+", "")
    if _chance(src, 15):
        run += "x"
    prefix = src.choice(NUMBER_CONTEXT + ORDER_CONTEXT).lower()
    text = prefix + run
    if _chance(src, 20):
        text += src.choice(("", "x", "a", "号", " ")) + digit_run(src)
    return text
