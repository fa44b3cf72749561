"""Message bodies, signatures and answers of the three robots, without the network."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest
from pydantic import ValidationError

from kefuguard.alerts import (
    AlertKind,
    RobotKind,
    Webhook,
    build_body,
    dingtalk_sign,
    feishu_sign,
    interpret,
    metric_event,
    redact_url,
)
from kefuguard.alerts.robots import WECOM_MARKDOWN_MAX_BYTES, prepare

from .conftest import AT, finding_event

WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DING_URL = "https://oapi.dingtalk.com/robot/send?access_token=abcdef0123456789"
FEISHU_URL = "https://open.feishu.cn/open-apis/bot/v2/hook/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def hook(kind: RobotKind, url: str, style: str = "rich", secret: str | None = None) -> Webhook:
    return Webhook(id="w1", tenant="t1", kind=kind, url=url, style=style, secret=secret)


MD_LINES = [
    "> **店铺**：旗舰店（拼多多）",
    "> **客服**：小美",
    "> **规则**：common.diversion.wechat 引导添加微信（严重）",
    "> **消息**：加我微信，电话138＊＊＊＊5678",
    "> **时间**：2026-05-09 12:30:05",
]
TEXT = (
    "【客服质检告警】严重违规\n店铺：旗舰店（拼多多）\n客服：小美\n规则：common.diversion.wechat 引导添加微信（严重）\n"
    "消息：加我微信，电话138****5678\n时间：2026-05-09 12:30:05"
)


def test_wecom_markdown_and_text_bodies():
    event = finding_event()
    assert build_body(hook(RobotKind.wecom, WECOM_URL), event) == {
        "msgtype": "markdown",
        "markdown": {"content": "\n".join(["### 【客服质检告警】严重违规", *MD_LINES])},
    }
    assert build_body(hook(RobotKind.wecom, WECOM_URL, "text"), event) == {
        "msgtype": "text",
        "text": {"content": TEXT},
    }


def test_dingtalk_markdown_and_text_bodies():
    event = finding_event()
    assert build_body(hook(RobotKind.dingtalk, DING_URL), event) == {
        "msgtype": "markdown",
        "markdown": {
            "title": "【客服质检告警】严重违规",
            "text": "\n\n".join(["#### 【客服质检告警】严重违规", *MD_LINES]),
        },
    }
    assert build_body(hook(RobotKind.dingtalk, DING_URL, "text"), event) == {
        "msgtype": "text",
        "text": {"content": TEXT},
    }


def test_feishu_card_and_text_bodies():
    event = finding_event()
    assert build_body(hook(RobotKind.feishu, FEISHU_URL), event) == {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {"template": "red", "title": {"tag": "plain_text", "content": "【客服质检告警】严重违规"}},
            "elements": [
                {"tag": "div", "text": {"tag": "lark_md", "content": "\n".join(line[2:] for line in MD_LINES)}}
            ],
        },
    }
    assert build_body(hook(RobotKind.feishu, FEISHU_URL, "text"), event) == {
        "msg_type": "text",
        "content": {"text": TEXT},
    }


def test_metric_message_shows_value_against_threshold():
    event = metric_event(
        tenant="t1", shop="旗舰店", platform="pinduoduo", metric="pdd.reply_3min_rate", title="3分钟有效回复率",
        value=0.4512, threshold=0.5, comparison=">=", agent=None, day=dt.date(2026, 5, 9), numerator=37,
        denominator=82, occurred_at=AT,
    )
    assert event.kind is AlertKind.metric_below_threshold
    assert build_body(hook(RobotKind.wecom, WECOM_URL, "text"), event)["text"]["content"] == (
        "【客服质检告警】指标未达标\n店铺：旗舰店（拼多多）\n指标：pdd.reply_3min_rate 3分钟有效回复率\n"
        "等级：较重\n当前值：45.1%（要求 ≥ 50.0%）\n统计：37 / 82\n日期：2026-05-09\n时间：2026-05-09 12:30:05"
    )
    seconds = metric_event(
        tenant="t1", shop="s", platform="jd", metric="jd.mean_response", title="咚咚平均响应时长",
        value=75.5, threshold=60, comparison="<=", unit="s", occurred_at=AT,
    )
    text = build_body(hook(RobotKind.feishu, FEISHU_URL, "text"), seconds)["content"]["text"]
    assert "当前值：75.5秒（要求 ≤ 60秒）" in text
    assert "店铺：s（京东）" in text


def test_people_typed_text_cannot_inject_markdown():
    event = finding_event(
        shop="[点我](http://evil.example)", agent="<font color=\"warning\">a</font>", excerpt="**粗** _斜_ `码`\n# 标题"
    )
    content = build_body(hook(RobotKind.wecom, WECOM_URL), event)["markdown"]["content"]
    for raw in ("[点我]", "](http", "<font", "**粗**", "`码`", "\n# "):
        assert raw not in content
    assert "［点我］(http://evil.example)" in content
    # plain text keeps the characters as typed (one line)
    text = build_body(hook(RobotKind.wecom, WECOM_URL, "text"), event)["text"]["content"]
    assert "消息：**粗** _斜_ `码` # 标题" in text


def test_excerpt_is_masked_even_if_the_caller_forgot():
    event = finding_event(excerpt="我的电话13812345678，身份证11010519491231002X")
    for kind, url in ((RobotKind.wecom, WECOM_URL), (RobotKind.dingtalk, DING_URL), (RobotKind.feishu, FEISHU_URL)):
        for style in ("rich", "text"):
            body = json.dumps(build_body(hook(kind, url, style), event), ensure_ascii=False)
            assert "13812345678" not in body
            assert "11010519491231002X" not in body


def test_bodies_fit_the_robots_size_limits():
    long = "加我微信" + "很长的消息" * 2000
    event = finding_event(excerpt=long, shop="店" * 3000)
    content = build_body(hook(RobotKind.wecom, WECOM_URL), event)["markdown"]["content"]
    assert len(content.encode()) <= WECOM_MARKDOWN_MAX_BYTES
    assert len(build_body(hook(RobotKind.wecom, WECOM_URL, "text"), event)["text"]["content"].encode()) <= 2048
    assert "…" in content


# --------------------------------------------------------------------------------------------------
# Signatures, recomputed here independently of the implementation


def test_dingtalk_signature_matches_the_documented_recipe():
    secret, ts = "SEC0123456789abcdef", 1715230205123
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert dingtalk_sign(secret, ts) == expected
    request = prepare(hook(RobotKind.dingtalk, DING_URL, secret=secret), finding_event(), {"x": 1}, ts / 1000)
    parts = urlsplit(request.url)
    assert parts.query == f"access_token=abcdef0123456789&timestamp={ts}&sign={quote_plus(expected)}"
    assert parse_qs(parts.query)["sign"] == [expected]
    assert request.body == {"x": 1}


def test_feishu_signature_uses_the_string_as_the_key():
    secret, ts = "fs-secret-xyz", 1715230205
    expected = base64.b64encode(hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()
    assert feishu_sign(secret, ts) == expected
    # and not the DingTalk way round
    assert expected != base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()).decode()
    request = prepare(hook(RobotKind.feishu, FEISHU_URL, secret=secret), finding_event(), {"msg_type": "text"}, ts + 0.9)
    assert request.url == FEISHU_URL
    assert request.body == {"timestamp": str(ts), "sign": expected, "msg_type": "text"}
    assert request.loggable_body()["sign"] == "***"


def test_unsigned_robots_send_the_url_unchanged():
    for kind, url in ((RobotKind.wecom, WECOM_URL), (RobotKind.dingtalk, DING_URL), (RobotKind.feishu, FEISHU_URL)):
        request = prepare(hook(kind, url), finding_event(), {"a": 1}, 1715230205.0)
        assert (request.url, request.body) == (url, {"a": 1})
    # 企业微信 has no signature scheme: a secret there changes nothing
    request = prepare(hook(RobotKind.wecom, WECOM_URL, secret="s"), finding_event(), {"a": 1}, 1715230205.0)
    assert (request.url, request.body) == (WECOM_URL, {"a": 1})


# --------------------------------------------------------------------------------------------------
# Answers


def j(obj) -> bytes:
    return json.dumps(obj).encode()


@pytest.mark.parametrize(
    ("kind", "status", "content", "ok", "retry"),
    [
        (RobotKind.wecom, 200, j({"errcode": 0, "errmsg": "ok"}), True, False),
        (RobotKind.wecom, 200, j({"errcode": 45009, "errmsg": "api freq out of limit"}), False, True),
        (RobotKind.wecom, 200, j({"errcode": -1, "errmsg": "system busy"}), False, True),
        (RobotKind.wecom, 200, j({"errcode": 93000, "errmsg": "invalid webhook url"}), False, False),
        (RobotKind.dingtalk, 200, j({"errcode": 0, "errmsg": "ok"}), True, False),
        (RobotKind.dingtalk, 200, j({"errcode": 130101, "errmsg": "send too fast"}), False, True),
        (RobotKind.dingtalk, 200, j({"errcode": 310000, "errmsg": "sign not match"}), False, False),
        (RobotKind.feishu, 200, j({"code": 0, "msg": "success", "data": {}}), True, False),
        (RobotKind.feishu, 200, j({"StatusCode": 0, "StatusMessage": "success"}), True, False),
        (RobotKind.feishu, 200, j({"code": 19021, "msg": "sign match fail"}), False, False),
        (RobotKind.feishu, 200, j({"code": 11232, "msg": "frequency limited"}), False, True),
        (RobotKind.feishu, 200, j({"errcode": 0}), False, False),  # not a Feishu answer
        (RobotKind.wecom, 500, b"oops", False, True),
        (RobotKind.wecom, 503, b"", False, True),
        (RobotKind.dingtalk, 429, b"", False, True),
        (RobotKind.wecom, 404, b"not found", False, False),
        (RobotKind.wecom, 200, b"<html>proxy</html>", False, False),
        (RobotKind.wecom, 200, j([1, 2]), False, False),
    ],
)
def test_interpret(kind, status, content, ok, retry):
    outcome = interpret(kind, status, content)
    assert (outcome.ok, outcome.retry) == (ok, retry)
    assert (outcome.error is None) == ok


def test_retry_after_is_read():
    assert interpret(RobotKind.wecom, 429, b"", {"retry-after": "7"}).retry_after == 7.0
    assert interpret(RobotKind.wecom, 503, b"", {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}).retry_after is None


# --------------------------------------------------------------------------------------------------
# Webhook config and redaction


def test_webhook_hides_its_credentials():
    w = Webhook(id="w1", tenant="t1", kind="dingtalk", url=DING_URL, secret="SECtopsecret")
    assert "abcdef0123456789" not in repr(w) and "SECtopsecret" not in repr(w)
    assert "SECtopsecret" not in w.model_dump_json()
    assert w.secret_value == "SECtopsecret"
    assert w.safe_url == "https://oapi.dingtalk.com/robot/send?access_token=***"
    assert redact_url(WECOM_URL) == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***"
    assert redact_url(FEISHU_URL) == "https://open.feishu.cn/open-apis/bot/v2/hook/***"
    assert redact_url("https://user:pw@h.example:8443/p?access_token=x&timestamp=1&sign=y&keep=1") == (
        "https://h.example:8443/p?access_token=***&timestamp=***&sign=***&keep=1"
    )


def test_webhook_validation():
    with pytest.raises(ValidationError):
        Webhook(id="w", tenant="t", kind="wecom", url="ftp://qyapi.weixin.qq.com/x")
    with pytest.raises(ValidationError):
        Webhook(id="w", tenant="t", kind="slack", url="https://x.example")
    assert Webhook(id="w", tenant="t", kind="feishu", url="https://x.example", secret="  ").secret is None
