"""Column names and cell values of chat-log exports, mapped onto the Message fields.

Real exports (千牛, 拼多多商家后台, 抖店飞鸽, 京东咚咚, outsourcing firms' own tools) name columns in
Chinese, spell roles and flags several ways and write times in half a dozen formats. Everything
here turns one raw cell into one canonical value, or raises `CellError` whose message (Chinese,
then English) ends up in the rejects file.

Decisions worth knowing:
- Role values: 买家/顾客/客户/消费者 → buyer; 客服/人工客服/商家/卖家 → agent; 机器人/智能客服/
  店小蜜 → bot; 系统/系统消息 → system. "自动回复" as a *role* means an auto-reply sent from the
  agent's account, so it becomes role=agent with auto_reply=True: it keeps the agent id and never
  counts as a manual reply (Message.is_manual_reply), which is what every platform's 人工回复
  metric needs.
- Numeric times: ≥ 1e11 epoch milliseconds, ≥ 1e8 epoch seconds (both UTC instants), 20000–80000
  an Excel serial day number (local wall time). Naive times are Asia/Shanghai.
- A sent-at without a time of day ('2024-05-01') is rejected: reply metrics need the minute.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping

from kefuguard.conversation.model import SHANGHAI, Role
from kefuguard.rules.model import PLATFORMS

CANONICAL_FIELDS: tuple[str, ...] = (
    "conversation_id",
    "platform",
    "shop",
    "agent_id",
    "buyer_id",
    "role",
    "sent_at",
    "text",
    "quick_reply",
    "auto_reply",
    "buyer_reported",
    "order_time",
    "paid_amount",
)

#: Columns a file must have. platform and shop may instead come from defaults.
REQUIRED_FIELDS: tuple[str, ...] = ("conversation_id", "role", "sent_at", "text")

FIELD_NAMES_ZH: dict[str, str] = {
    "conversation_id": "会话ID",
    "platform": "平台",
    "shop": "店铺",
    "agent_id": "客服",
    "buyer_id": "买家",
    "role": "角色",
    "sent_at": "发送时间",
    "text": "消息内容",
    "quick_reply": "快捷回复",
    "auto_reply": "自动回复",
    "buyer_reported": "买家被举报",
    "order_time": "下单时间",
    "paid_amount": "实付金额",
}

# Per field, accepted header spellings, most specific first: when two columns of one file map to
# the same field (客服 and 客服账号), the one earlier in this list wins and the other is ignored.
_ALIASES: dict[str, tuple[str, ...]] = {
    "conversation_id": ("conversation_id", "会话ID", "会话编号", "会话id", "对话ID", "对话编号", "会话",
                        "session_id", "chat_id", "conversation"),
    "platform": ("platform", "平台", "平台名称", "渠道"),
    "shop": ("shop", "店铺名称", "店铺", "店铺名", "shop_name", "store"),
    "agent_id": ("agent_id", "客服账号", "客服ID", "客服id", "客服", "客服子账号", "客服昵称", "客服名称",
                 "agent", "staff"),
    "buyer_id": ("buyer_id", "买家账号", "买家ID", "买家id", "买家", "买家昵称", "顾客", "客户", "customer",
                 "buyer"),
    "role": ("role", "角色", "发送方", "发送者", "发送人", "发送人角色", "sender", "sender_role", "from"),
    "sent_at": ("sent_at", "发送时间", "消息时间", "时间", "timestamp", "time", "created_at"),
    "text": ("text", "消息内容", "内容", "消息", "聊天内容", "message", "content", "msg"),
    "quick_reply": ("quick_reply", "快捷回复", "是否快捷回复", "quick"),
    "auto_reply": ("auto_reply", "自动回复", "是否自动回复", "auto"),
    "buyer_reported": ("buyer_reported", "买家被举报", "已举报", "是否举报", "买家已举报", "reported"),
    "order_time": ("order_time", "下单时间", "订单时间", "ordered_at"),
    "paid_amount": ("paid_amount", "实付金额", "支付金额", "实付款", "付款金额", "paid", "amount"),
}


def normalize_header(name: object) -> str:
    """Case-, space-, underscore- and BOM-insensitive key for a header cell."""
    if name is None:
        return ""
    text = str(name).replace("\ufeff", "").strip().strip('"').strip()
    return re.sub(r"[\s_\-]+", "", text).lower()


HEADER_ALIASES: dict[str, tuple[str, int]] = {}
for _field, _names in _ALIASES.items():
    for _rank, _name in enumerate(_names):
        HEADER_ALIASES.setdefault(normalize_header(_name), (_field, _rank))


class ColumnError(ValueError):
    """A file cannot be imported at all (no usable header, not a workbook, …).

    Built from a Chinese and an English message: `str()` holds both (Chinese first); `text(lang)`
    one of them, for a command line that speaks one language.
    """

    def __init__(self, zh: str, en: str | None = None) -> None:
        super().__init__(zh if en is None else f"{zh} {en}")
        self.zh = zh
        self.en = en if en is not None else zh

    def text(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


def parse_column_map(items: Iterable[str] | None, option: str = "--map") -> dict[str, str]:
    """Command-line column mappings (`源列名=字段`, repeatable) as {their header: field}; both sides needed."""
    out: dict[str, str] = {}
    for item in items or ():
        src, sep, dst = item.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise ColumnError(f"{option} 需要 源列名=字段 的形式，得到 {item!r}", f"{option} needs SOURCE=FIELD, got {item!r}")
        out[src.strip()] = dst.strip()
    return out


def check_mapping(mapping: Mapping[str, str] | None) -> dict[str, str]:
    """Validate a user mapping {their header: canonical field} and normalise its keys."""
    out: dict[str, str] = {}
    for raw, field in (mapping or {}).items():
        if field not in CANONICAL_FIELDS:
            raise ColumnError(
                f"列映射目标无效：列 {raw!r} 映射到 {field!r}；可用字段: {', '.join(CANONICAL_FIELDS)}",
                f"invalid mapping target {field!r} for column {raw!r}; expected one of: {', '.join(CANONICAL_FIELDS)}",
            )
        out[normalize_header(raw)] = field
    return out


def resolve_header(
    headers: Iterable[object], mapping: Mapping[str, str] | None = None
) -> tuple[dict[str, int], list[str]]:
    """Map header cells to canonical fields.

    Returns ({field: column index}, [ignored header names]). `mapping` (already checked, keys
    normalised) wins over the built-in aliases.
    """
    mapping = mapping or {}
    best: dict[str, tuple[int, int]] = {}  # field -> (rank, index); rank -1 for user mapping
    names = list(headers)
    for index, cell in enumerate(names):
        key = normalize_header(cell)
        if not key:
            continue
        if key in mapping:
            field, rank = mapping[key], -1
        elif key in HEADER_ALIASES:
            field, rank = HEADER_ALIASES[key]
        else:
            continue
        if field not in best or rank < best[field][0]:
            best[field] = (rank, index)
    columns = {field: index for field, (_, index) in best.items()}
    used = set(columns.values())
    ignored = [str(names[i]) for i in range(len(names)) if i not in used and normalize_header(names[i])]
    return columns, ignored


def missing_fields(columns: Mapping[str, int], *, has_platform: bool, has_shop: bool) -> list[str]:
    need = list(REQUIRED_FIELDS)
    if not has_platform:
        need.append("platform")
    if not has_shop:
        need.append("shop")
    return [f for f in need if f not in columns]


# --- cell values --------------------------------------------------------------------------------


class CellError(ValueError):
    """One cell cannot be turned into its field's value; the message is bilingual."""


