"""The sample chat generator and the shipped sample set (src/kefuguard/sample/data)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from itertools import islice

import openpyxl
import pytest

from kefuguard.conversation.model import Message, Role
from kefuguard.sample import COLUMNS, SHOPS, Shop, generate_messages, generate_to_jsonl, sample_dir
from kefuguard.sample import phrases as ph
from kefuguard.sample.generator import (
    BAD_ROLE,
    CSV_HEADERS,
    ROLE_ZH,
    SAMPLE_FILES,
    XLSX_HEADERS,
    row_to_json,
    write_sample_set,
)

DATA = sample_dir()
JSONL, CSV_FILE, XLSX = SAMPLE_FILES
ZH_ROLE = {v: k for k, v in ROLE_ZH.items()}
NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


# --- reading the shipped files back (independently of the importers) -----------------------------------


def _read_jsonl() -> list[dict]:
    with open(DATA / JSONL, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _from_zh(rec: dict) -> dict:
    def when(v):
        if v in (None, ""):
            return None
        if isinstance(v, dt.datetime):
            return v.isoformat() + "+08:00"
        return v.replace(" ", "T") + "+08:00"

    return {
        "conversation_id": rec["会话ID"],
        "platform": rec["平台"],
        "shop": rec["店铺"],
        "agent_id": rec["客服"] or "",
        "buyer_id": rec["买家"],
        "role": ZH_ROLE.get(rec["角色"], rec["角色"]),
        "sent_at": when(rec["发送时间"]),
        "text": rec["消息内容"] or "",
        "quick_reply": rec["快捷回复"] == "是",
        "auto_reply": rec["自动回复"] == "是",
        "buyer_reported": rec["买家被举报"] == "是",
        "order_time": when(rec["下单时间"]),
        "paid_amount": None if rec["实付金额"] in (None, "") else float(rec["实付金额"]),
    }


def _csv_records() -> list[dict]:
    text = (DATA / CSV_FILE).read_bytes().decode("gbk")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _read_csv() -> list[dict]:
    return [_from_zh(r) for r in _csv_records()]


def _read_xlsx() -> list[dict]:
    ws = openpyxl.load_workbook(DATA / XLSX, read_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    return [_from_zh(dict(zip(rows[0], r, strict=True))) for r in rows[1:]]


@pytest.fixture(scope="module")
def shipped() -> dict[str, list[dict]]:
    return {JSONL: _read_jsonl(), CSV_FILE: _read_csv(), XLSX: _read_xlsx()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, list[dict]]:
    """The sample set as the generator builds it, with each row's planted label and defect."""
    return write_sample_set(tmp_path_factory.mktemp("sample"), seed=7)


@pytest.fixture(scope="module")
def big() -> list[dict]:
    return list(islice(generate_messages(seed=11, days=None, labels=True), 60_000))


# --- the generator ----------------------------------------------------------------------------------


def test_same_seed_same_rows_other_seed_other_rows():
    a = list(generate_messages(seed=3, days=2))
    assert a == list(generate_messages(seed=3, days=2))
    assert a != list(generate_messages(seed=4, days=2))


def test_first_days_do_not_depend_on_how_many_follow():
    two = list(generate_messages(seed=5, days=2))
    assert list(islice(generate_messages(seed=5, days=None), len(two))) == two
    assert len(list(generate_messages(seed=5, days=3))) > len(two)


def test_rows_have_canonical_columns_and_validate_as_messages():
    rows = list(generate_messages(seed=1, days=2))
    assert rows and all(tuple(r) == COLUMNS for r in rows)
    for r in rows:
        m = Message(**r)
        assert r["sent_at"].endswith("+08:00") and m.sent_at.utcoffset() == dt.timedelta(hours=8)
        assert r["order_time"] is None or r["order_time"].endswith("+08:00")
    assert {r["role"] for r in rows} == {"buyer", "agent", "bot", "system"}
    assert {(r["shop"], r["platform"]) for r in rows} == {(s.name, s.platform) for s in SHOPS}


def test_messages_of_a_conversation_are_contiguous_and_in_time_order():
    rows = list(generate_messages(seed=2, days=3))
    seen: set[str] = set()
    last: dict[str, str] = {}
    prev = None
    for r in rows:
        cid = r["conversation_id"]
        if cid != prev:
            assert cid not in seen, "a conversation's rows must not be split"
            seen.add(cid)
            prev = cid
        assert r["sent_at"] >= last.get(cid, ""), cid
        last[cid] = r["sent_at"]


