"""Small chat-log files for the storage tests, written the way platform exports look."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

FIELDS = ("conversation_id", "platform", "shop", "agent_id", "buyer_id", "role", "sent_at", "text")
PHONE = "13912345678"  # a valid mainland mobile number: masked at rest by default
ID_NUMBER = "11010519491231002X"  # a resident ID number with a valid check character
START = dt.datetime(2025, 6, 16, 9, 0, 0)


def chat_rows(conversations: int = 20, per_conversation: int = 6, *, shop: str = "小鹿家居旗舰店",
              platform: str = "tmall", with_pii: bool = True) -> list[dict[str, str]]:
    """Messages of `conversations` conversations, buyer and agent taking turns; the first buyer
    message of every conversation gives a phone number (and the second one an ID number)."""
    rows = []
    for c in range(conversations):
        for i in range(per_conversation):
            buyer = i % 2 == 0
            if buyer and i == 0 and with_pii:
                text = f"我的电话是{PHONE}，麻烦尽快发货"
            elif buyer and i == 2 and with_pii:
                text = f"身份证号{ID_NUMBER}，收货地址南京东路478号3栋"
            elif buyer:
                text = f"请问第{c}单什么时候到？第{i}次问了"
            else:
                text = f"亲，您好，第{c}单已经安排发货了哦（{i}）"
            rows.append({
                "conversation_id": f"c{c:04d}", "platform": platform, "shop": shop,
                "agent_id": f"{shop}:客服{c % 3}", "buyer_id": f"tb_{c:06d}",
                "role": "buyer" if buyer else "agent",
                "sent_at": (START + dt.timedelta(minutes=c * 10, seconds=i * 30)).strftime("%Y-%m-%d %H:%M:%S"),
                "text": text,
            })
    return rows


def bad_rows() -> list[dict[str, str]]:
    """Three rows the importers reject: no time, unknown role, empty text (the first quotes a phone)."""
    base = {"conversation_id": "bad", "platform": "tmall", "shop": "小鹿家居旗舰店", "agent_id": "",
            "buyer_id": "tb_bad", "role": "buyer", "sent_at": "2025-06-16 12:00:00", "text": "x"}
    return [
        {**base, "sent_at": "", "text": f"没有时间的消息 {PHONE}"},
        {**base, "role": "robot?", "text": "角色不明"},
        {**base, "text": ""},
    ]


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def write_csv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return path