ROLE_ALIASES: dict[str, tuple[Role, bool]] = {}
for _role, _names in {
    Role.buyer: ("buyer", "买家", "顾客", "客户", "消费者", "用户", "customer", "user"),
    Role.agent: ("agent", "客服", "人工客服", "人工", "商家", "卖家", "店铺", "seller", "staff", "human"),
    Role.bot: ("bot", "机器人", "智能客服", "机器人客服", "店小蜜", "智能助手", "robot"),
    Role.system: ("system", "系统", "系统消息", "平台", "sys"),
}.items():
    for _name in _names:
        ROLE_ALIASES[_name] = (_role, False)
ROLE_ALIASES.update({"自动回复": (Role.agent, True), "auto_reply": (Role.agent, True), "auto": (Role.agent, True)})

PLATFORM_ALIASES: dict[str, str] = {p: p for p in PLATFORMS}
PLATFORM_ALIASES.update(
    {
        "拼多多": "pinduoduo", "pdd": "pinduoduo", "多多": "pinduoduo",
        "抖音": "douyin", "抖店": "douyin", "抖音/抖店": "douyin", "飞鸽": "douyin", "dy": "douyin",
        "天猫": "tmall", "tm": "tmall",
        "淘宝": "taobao", "tb": "taobao",
        "京东": "jd", "咚咚": "jd", "jingdong": "jd",
        "快手": "kuaishou", "ks": "kuaishou",
    }
)