def test_shops_agents_and_conversation_level_facts():
    rows = list(generate_messages(seed=8, days=3))
    convs = defaultdict(list)
    for r in rows:
        convs[r["conversation_id"]].append(r)
    for msgs in convs.values():
        for key in ("platform", "shop", "buyer_id", "order_time", "paid_amount", "buyer_reported"):
            assert len({m[key] for m in msgs}) == 1, key
    agents = {r["agent_id"] for r in rows if r["role"] == "agent"}
    assert "小鹿家居:阿青" in agents and all(":" in a for a in agents)
    for shop in SHOPS:
        assert {a for a in agents if a.startswith(shop.short + ":")} == {
            shop.agent_id(a) for a in shop.agents
        }
    assert all(r["agent_id"] == "" for r in rows if r["role"] in ("bot", "system"))
    ordered = [m for m in convs.values() if m[0]["paid_amount"] is not None]
    assert ordered and all(m[0]["order_time"] for m in ordered)
    buyers = Counter(m[0]["buyer_id"] for m in convs.values())
    assert buyers.most_common(1)[0][1] > 1, "some buyers come back for another conversation"


def test_most_messages_are_clean(big):
    share = sum(1 for r in big if not r["label"]) / len(big)
    assert 0.85 <= share <= 0.92, share


def test_every_category_and_behaviour_is_generated(big):
    labels = Counter(r["label"] for r in big)
    for cat in ph.VIOLATIONS:
        assert labels[cat] > 0, cat
    for label in ("curt", "late_reply", "no_reply", "night_contact", "repeat", "buyer_abuse"):
        assert labels[label] > 0, label
    for r in big:
        if r["label"] in ph.VIOLATIONS:
            assert r["role"] == "agent"
            allowed = ph.VIOLATION_PLATFORMS.get(r["label"])
            assert allowed is None or r["platform"] in allowed, (r["label"], r["platform"])
            for phrase, platforms in ph.PHRASE_NOT_ON.items():
                assert not (r["text"].endswith(phrase) and r["platform"] in platforms), r["text"]
        if r["label"] == "buyer_abuse":
            assert r["role"] == "buyer" and r["text"] in ph.BUYER_ABUSE
    assert all(r["platform"] == "pinduoduo" for r in big if r["buyer_reported"])
    assert any(r["buyer_reported"] for r in big)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_three_days_of_any_seed_show_every_category(seed):
    labels = Counter(r["label"] for r in generate_messages(seed=seed, days=3, labels=True))
    assert [c for c in ph.VIOLATIONS if not labels[c]] == []


def _gap_minutes(rows: list[dict]) -> list[float]:
    """Minutes from each buyer message to the next human agent message in its conversation."""
    gaps, waiting, prev = [], None, None
    for r in rows:
        if r["conversation_id"] != prev:
            waiting, prev = None, r["conversation_id"]
        t = dt.datetime.fromisoformat(r["sent_at"])
        if r["role"] == "buyer" and waiting is None:
            waiting = t
        elif r["role"] == "agent" and not r["auto_reply"] and waiting is not None:
            gaps.append((t - waiting).total_seconds() / 60)
            waiting = None
    return gaps


def test_timing_realism(big):
    gaps = _gap_minutes(big)
    assert sum(g <= 1 for g in gaps) > len(gaps) / 2, "most replies come within a minute"
    assert any(3 < g <= 5 for g in gaps) and any(5 < g < 60 for g in gaps)
    hours = Counter(dt.datetime.fromisoformat(r["sent_at"]).hour for r in big if r["role"] == "buyer")
    assert all(hours[h] > 0 for h in range(24)), "buyers write at all hours"
    night_agent = [r for r in big if r["label"] == "night_contact"]
    assert night_agent
    for r in night_agent:
        h = dt.datetime.fromisoformat(r["sent_at"]).hour
        assert h >= 22 or h < 8
    convs = defaultdict(list)
    for r in big:
        convs[r["conversation_id"]].append(r)
    unanswered = [m for m in convs.values() if m[-1]["role"] == "buyer" and m[-1]["label"] == "no_reply"]
    assert unanswered, "漏回复: conversations ending on an unanswered buyer message"
    no_greeting = [
        m
        for m in convs.values()
        if not any(r["role"] == "agent" and ("您好" in r["text"] or "欢迎" in r["text"]) for r in m)
    ]
    assert no_greeting


