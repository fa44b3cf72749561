"""Fuzzing the importers (issue 9, item 5): CSV and JSONL bytes generated from a grammar of good rows,
broken quotes, bad encodings, nested JSON, lone surrogates, blank lines and wrong columns. Whatever
comes in: no traceback (a file may only be refused with a clean ColumnError), and
read = accepted + duplicates + rejected, with one reject per rejected row."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kefuguard.io import ColumnError, import_logs

from .test_io_import import assert_balanced

TEXTS = ["在吗", "加我微信", "亲，有货的哦", "hello, world", "引号\"在中间", "电话13812345678", "😀表情", "a;b|c\td"]
ROLES = ["买家", "客服", "机器人", "店长", ""]
TIMES = ["2024-05-01 10:00:00", "2024-05-01 10:00:30", "20240616100000", "1714528923", "昨天", "", "2024-05-01"]

CSV_HEADER = "会话ID,平台,店铺,客服账号,角色,发送时间,消息内容\n"

cells = st.fixed_dictionaries({
    "cid": st.sampled_from(["C1", "C2", "C3", ""]),
    "role": st.sampled_from(ROLES),
    "time": st.sampled_from(TIMES),
    "text": st.sampled_from(TEXTS),
})


def _csv_field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value


def _csv_row(c: dict[str, str]) -> str:
    return ",".join(_csv_field(v) for v in (c["cid"], "拼多多", "店", "kf", c["role"], c["time"], c["text"])) + "\n"


csv_pieces = st.one_of(
    cells.map(lambda c: ("utf8", _csv_row(c))),                                          # a good (or bad-value) row
    cells.map(lambda c: ("utf8", _csv_row(c).replace(c["text"], '"' + c["text"], 1))),   # a broken quote
    cells.map(lambda c: ("gbk", _csv_row(c))),                                           # another encoding
    cells.map(lambda c: ("utf8", _csv_row(c)[:-1] + ",多余,列\n")),                        # wrong column count
    cells.map(lambda c: ("utf8", ",".join([c["cid"], c["role"]]) + "\n")),               # too few columns
    cells.map(lambda c: ("utf8", f'{c["cid"]},拼多多,店,kf,{c["role"]},{c["time"]},"多行\n第二行"\n')),
    st.sampled_from([("utf8", "\n"), ("utf8", "   \n"), ("utf8", "\r\n"), ("utf8", ",,,,,,\n")]),
    st.binary(max_size=40).map(lambda b: ("bytes", b)),                                  # junk bytes
)


def _good_obj(c: dict[str, str]) -> dict[str, str]:
    return {"conversation_id": c["cid"], "role": c["role"], "sent_at": c["time"], "text": c["text"]}


jsonl_pieces = st.one_of(
    cells.map(lambda c: json.dumps(_good_obj(c), ensure_ascii=False).encode()),
    cells.map(lambda c: json.dumps(_good_obj(c)).encode()),                                # \u escapes
    cells.map(lambda c: json.dumps(_good_obj(c), ensure_ascii=False).encode("gbk", "replace")),
    st.integers(1000, 5000).map(lambda n: b"[" * n + b"]" * n),                           # nested too deep
    st.integers(1000, 3000).map(lambda n: b'{"text": ' + b"[" * n + b"]" * n + b"}"),
    st.sampled_from([b'{"conversation_id": "C1", "role": "buyer", "sent_at": "2024-05-01 10:00:00", '
                     b'"text": "a\\ud800"}', b'{"\\udc00": 1}', b'"just a string"', b"[1, 2]", b"{", b"",
                     b"   ", b'{"text": "x"} trailing']),
    st.binary(max_size=40),
)


def _audit_file(path: Path) -> None:
    rejects: list = []
    try:
        convs, stats = import_logs([path], rejects=rejects.append, platform="jd", shop="s")
    except ColumnError:
        return  # the whole file refused, with a message: allowed
    out = list(convs)
    assert_balanced(stats, out, rejects)


# max_examples keeps each test to about a second; raise it locally (KEFUGUARD_FUZZ_EXAMPLES) to dig deeper
EXAMPLES = int(os.environ.get("KEFUGUARD_FUZZ_EXAMPLES", "60"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(pieces=st.lists(csv_pieces, max_size=30), with_header=st.booleans(), bom=st.booleans())
def test_fuzz_csv(pieces, with_header, bom):
    data = b"\xef\xbb\xbf" if bom else b""
    if with_header:
        data += CSV_HEADER.encode()
    for kind, piece in pieces:
        if kind == "bytes":
            data += piece
        else:
            data += piece.encode("gbk" if kind == "gbk" else "utf-8", "replace")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.csv"
        path.write_bytes(data)
        _audit_file(path)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(pieces=st.lists(jsonl_pieces, max_size=20), crlf=st.booleans())
def test_fuzz_jsonl(pieces, crlf):
    data = (b"\r\n" if crlf else b"\n").join(pieces)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.jsonl"
        path.write_bytes(data)
        _audit_file(path)