_TRUE = frozenset({"true", "1", "是", "y", "yes", "t", "√", "✓", "对"})
_FALSE = frozenset({"false", "0", "否", "n", "no", "f", "", "×", "-"})


def cell_text(value: object) -> str:
    """A cell as stripped text; integral floats (Excel ids such as 123456.0) lose the '.0'."""
    if value is None:
        return ""
    if type(value) is str:
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_role(value: object) -> tuple[Role, bool]:
    """(role, implied auto_reply)."""
    key = cell_text(value)
    hit = ROLE_ALIASES.get(key) or ROLE_ALIASES.get(key.lower())
    if hit is None:
        raise CellError(f"未知角色 unknown role {key!r}" if key else "角色为空 empty role")
    return hit


def parse_platform(value: object, default: str | None) -> str:
    key = cell_text(value)
    if not key:
        if default is None:
            raise CellError("平台为空 empty platform")
        return default
    hit = PLATFORM_ALIASES.get(key) or PLATFORM_ALIASES.get(key.lower())
    if hit is None:
        raise CellError(f"未知平台 unknown platform {key!r}")
    return hit


def canonical_platform(value: str | None) -> str | None:
    """Default platforms given by the caller go through the same aliases (拼多多 → pinduoduo)."""
    if value is None:
        return None
    hit = PLATFORM_ALIASES.get(value.strip()) or PLATFORM_ALIASES.get(value.strip().lower())
    if hit is None:
        raise ValueError(f"未知平台 unknown platform {value!r}; expected one of {', '.join(PLATFORMS)}")
    return hit


def parse_bool(value: object, field: str) -> bool:
    if value is None or value is False:
        return False
    if value is True:
        return True
    if isinstance(value, int | float):
        if value in (0, 1):
            return bool(value)
    else:
        key = cell_text(value).lower()
        if key in _FALSE:
            return False
        if key in _TRUE:
            return True
    raise CellError(f"{FIELD_NAMES_ZH[field]}不是是/否 {field} is not a boolean: {value!r}")