def test_repeats_quick_replies_bots_and_auto_replies(big):
    triples = sum(
        1
        for a, b, c in zip(big, big[1:], big[2:], strict=False)
        if a["role"] == b["role"] == c["role"] == "agent"
        and a["text"] == b["text"] == c["text"]
        and a["conversation_id"] == c["conversation_id"]
    )
    assert triples > 0
    assert any(r["quick_reply"] for r in big)
    assert any(r["auto_reply"] and r["role"] == "agent" for r in big)
    assert any(r["role"] == "bot" for r in big)
    assert any(r["text"] in ph.CURT_REPLIES and r["role"] == "agent" for r in big)


def test_generate_to_jsonl_writes_exactly_the_json_of_the_rows(tmp_path):
    path = tmp_path / "m.jsonl"
    assert generate_to_jsonl(path, 5_003, seed=9) == 5_003
    lines = path.read_text(encoding="utf-8").splitlines()
    expected = [row_to_json(r) for r in islice(generate_messages(seed=9, days=None), 5_003)]
    assert lines == expected
    assert json.loads(lines[0])["sent_at"].endswith("+08:00")


def test_cli_jsonl_mode(tmp_path):
    out = tmp_path / "b.jsonl"
    subprocess.run(
        [sys.executable, "-m", "kefuguard.sample.generator", "--jsonl", str(out), "--messages", "300"],
        check=True,
        capture_output=True,
    )
    assert len(out.read_text(encoding="utf-8").splitlines()) == 300


def test_shop_codes_must_be_plain_ascii():
    with pytest.raises(ValueError):
        Shop(
            name="x",
            short="x",
            code="小鹿",
            platform="tmall",
            kind="goods",
            products=(("a", 1.0),),
            agents=(),
        )


# --- the shipped sample set -------------------------------------------------------------------------


