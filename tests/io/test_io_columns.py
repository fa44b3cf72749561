"""Cell-level parsing: headers, roles, platforms, booleans, amounts, times."""

from __future__ import annotations

import datetime as dt

import pytest

from kefuguard.conversation.model import SHANGHAI, Role
from kefuguard.io.columns import (
    CellError,
    ColumnError,
    check_mapping,
    parse_amount,
    parse_bool,
    parse_platform,
    parse_role,
    parse_time,
    resolve_header,
)


def sh(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-01 10:02:03", sh(2024, 5, 1, 10, 2, 3)),
        ("2024-05-01T10:02:03", sh(2024, 5, 1, 10, 2, 3)),
        ("2024-05-01T02:02:03Z", sh(2024, 5, 1, 10, 2, 3)),
        ("2024-05-01T10:02:03+08:00", sh(2024, 5, 1, 10, 2, 3)),
        ("2024-05-01T03:02:03+01:00", sh(2024, 5, 1, 10, 2, 3)),
        ("2024-05-01 10:02:03.250", sh(2024, 5, 1, 10, 2, 3, 250000)),
        ("2024/05/01 10:02", sh(2024, 5, 1, 10, 2)),
        ("2024/5/1 9:02:03", sh(2024, 5, 1, 9, 2, 3)),
        ("2024年5月1日 10:02:03", sh(2024, 5, 1, 10, 2, 3)),
        (" 2024-05-01 10:02:03 ", sh(2024, 5, 1, 10, 2, 3)),
        ("1714528923", sh(2024, 5, 1, 10, 2, 3)),  # epoch seconds (UTC instant)
        ("1714528923000", sh(2024, 5, 1, 10, 2, 3)),  # epoch milliseconds
        (1714528923, sh(2024, 5, 1, 10, 2, 3)),
        (1714528923500, sh(2024, 5, 1, 10, 2, 3, 500000)),
        ("45413.4180902778", sh(2024, 5, 1, 10, 2, 3)),  # Excel serial day (wall time)
        (45413.4180902778, sh(2024, 5, 1, 10, 2, 3)),
        (dt.datetime(2024, 5, 1, 10, 2, 3), sh(2024, 5, 1, 10, 2, 3)),
        (dt.datetime(2024, 5, 1, 2, 2, 3, tzinfo=dt.UTC), sh(2024, 5, 1, 10, 2, 3)),
    ],
)
def test_parse_time_formats(raw: object, expected: dt.datetime) -> None:
    value = parse_time(raw)
    assert value == expected
    assert value.tzinfo is SHANGHAI
    assert value.hour == expected.hour


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_missing_time_is_reported_as_missing(raw: object) -> None:
    with pytest.raises(CellError, match="发送时间为空 missing sent_at"):
        parse_time(raw)


@pytest.mark.parametrize("raw", ["昨天", "2024-13-01 10:00:00", "2024-05-01", "12", "10:00", True, dt.date(2024, 5, 1)])
def test_unparseable_time(raw: object) -> None:
    with pytest.raises(CellError, match="sent_at"):
        parse_time(raw)


def test_order_time_may_be_a_date() -> None:
    assert parse_time("2024-05-01", "order_time", need_clock=False) == sh(2024, 5, 1)
    assert parse_time(dt.date(2024, 5, 1), "order_time", need_clock=False) == sh(2024, 5, 1)


@pytest.mark.parametrize(
    ("raw", "role", "auto"),
    [
        ("buyer", Role.buyer, False), ("买家", Role.buyer, False), ("顾客", Role.buyer, False),
        ("Agent", Role.agent, False), ("客服", Role.agent, False), ("人工客服", Role.agent, False),
        ("bot", Role.bot, False), ("机器人", Role.bot, False), ("店小蜜", Role.bot, False),
        ("system", Role.system, False), ("系统", Role.system, False),
        ("自动回复", Role.agent, True), (" 买家 ", Role.buyer, False),
    ],
)
def test_roles(raw: str, role: Role, auto: bool) -> None:
    assert parse_role(raw) == (role, auto)


def test_unknown_and_empty_role() -> None:
    with pytest.raises(CellError, match="未知角色 unknown role '老板'"):
        parse_role("老板")
    with pytest.raises(CellError, match="角色为空"):
        parse_role("")


def test_platforms() -> None:
    assert parse_platform("拼多多", None) == "pinduoduo"
    assert parse_platform(" PDD ", None) == "pinduoduo"
    assert parse_platform("抖店", None) == "douyin"
    assert parse_platform("", "jd") == "jd"
    with pytest.raises(CellError, match="未知平台"):
        parse_platform("亚马逊", "jd")
    with pytest.raises(CellError, match="平台为空"):
        parse_platform(None, None)


@pytest.mark.parametrize(("raw", "expected"), [
    ("true", True), ("False", False), ("1", True), ("0", False), ("是", True), ("否", False),
    ("Y", True), ("n", False), ("", False), (None, False), (1, True), (0.0, False), (True, True),
])
def test_booleans(raw: object, expected: bool) -> None:
    assert parse_bool(raw, "quick_reply") is expected


def test_bad_boolean() -> None:
    with pytest.raises(CellError, match="快捷回复不是是/否"):
        parse_bool("也许", "quick_reply")
    with pytest.raises(CellError):
        parse_bool(2, "auto_reply")


def test_amounts() -> None:
    assert parse_amount("¥1,234.50") == 1234.5
    assert parse_amount("19.9元") == 19.9
    assert parse_amount(3) == 3.0
    assert parse_amount("") is None
    for bad in ("-1", "abc", "nan", float("inf")):
        with pytest.raises(CellError, match="实付金额无效"):
            parse_amount(bad)


def test_header_aliases_and_priority() -> None:
    headers = ["\ufeff会话编号", "店铺名称", "客服昵称", "客服账号", "发送方", "时间", "内容", "备注"]
    columns, ignored = resolve_header(headers)
    assert columns == {"conversation_id": 0, "shop": 1, "agent_id": 3, "role": 4, "sent_at": 5, "text": 6}
    # 客服账号 beats 客服昵称 for agent_id; the loser and unknown columns are listed, not lost silently.
    assert ignored == ["客服昵称", "备注"]


def test_english_headers_are_case_and_separator_insensitive() -> None:
    columns, _ = resolve_header(["Conversation ID", "sent-at", "TEXT", "Role", "paidAmount"])
    assert columns == {"conversation_id": 0, "sent_at": 1, "text": 2, "role": 3, "paid_amount": 4}


def test_mapping_wins_over_aliases() -> None:
    mapping = check_mapping({"聊天记录": "text", "时间": "order_time"})
    columns, _ = resolve_header(["聊天记录", "时间", "消息时间"], mapping)
    assert columns == {"text": 0, "order_time": 1, "sent_at": 2}


def test_mapping_target_must_be_canonical() -> None:
    with pytest.raises(ColumnError, match="列映射目标无效"):
        check_mapping({"聊天记录": "message_text"})