def parse_amount(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellError(f"实付金额无效 bad paid_amount {value!r}")
    if isinstance(value, int | float):
        amount = float(value)
    else:
        text = cell_text(value).replace(",", "").replace("¥", "").replace("￥", "").replace("元", "").strip()
        if not text:
            return None
        try:
            amount = float(text)
        except ValueError:
            raise CellError(f"实付金额无效 bad paid_amount {value!r}") from None
    if not math.isfinite(amount) or amount < 0:
        raise CellError(f"实付金额无效 bad paid_amount {value!r}")
    return amount


_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_LOOSE_TIME = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:\s*[T\s]\s*(\d{1,2})\s*[:：时]\s*(\d{1,2})\s*(?:[:：分]\s*(\d{1,2})(?:\.(\d{1,6}))?\s*秒?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?"
)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


# Epoch numbers and Excel serials outside these years are misreadings (20240616100000 as epoch
# milliseconds is the year 2611), rejected with a reason rather than accepted.
MIN_YEAR, MAX_YEAR = 1990, 2100
_COMPACT_TIME = re.compile(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?")


def _compact(text: str) -> dt.datetime | None:
    """20240616100000 / 202406161000 (YYYYMMDDhhmm[ss]) when that is a valid date-time, else None."""
    m = _COMPACT_TIME.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in m.groups())
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def _from_number(number: float) -> dt.datetime | None:
    try:
        value = _epoch_or_serial(number)
    except (OverflowError, OSError, ValueError):
        return None
    if value is None or not MIN_YEAR <= value.year <= MAX_YEAR:
        return None
    return value


def _epoch_or_serial(number: float) -> dt.datetime | None:
    if number >= 1e17:
        return dt.datetime.fromtimestamp(number / 1e9, SHANGHAI)
    if number >= 1e14:
        return dt.datetime.fromtimestamp(number / 1e6, SHANGHAI)
    if number >= 1e11:
        return dt.datetime.fromtimestamp(number / 1e3, SHANGHAI)
    if number >= 1e8:
        return dt.datetime.fromtimestamp(number, SHANGHAI)
    if 20000 <= number < 80000:
        excel = _EXCEL_EPOCH + dt.timedelta(days=number)
        # Excel stores wall time in float days; round away float noise to the millisecond.
        millis = round(excel.microsecond / 1000)
        return excel.replace(microsecond=0, tzinfo=SHANGHAI) + dt.timedelta(milliseconds=millis)
    return None


def parse_time(value: object, field: str = "sent_at", *, need_clock: bool = True) -> dt.datetime:
    """Any supported time representation → aware Asia/Shanghai datetime, or CellError."""
    name = FIELD_NAMES_ZH[field]
    result: dt.datetime | None
    if type(value) is str:
        result = _from_text(value, need_clock)
        if result is None:
            text = value.strip()
            if not text:
                raise CellError(f"{name}为空 missing {field}")
            if _NUMBER.fullmatch(text):
                raise CellError(
                    f"{name}无法解析（既不是 {MIN_YEAR}–{MAX_YEAR} 年的时间戳，也不是 YYYYMMDDhhmmss）"
                    f" ambiguous {field}: {_short(value)}"
                )
            raise CellError(f"{name}无法解析 unparseable {field}: {_short(value)}")
    elif isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, dt.date):
        if need_clock:
            raise CellError(f"{name}缺少时分秒 {field} has no time of day: {value!s}")
        result = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, bool) or value is None:
        result = None
    elif isinstance(value, int | float):
        result = None
        if isinstance(value, int) or (math.isfinite(value) and value.is_integer()):
            digits = str(int(value))
            if len(digits) in (12, 14):
                result = _compact(digits)
        if result is None and math.isfinite(value):
            result = _from_number(float(value))
    else:
        result = _from_text(str(value), need_clock)
    if result is None:
        if value is None or value == "":
            raise CellError(f"{name}为空 missing {field}")
        raise CellError(f"{name}无法解析 unparseable {field}: {_short(value)}")
    if result.tzinfo is None:
        # The positional constructor is several times faster than .replace(tzinfo=...).
        return dt.datetime(result.year, result.month, result.day, result.hour, result.minute,
                           result.second, result.microsecond, SHANGHAI)
    if result.tzinfo is not SHANGHAI:
        try:
            return result.astimezone(SHANGHAI)
        except (OverflowError, ValueError):
            raise CellError(f"{name}超出范围 {field} out of range: {_short(value)}") from None
    return result


def _short(value: object, limit: int = 80) -> str:
    """repr() of a cell value, cut to `limit` characters (messages never dump a whole cell)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _from_text(value: str, need_clock: bool) -> dt.datetime | None:
    text = value.strip()
    if len(text) > 10 and text[4] == "-":
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            pass
    if _NUMBER.fullmatch(text):
        if len(text) in (12, 14):  # compact YYYYMMDDhhmm[ss] before any epoch reading
            compact = _compact(text)
            if compact is not None:
                return compact
        return _from_number(float(text))
    return _loose(text, need_clock)


def _loose(text: str, need_clock: bool) -> dt.datetime | None:
    m = _LOOSE_TIME.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    if hour is None and need_clock:
        return None
    try:
        value = dt.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            int((frac or "0").ljust(6, "0")),
        )
    except ValueError:
        return None
    if zone:
        if zone == "Z":
            return value.replace(tzinfo=dt.UTC)
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return value.replace(tzinfo=dt.timezone(sign * offset))
    return value