def test_regenerate_command_reproduces_shipped_files_byte_for_byte(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "kefuguard.sample.generator", "--out", str(tmp_path), "--seed", "7"],
        check=True,
        capture_output=True,
    )
    shipped = sorted(p.name for p in DATA.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == shipped == sorted([*SAMPLE_FILES, "README.md"])
    for name in shipped:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_sample_set_is_small_and_each_file_holds_its_own_shops(shipped):
    assert sum(p.stat().st_size for p in DATA.iterdir()) < 2_000_000
    total = 0
    for name, rows in shipped.items():
        assert {r["shop"] for r in rows} == set(SAMPLE_FILES[name])
        total += len(rows)
    assert 2_500 <= total <= 6_000
    days = {r["sent_at"][:10] for rows in shipped.values() for r in rows if r["sent_at"]}
    assert {"2025-06-16", "2025-06-17", "2025-06-18"} <= days


def test_row_counts_match_the_builder_and_the_readme(shipped, built):
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for name, rows in shipped.items():
        assert len(rows) == len(built[name])
        rejected = sum(1 for r in built[name] if r["defect"] and r["defect"].rejected)
        assert rejected == 4
        assert f"| `{name}` | {len(rows)} | {len(rows) - rejected} | {rejected} |" in readme
    assert len((DATA / JSONL).read_text(encoding="utf-8").splitlines()) == len(shipped[JSONL])


def test_files_hold_the_same_rows_the_builder_made(shipped, built):
    for name, rows in shipped.items():
        for got, want in zip(rows, built[name], strict=True):
            want = {k: want[k] for k in COLUMNS}
            if name == CSV_FILE:
                want["text"] = want["text"].encode("gbk", errors="replace").decode("gbk")
            assert got == want, name


def test_gbk_csv_is_really_gbk_with_chinese_headers():
    raw = (DATA / CSV_FILE).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gbk")  # strict: every byte is GBK
    assert text.splitlines()[0] == ",".join(CSV_HEADERS)
    recs = _csv_records()
    assert {r["角色"] for r in recs} == {"买家", "客服", "机器人", "系统", BAD_ROLE}
    assert all(NAIVE.match(r["发送时间"]) for r in recs if r["发送时间"])
    assert all(r["下单时间"] == "" or NAIVE.match(r["下单时间"]) for r in recs)
    for col in ("快捷回复", "自动回复", "买家被举报"):
        assert {r[col] for r in recs} <= {"是", "否"}
    assert ",好的?," in text, "GBK lacks emoji (好的👌): written as '?' like a real export"


def test_xlsx_has_chinese_headers_and_date_cells():
    ws = openpyxl.load_workbook(DATA / XLSX, read_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    assert ws.title == "聊天记录" and rows[0] == XLSX_HEADERS
    assert all(isinstance(r[0], dt.datetime) for r in rows[1:] if r[0] is not None)


def test_deliberately_bad_rows_are_where_the_readme_says(shipped):
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for name, rows in shipped.items():
        offset = 1 if name == JSONL else 2
        missing = [i for i, r in enumerate(rows) if r["sent_at"] is None]
        bad_role = [i for i, r in enumerate(rows) if r["role"] == BAD_ROLE]
        empty = [i for i, r in enumerate(rows) if r["text"] == ""]
        dups = [i for i in range(1, len(rows)) if rows[i] == rows[i - 1]]
        assert len(missing) == len(bad_role) == len(empty) == len(dups) == 1, name
        assert f"| `{name}` | {missing[0] + offset} | 缺少发送时间 | 应拒绝 |" in readme
        assert f"| `{name}` | {bad_role[0] + offset} | 未知角色 '{BAD_ROLE}' | 应拒绝 |" in readme
        assert f"| `{name}` | {empty[0] + offset} | 消息内容为空" in readme
        assert f"| `{name}` | {dups[0] + offset} | 与上一行完全重复" in readme
        backwards = [
            i
            for i in range(1, len(rows))
            if rows[i]["conversation_id"] == rows[i - 1]["conversation_id"]
            and rows[i]["sent_at"]
            and rows[i - 1]["sent_at"]
            and rows[i]["sent_at"] < rows[i - 1]["sent_at"]
        ]
        assert backwards, name
        assert f"| `{name}` | {backwards[0] - 1 + offset} | 乱序" in readme
        last = rows[-1]
        assert any(r["conversation_id"] == last["conversation_id"] for r in rows[:-50]), "a row exported late"
        # everything else is a valid message
        bad = {missing[0], bad_role[0], empty[0]}
        for i, r in enumerate(rows):
            if i not in bad:
                Message(**r)


def _expanded(templates) -> set[str]:
    out = set()
    for t in templates:
        for shop in SHOPS:
            for product, _price in shop.products:
                out.add(t.format(p=product).encode("gbk", errors="replace").decode("gbk"))
                out.add(t.format(p=product))
    return out


def _suffixes(text: str) -> list[str]:
    """The text and every tail after a '，': violation phrases are sometimes tacked onto an answer."""
    parts = text.split("，")
    return ["，".join(parts[i:]) for i in range(len(parts))]


def test_every_violation_category_is_in_the_sample_set(shipped):
    texts = Counter(s for rows in shipped.values() for r in rows for s in _suffixes(r["text"]))
    for cat, templates in ph.VIOLATIONS.items():
        assert any(texts[t] for t in _expanded(templates)), cat
    assert any(texts[t] for t in ph.BUYER_ABUSE), "buyers who insult the agent"
    assert any(texts[t] for t in ph.CURT_REPLIES)
    assert any(texts[t] for t in _expanded(ph.HARASSMENT_NIGHT))


def test_sample_set_behaviours(shipped):
    rows = [r for rs in shipped.values() for r in rs]
    reported = {r["platform"] for r in rows if r["buyer_reported"]}
    assert reported == {"pinduoduo"}
    assert {r["role"] for r in rows} >= {Role.bot.value, Role.system.value}
    assert any(r["auto_reply"] for r in rows) and any(r["quick_reply"] for r in rows)
    bad_texts = set().union(*(_expanded(t) for t in ph.VIOLATIONS.values()))
    clean = sum(1 for r in rows if bad_texts.isdisjoint(_suffixes(r["text"]))) / len(rows)
    appended = [
        r["text"]
        for r in rows
        if r["text"] not in bad_texts and not bad_texts.isdisjoint(_suffixes(r["text"]))
    ]
    assert appended, "some violations ride on an otherwise fine answer"
    assert clean > 0.9
    gaps = _gap_minutes(
        sorted((r for r in rows if r["sent_at"]), key=lambda r: (r["conversation_id"], r["sent_at"]))
    )
    assert any(g > 5 for g in gaps) and any(3 < g <= 5 for g in gaps)
