"""Small generated inputs with everything that makes parallel reading hard: quoted CSV fields with
line breaks (some holding whole-looking rows), doubled quotes, stray quotes inside unquoted
fields, unclosed quotes, blank lines, rows rejected for many reasons, exact duplicates, CRLF line
ends, GBK text, and conversations scattered over the whole file."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

CSV_HEADER = ["会话ID", "平台", "店铺", "客服账号", "角色", "发送时间", "消息内容"]
PLATFORMS = ["拼多多", "抖音", "天猫", "京东"]
TEXTS = [
    "亲，在的呢", "加我微信 abc123 发你优惠券", "这个什么时候发货？", "打我电话 138 0013 8000", "好的谢谢",
    "最好的产品，全网第一", "你是不是傻", "已经帮您备注了哦~", 'He said "OK", fine', "退款已经处理",
]


def _time(rnd: random.Random) -> str:
    s = rnd.randrange(6 * 3600)
    return f"2024-05-01 {10 + s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def _quoted(cells: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue().rstrip("\n")


def messy_csv_lines(n: int, seed: int) -> list[str]:
    """Physical lines (no terminators) of a CSV export: header, then `n` records of all kinds."""
    rnd = random.Random(seed)
    lines = [",".join(CSV_HEADER)]
    made: list[str] = []
    for _ in range(n):
        cid = f"C{rnd.randrange(max(3, n // 6))}"
        platform = rnd.choice(PLATFORMS)
        role = rnd.choice(["买家", "客服", "买家", "客服", "机器人"])
        cells = [cid, platform, "店", f"kf{rnd.randrange(3)}", role, _time(rnd), rnd.choice(TEXTS)]
        kind = rnd.random()
        if kind < 0.10:  # a message with line breaks (a quoted field over several lines)
            cells[6] = "\n".join(rnd.choice(TEXTS) for _ in range(rnd.randrange(2, 5)))
            record = _quoted(cells)
        elif kind < 0.13:  # a message holding a whole-looking row on its second line
            cells[6] = "第一行\n" + ",".join([cid, platform, "店", "kf1", "买家", _time(rnd), "像一行"])
            record = _quoted(cells)
        elif kind < 0.17:  # a stray quote inside an unquoted field (read literally)
            record = ",".join([*cells[:6], '他说"好的'])
        elif kind < 0.19:  # an unclosed quote: that line is rejected, reading resynchronises
            record = ",".join(cells[:6]) + ',"没有闭合的引号'
        elif kind < 0.22:
            record = ""  # blank line
        elif kind < 0.25:  # wrong column count
            record = ",".join(cells[:5])
        elif kind < 0.28:  # a time nobody can read
            record = ",".join([*cells[:5], "昨天下午", cells[6]])
        elif kind < 0.30:  # empty text
            record = ",".join([*cells[:6], ""])
        elif kind < 0.36 and made:  # an exact duplicate of an earlier record
            record = rnd.choice(made)
        else:
            record = _quoted(cells)
        if record:
            made.append(record)
        lines.extend(record.split("\n"))
    return lines


def write_messy_csv(path: Path, n: int = 300, seed: int = 0, *, crlf: bool = False, encoding: str = "utf-8") -> Path:
    ending = "\r\n" if crlf else "\n"
    path.write_bytes((ending.join(messy_csv_lines(n, seed)) + ending).encode(encoding))
    return path


def write_messy_jsonl(path: Path, n: int = 300, seed: int = 0, *, bom: bool = False) -> Path:
    rnd = random.Random(seed)
    lines: list[str] = []
    for _ in range(n):
        row = {"conversation_id": f"J{rnd.randrange(max(3, n // 6))}", "platform": rnd.choice(PLATFORMS), "shop": "店",
               "agent_id": f"kf{rnd.randrange(3)}", "role": rnd.choice(["buyer", "agent"]), "sent_at": _time(rnd),
               "text": rnd.choice(TEXTS)}
        kind = rnd.random()
        if kind < 0.05:
            lines.append("")
        elif kind < 0.08:
            lines.append('{"conversation_id": "broken"')
        elif kind < 0.11:
            lines.append(json.dumps({**row, "role": "robot?"}, ensure_ascii=False))
        elif kind < 0.14:
            lines.append(json.dumps({**row, "extra_column": 1}, ensure_ascii=False))
        elif kind < 0.18 and lines:
            lines.append(rnd.choice(lines))
        else:
            lines.append(json.dumps(row, ensure_ascii=False))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes(b"\xef\xbb\xbf" + data if bom else data)
    return path
