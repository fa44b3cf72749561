"""Malformed inputs (issue 9, item 5): every bad file and row is accounted for, never a traceback.

Each case asserts read = accepted + duplicates + rejected, and that the good rows around the bad
ones are still read.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from kefuguard.conversation.model import SHANGHAI
from kefuguard.io import ColumnError, import_logs

from .test_io_import import ZH_HEADER, assert_balanced, collect, write_csv, write_xlsx, zh_row

HEADER = "会话ID,平台,店铺,客服账号,角色,发送时间,消息内容\n"


def csv_rows(n: int, *, start: int = 0) -> list[str]:
    return [
        f"C{i // 4},拼多多,店,kf,{'买家' if i % 2 == 0 else '客服'},"
        f"2024-05-01 {10 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d},消息{i}\n"
        for i in range(start, start + n)
    ]


def good_csv(path: Path, n: int = 10) -> Path:
    path.write_text(HEADER + "".join(csv_rows(n)), encoding="utf-8")
    return path


def totals(stats) -> tuple[int, int, int, int]:
    return stats.read, stats.accepted, stats.duplicates, stats.rejected


# --- files that cannot be read at all ---------------------------------------------------------


def _valid_xlsx(path: Path) -> bytes:
    write_xlsx(path, {"s": [ZH_HEADER, zh_row("X1", "买家", "2024-05-01 10:00:00", "在吗")]})
    return path.read_bytes()


def _without_sheet(data: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            if not item.filename.startswith("xl/worksheets/"):
                dst.writestr(item, src.read(item))
    return out.getvalue()


@pytest.mark.parametrize("kind", ["zero", "random", "truncated", "incomplete"])
def test_broken_xlsx_is_listed_and_the_rest_of_the_folder_is_audited(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    good_csv(folder / "a.csv", 10)
    data = _valid_xlsx(tmp_path / "ok.xlsx")
    content = {
        "zero": b"",
        "random": os.urandom(4096),
        "truncated": data[: len(data) // 2],
        "incomplete": _without_sheet(data),  # a zip whose worksheet part is missing (KeyError)
    }[kind]
    bad = folder / "b.xlsx"
    bad.write_bytes(content)
    convs, stats, rejects = collect([folder])
    assert sum(len(c.messages) for c in convs) == 10
    f = stats.files[str(bad)]
    assert f.status == "unreadable" and ("Excel" in f.error or "工作表" in f.error)
    assert (f.read, f.rejected) == (1, 1)
    assert [(r.file, r.line) for r in rejects] == [(str(bad), 0)]
    assert totals(stats) == (11, 10, 0, 1)
    # alone, it is one clear error, not a BadZipFile/KeyError traceback
    with pytest.raises(ColumnError, match=r"不是有效的 Excel 工作簿|没有含表头的工作表"):
        import_logs([bad])


def test_unsupported_files_in_a_folder_are_listed_as_skipped(tmp_path: Path) -> None:
    good_csv(tmp_path / "a.csv", 4)
    (tmp_path / "blob.bin").write_bytes(os.urandom(100))
    (tmp_path / "README.md").write_text("# 导出说明\n", encoding="utf-8")
    (tmp_path / "备注.txt").write_text("这些是三月的聊天记录，周一再导一次。\n", encoding="utf-8")
    _convs, stats, rejects = collect([tmp_path])
    assert rejects == [] and totals(stats) == (4, 4, 0, 0)
    skipped = {Path(p).name: f for p, f in stats.files.items() if f.status == "skipped"}
    assert set(skipped) == {"blob.bin", "README.md", "备注.txt"}
    assert "不支持的文件类型（.bin）" in skipped["blob.bin"].error
    assert "不是聊天记录" in skipped["备注.txt"].error
    assert all(f.read == 0 for f in skipped.values())


def test_empty_csv_and_empty_jsonl_behave_the_same(tmp_path: Path) -> None:
    for name, content in (("e.csv", b""), ("e.jsonl", b""), ("bom.csv", b"\xef\xbb\xbf\r\n"), ("ws.jsonl", b"\n \n")):
        path = tmp_path / name
        path.write_bytes(content)
        convs, stats, rejects = collect([path], platform="jd", shop="s")
        assert convs == [] and rejects == [] and totals(stats) == (0, 0, 0, 0)
        assert stats.files[str(path)].status == "empty", name


def test_binary_file_without_header_gives_a_short_escaped_message(tmp_path: Path) -> None:
    for junk in (bytes(range(1, 256)) * 20, bytes(range(14, 256)) * 20):
        path = tmp_path / "j.csv"
        path.write_bytes(junk)
        with pytest.raises(ColumnError) as info:
            import_logs([path])
        assert len(info.value.zh) - len(str(path)) < 300 and str(info.value).isprintable()
    message = str(info.value)
    assert "首行为" in message
    quoted = message.split("首行为 ", 1)[1].split("。", 1)[0]
    assert len(quoted) <= 90 and quoted.isprintable()
    nul = tmp_path / "n.csv"
    nul.write_bytes(b"\x00\x01binary\x00" * 100)
    with pytest.raises(ColumnError, match="不是文本文件"):
        import_logs([nul])


# --- rows that cannot be parsed ---------------------------------------------------------------


def test_jsonl_deeply_nested_line_and_lone_surrogate_are_rejected(tmp_path: Path) -> None:
    good = {"conversation_id": "J1", "role": "buyer", "sent_at": "2024-05-01 10:00:00", "text": "你好"}
    lines = [json.dumps({**good, "text": f"第{i}条"}, ensure_ascii=False) for i in range(5)]
    lines.insert(2, "[" * 100_000 + "]" * 100_000)
    lines.insert(4, json.dumps(good)[:-1] + ', "memo": {"a": ' + "[" * 100_000 + "]" * 100_000 + "}}")
    lines.insert(5, '{"conversation_id": "J1", "role": "buyer", "sent_at": "2024-05-01 10:00:09", "text": "a\\ud800b"}')
    lines.append(json.dumps({**good, "text": "笑\U0001f600"}))  # a surrogate *pair* is fine
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    convs, stats, rejects = collect([path], platform="jd", shop="s")
    assert sorted(m.text for c in convs for m in c.messages) == sorted([f"第{i}条" for i in range(5)] + ["笑😀"])
    assert [(r.line, r.reason.split(" ")[0]) for r in rejects] == [
        (3, "格式错误(JSON嵌套过深)"), (5, "格式错误(JSON嵌套过深)"), (6, "无效字符(字段「text」含孤立的"),
    ]
    assert stats.files[str(path)].reasons == {"格式错误": 2, "无效字符": 1}
    assert totals(stats) == (9, 6, 0, 3)


def test_unclosed_quote_in_row_6_of_2000_loses_only_that_row(tmp_path: Path) -> None:
    rows = csv_rows(2000)
    rows[5] = rows[5].replace("消息5", '"消息5 写到一半')  # data row 6, file line 7
    path = tmp_path / "q.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    convs, stats, rejects = collect([path])
    assert totals(stats) == (2000, 1999, 0, 1)
    [reject] = rejects
    assert reject.line == 7 and reject.reason.startswith("引号未闭合：消息内容(text)字段")
    assert reject.raw.endswith('"消息5 写到一半')
    texts = {m.text for c in convs for m in c.messages}
    assert "消息6" in texts and "消息1999" in texts and len(texts) == 1999


@pytest.mark.parametrize("where", [0, 997, 1998])
def test_unclosed_quote_anywhere_resynchronises(tmp_path: Path, where: int) -> None:
    rows = csv_rows(2000)
    rows[where] = rows[where].replace(f"消息{where}\n", f'"消息{where}\n')
    path = tmp_path / "q.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    _, stats, rejects = collect([path])
    assert totals(stats) == (2000, 1999, 0, 1)
    assert [r.line for r in rejects] == [where + 2]


def test_unclosed_quote_on_the_last_line_swallows_nothing(tmp_path: Path) -> None:
    """The one place the format allows no better: an open quote on the last line ends at the end
    of the file having swallowed nothing, so that row is read (its text without the quote)."""
    rows = csv_rows(20)
    rows[-1] = rows[-1].replace("消息19\n", '"消息19\n')
    path = tmp_path / "q.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    convs, stats, rejects = collect([path])
    assert rejects == [] and totals(stats) == (20, 20, 0, 0)
    assert "消息19" in {m.text for c in convs for m in c.messages}


def test_quote_swallowing_junk_lines_rejects_each_line(tmp_path: Path) -> None:
    """A quote opened and never closed before 150 junk lines: the quote's line and every junk line
    are rejected one by one (none of them is a row), the rows after them are read."""
    junk = [f"备注第{i}行，没有列\n" for i in range(150)]
    rows = [*csv_rows(3), 'C9,拼多多,店,kf,买家,2024-05-01 11:00:00,"开了引号\n', *junk, *csv_rows(3, start=10)]
    path = tmp_path / "j.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    convs, stats, rejects = collect([path])
    assert sum(len(c.messages) for c in convs) == 6
    assert rejects[0].line == 5 and rejects[0].reason.startswith("引号未闭合")
    assert len(rejects) == 151 and totals(stats) == (157, 6, 0, 151)


def test_real_multiline_messages_are_kept(tmp_path: Path) -> None:
    text = "第一行\n第二行，有逗号,和\"引号\"\n第三行"
    path = write_csv(tmp_path / "m.csv", ZH_HEADER, [
        zh_row("C1", "买家", "2024-05-01 10:00:00", text),
        zh_row("C1", "客服", "2024-05-01 10:00:05", "好的"),
    ])
    convs, _, rejects = collect([path])
    assert rejects == [] and convs[0].messages[0].text == text


def test_utf8_rows_inside_a_gbk_csv_are_rejected_as_mixed_encoding(tmp_path: Path) -> None:
    header = HEADER.encode("gbk")
    gbk = [r.replace("消息", "亲，这款有货的哦") for r in csv_rows(6)]
    body = b"".join(line.encode("gbk") for line in gbk[:3])
    utf8_line = "C9,pdd,s1,kf,buyer,2024-05-01 10:00:30,加我微信\n".encode()
    assert utf8_line.decode("gb18030")  # decodes as GB18030 too: mojibake, not an error
    body += utf8_line + b"".join(line.encode("gbk") for line in gbk[3:])
    path = tmp_path / "mixed.csv"
    path.write_bytes(header + body)
    convs, stats, rejects = collect([path])
    assert stats.files[str(path)].encoding == "gb18030"
    assert totals(stats) == (7, 6, 0, 1)
    [reject] = rejects
    assert reject.line == 5 and reject.reason.startswith("编码混杂")
    texts = [m.text for c in convs for m in c.messages]
    assert all("亲，这款有货的哦" in t for t in texts)
    assert not any("鍔" in t for t in texts)


def test_encodings_are_decided_per_file(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_bytes((HEADER + "".join(csv_rows(3))).encode("gbk"))
    b = tmp_path / "b.csv"
    b.write_bytes((HEADER + "".join(csv_rows(3, start=100))).encode("utf-8"))
    _, stats, rejects = collect([a, b])
    assert rejects == []
    assert (stats.files[str(a)].encoding, stats.files[str(b)].encoding) == ("gb18030", "utf-8")


def test_compact_and_ambiguous_timestamps(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", ZH_HEADER, [
        zh_row("C1", "买家", "20240616100000", "紧凑时间"),
        zh_row("C1", "客服", "202406161001", "到分钟"),
        zh_row("C1", "客服", "20241399999999", "不存在的日期"),
        zh_row("C1", "客服", "99999999999999999", "时间戳太大"),
    ])
    convs, stats, rejects = collect([path])
    assert [m.sent_at for m in convs[0].messages] == [
        dt.datetime(2024, 6, 16, 10, 0, tzinfo=SHANGHAI), dt.datetime(2024, 6, 16, 10, 1, tzinfo=SHANGHAI),
    ]
    assert [(r.line, r.reason.split(" ")[0]) for r in rejects] == [
        (4, "发送时间无法解析（既不是"), (5, "发送时间无法解析（既不是"),
    ]
    assert totals(stats) == (4, 2, 0, 2)


def test_xlsx_formula_without_cached_value_is_rejected_with_that_reason(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "f.xlsx", {"s": [
        ["会话ID", "角色", "发送时间", "消息内容", "备注"],
        ["C1", "买家", "2024-05-01 10:00:00", "在吗", None],
        ["C1", "客服", "2024-05-01 10:00:05", '=CONCATENATE("在","的")', None],
        ["C1", "客服", "2024-05-01 10:00:09", "好的", "=1+1"],  # a formula in an unmapped column: ignored
    ]})
    convs, stats, rejects = collect([path], platform="jd", shop="s")
    assert [m.text for m in convs[0].messages] == ["在吗", "好的"]
    [reject] = rejects
    assert reject.line == 3 and reject.reason.startswith("公式没有缓存值(消息内容(text): =CONCATENATE")
    assert totals(stats) == (3, 2, 0, 1)


def test_rejects_csv_survives_lone_surrogates_and_masks_pii(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"conversation_id": "J1", "role": "buyer", "sent_at": "2024-05-01 10:00:00", "text": "\\ud800 13812345678"}\n'
        '{"conversation_id": "J1", "role": "buyer", "sent_at": "", "text": "电话13912345678"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "rejects.csv"
    convs, stats = import_logs([path], platform="jd", shop="s", rejects=out)
    assert list(convs) == [] and stats.rejected == 2
    text = out.read_text(encoding="utf-8-sig")
    assert "13912345678" not in text and "139****5678" in text
    raw_out = tmp_path / "raw.csv"
    convs, _ = import_logs([path], platform="jd", shop="s", rejects=raw_out, mask_rejects=False)
    list(convs)
    assert "13912345678" in raw_out.read_text(encoding="utf-8-sig")


def test_truncated_file_mid_stream_keeps_rows_read_so_far(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader failing part-way (here: simulated I/O error) ends that file with one reject; the
    other files are still read and the counts still add up."""
    import kefuguard.io.importers as importers

    a = good_csv(tmp_path / "a.csv", 5)
    b = tmp_path / "b.csv"
    b.write_text(HEADER + "".join(csv_rows(5, start=50)), encoding="utf-8")
    real = importers._csv_rows

    def failing(fh, f, *args, **kwargs):
        rows = real(fh, f, *args, **kwargs)
        if f.where == str(a):
            yield next(rows)
            raise OSError(5, "Input/output error")
        yield from rows

    monkeypatch.setattr(importers, "_csv_rows", failing)
    convs, stats, rejects = collect([a, b])
    assert sum(len(c.messages) for c in convs) == 6
    assert [r.file for r in rejects] == [str(a)] and "无法继续" in rejects[0].reason
    assert_balanced(stats, convs, rejects)


def test_header_preview_never_dumps_a_whole_line(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text("x" * 3000 + "\n" + "y,z\n", encoding="utf-8")
    with pytest.raises(ColumnError) as info:
        import_logs([path])
    assert len(info.value.zh) < 400 and "x" * 100 not in str(info.value)


def test_csv_reader_helpers_stay_consistent(tmp_path: Path) -> None:
    """The CSV module's own view of a file agrees with the importer on a clean file (line numbers)."""
    path = good_csv(tmp_path / "c.csv", 50)
    with path.open(encoding="utf-8", newline="") as fh:
        assert sum(1 for _ in csv.reader(fh)) == 51
    convs, _stats, _ = collect([path])
    assert convs[0].messages[0].source == f"{path}:2"


def test_output_folder_and_excel_lock_files_are_skipped(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "reports").mkdir(parents=True)
    good_csv(logs / "a.csv", 3)
    good_csv(logs / "reports" / "findings.csv", 3)  # an earlier run's output inside the input folder
    (logs / "~$a.xlsx").write_bytes(b"\x00lock")
    rejects: list = []
    convs, stats = import_logs([logs], rejects=rejects.append, exclude=[logs / "reports"])
    assert sum(len(c.messages) for c in convs) == 3 and rejects == []
    skipped = sorted(Path(p).name for p, f in stats.files.items() if f.status == "skipped")
    assert skipped == ["findings.csv", "~$a.xlsx"]
