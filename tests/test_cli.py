"""The command line: check, rewrite, rules list/show/test/export, and clear errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kefuguard.cli import app

runner = CliRunner()


def test_check_reports_findings_and_exit_code():
    result = runner.invoke(app, ["check", "亲，加我微信吧", "--platform", "pinduoduo"])
    assert result.exit_code == 1
    assert "common.diversion.wechat" in result.output


def test_check_clean_message_exits_zero():
    result = runner.invoke(app, ["check", "亲，今天下午就能发货哦", "-p", "jd"])
    assert result.exit_code == 0
    assert "未发现违规" in result.output


def test_check_json_lines_from_stdin():
    result = runner.invoke(app, ["check", "--json", "-p", "douyin"], input="加我微信\n你好\n")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    assert lines[0]["findings"] and not lines[1]["findings"]


def test_check_file_one_message_per_line(tmp_path):
    path = tmp_path / "msgs.txt"
    path.write_text("加我微信\n好的亲\n某宝更便宜\n", encoding="gb18030")
    result = runner.invoke(app, ["check", "--file", str(path), "-p", "pinduoduo"])
    assert result.exit_code == 1
    assert "共 3 条，2 条有违规" in result.output


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["check", "你好", "-p", "amazon"], None, "未知平台"),
        (["check", "-p", "jd"], "   \n", "输入为空"),
        (["check", "-p", "jd"], "\x00\x01\x02", "二进制"),
        (["check", "--file", "/nonexistent/x.txt"], None, "文件不存在"),
        (["rules", "show", "no.such.rule"], None, "没有规则"),
    ],
)
def test_errors_are_one_clear_line(args, stdin, message):
    result = runner.invoke(app, args, input=stdin)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_rewrite_prints_compliant_text():
    result = runner.invoke(app, ["rewrite", "这个宝贝很好", "-p", "pinduoduo", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["text"] == "这个商品很好"


def test_rewrite_mask_char_option():
    result = runner.invoke(app, ["rewrite", "电话13812345678", "-p", "jd", "--json", "--mask-char", "×"])
    assert result.exit_code == 0
    out = json.loads(result.stdout)["text"]
    assert "×" in out and "*" not in out and "13812345678" not in out
    bad = runner.invoke(app, ["rewrite", "电话13812345678", "-p", "jd", "--mask-char", "ab"])
    assert bad.exit_code == 2
    assert "--mask-char" in bad.output


def test_rules_list_for_platform_shows_platform_penalty():
    result = runner.invoke(app, ["rules", "list", "--platform", "pinduoduo"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    assert "pdd.wording.baobei" in result.output
    assert "10万" in result.output


def test_rules_show_and_test():
    shown = runner.invoke(app, ["rules", "show", "common.diversion.qq"])
    assert shown.exit_code == 0 and "出处" in shown.output
    tested = runner.invoke(app, ["rules", "test", "--platform", "jd"])
    assert tested.exit_code == 0
    assert " 0 failed" in tested.output


def test_rules_export_matches_checked_in_docs(tmp_path):
    out = tmp_path / "rules.md"
    assert runner.invoke(app, ["rules", "export", "--format", "md", "--output", str(out)]).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert "common.diversion.wechat" in text and "| 规则 |" in text
    stale = tmp_path / "stale.md"
    stale.write_text("old", encoding="utf-8")
    result = runner.invoke(app, ["rules", "export", "--check", str(stale)])
    assert result.exit_code == 1 and "不一致" in result.output


SHOP_YAML = """\
shop_id: zmyc
platform: pinduoduo
name: 最美衣橱
mask_char: "●"
banned_words:
  - text: 竞品店
    tags: [竞品]
allowed_phrases: [宝贝屋]
severity_overrides:
  pdd.wording.baobei: info
"""


def test_check_with_shop_settings(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text(SHOP_YAML, encoding="utf-8")
    result = runner.invoke(app, ["check", "别去竞 品 店，来宝贝屋，这个宝贝好", "--shop-settings", str(path), "--json"])
    assert result.exit_code == 1
    findings = json.loads(result.stdout)["findings"]
    assert [(f["rule_id"], f["matched"], f["tags"], f["severity"]) for f in findings] == [
        ("shop.zmyc.word", "竞 品 店", ["竞品"], "major"),
        ("pdd.wording.baobei", "宝贝", [], "info"),
    ]
    shown = runner.invoke(app, ["check", "别去竞品店", "--shop-settings", str(path)], env={"COLUMNS": "200"})
    assert "shop.zmyc.word" in shown.output and "#竞品" in shown.output


def test_rewrite_with_shop_settings_masks_shop_words(tmp_path):
    path = tmp_path / "shop.json"
    path.write_text(json.dumps({"shop_id": "a1", "platform": "jd", "mask_char": "×",
                                "banned_words": [{"text": "竞品店"}]}), encoding="utf-8")
    result = runner.invoke(app, ["rewrite", "别去竞品店", "--shop-settings", str(path), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["text"] == "别去×××"


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ("shop_id: a\nplatform: jd\nbanned_words: [{text: '.*', regex: true}]\n", [], "banned_words[0]"),
        ("shop_id: a\nplatform: jd\nbanned_words: [{text: '(', regex: true}]\n", [], "正则无法编译"),
        ("shop_id: a\nplatform: jd\ndisabled_rules: [no.such]\n", [], "没有规则"),
        ("shop_id: a\nplatform: jd\nmask_char: ab\n", [], "mask_char"),
        ("shop_id: a\nplatform: mars\n", [], "未知平台"),
        ("shop_id: a\nplatform: jd\n", ["-p", "douyin"], "不一致"),
        ("shop_id: [\n", [], "店铺设置无效"),
    ],
)
def test_bad_shop_settings_are_one_clear_line(tmp_path, content, extra, message):
    path = tmp_path / "shop.yaml"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["check", "你好", "--shop-settings", str(path), *extra])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    missing = runner.invoke(app, ["rewrite", "你好", "--shop-settings", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "店铺设置文件不存在" in missing.output


# --- audit: bad inputs, output folder, languages, masking switch (issue 9) --------------------

AUDIT_CSV = (
    "会话ID,平台,店铺,客服账号,角色,发送时间,消息内容\n"
    "C1,拼多多,店,kf,买家,2024-05-01 10:00:00,在吗\n"
    "C1,拼多多,店,kf,客服,2024-05-01 10:00:20,在的亲\n"
)


def _audit(tmp_path, *args):
    return runner.invoke(app, ["audit", *map(str, args), "--workers", "1"])


def test_audit_out_pointing_at_a_file_is_a_clear_error(tmp_path):
    log = tmp_path / "a.csv"
    log.write_text(AUDIT_CSV, encoding="utf-8")
    target = tmp_path / "report.txt"
    target.write_text("keep me", encoding="utf-8")
    zh = _audit(tmp_path, log, "--out", target)
    assert zh.exit_code == 2 and "--out 指向已存在的文件" in zh.output and "Traceback" not in zh.output
    en = _audit(tmp_path, log, "--out", target, "--lang", "en")
    assert en.exit_code == 2 and "error: --out points at an existing file" in en.output
    assert target.read_text(encoding="utf-8") == "keep me"


def test_audit_messages_are_in_one_language(tmp_path):
    zh = _audit(tmp_path, tmp_path / "nope.csv", "--out", tmp_path / "o")
    assert zh.exit_code == 2 and "错误: 找不到文件或目录" in zh.output and "not found" not in zh.output
    en = _audit(tmp_path, tmp_path / "nope.csv", "--out", tmp_path / "o", "--lang", "en")
    assert en.exit_code == 2 and "error: file or folder not found" in en.output and "找不到" not in en.output
    bad = _audit(tmp_path, tmp_path / "nope.csv", "--lang", "fr")
    assert bad.exit_code == 2 and "--lang" in bad.output


@pytest.mark.parametrize("name", ["empty.csv", "empty.jsonl"])
def test_audit_empty_csv_and_jsonl_both_exit_0_with_a_warning(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    result = _audit(tmp_path, path, "--out", tmp_path / "o", "--platform", "jd", "--shop", "s")
    assert result.exit_code == 0, result.output
    assert "警告: 空文件" in result.output and "没有可审计的消息" in result.output
    assert (tmp_path / "o" / "report.json").is_file()


def test_audit_header_error_shows_a_short_escaped_preview(tmp_path):
    path = tmp_path / "blob.csv"
    path.write_bytes(bytes(range(14, 256)) * 40)
    result = _audit(tmp_path, path, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "找不到表头" in result.output and len(result.output) < 800


def test_audit_folder_with_broken_and_unsupported_files(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.csv").write_text(AUDIT_CSV, encoding="utf-8")
    (logs / "b.xlsx").write_bytes(b"PK\x03\x04 truncated")
    (logs / "notes.md").write_text("# notes\n", encoding="utf-8")
    result = _audit(tmp_path, logs, "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    assert "无法读取" in result.output and "b.xlsx" in result.output
    assert "已跳过" in result.output and "notes.md" in result.output
    data = json.loads((tmp_path / "o" / "report.json").read_text(encoding="utf-8"))
    imports = data["imports"]
    assert (imports["read"], imports["accepted"], imports["rejected"]) == (3, 2, 1)
    status = {f["path"].rsplit("/", 1)[-1]: f["status"] for f in imports["files"]}
    assert status == {"a.csv": "ok", "b.xlsx": "unreadable", "notes.md": "skipped"}
    rejects = (tmp_path / "o" / "rejects.csv").read_text(encoding="utf-8-sig")
    assert "b.xlsx,,0," in rejects


@pytest.mark.parametrize(("lang", "reason"), [("zh", "发送时间为空"), ("en", "missing sent_at")])
def test_audit_rejects_reasons_in_the_chosen_language(tmp_path, lang, reason):
    log = tmp_path / "a.csv"
    log.write_text(AUDIT_CSV + "C1,拼多多,店,kf,客服,,没有时间\n", encoding="utf-8")
    result = _audit(tmp_path, log, "--out", tmp_path / "o", "--lang", lang)
    assert result.exit_code == 0, result.output
    import csv as _csv

    with open(tmp_path / "o" / "rejects.csv", encoding="utf-8-sig", newline="") as fh:
        [row] = list(_csv.reader(fh))[1:]
    assert row[2] == "4" and row[3] == reason


def test_audit_config_switches_a_conversation_check_off(tmp_path):
    import csv

    from kefuguard.sample import sample_dir

    def check_ids(out, *extra):
        result = runner.invoke(app, ["audit", str(sample_dir()), "--out", str(out), "--formats", "json", *extra])
        assert result.exit_code == 0, result.output
        with (out / "findings.csv").open(encoding="utf-8-sig") as fh:
            return [row["规则"] for row in csv.DictReader(fh)]

    before = check_ids(tmp_path / "a")
    assert "audit.reply_time" in before
    config = tmp_path / "audit.yaml"
    config.write_text("checks:\n  audit.reply_time: {enabled: false}\n", encoding="utf-8")
    after = check_ids(tmp_path / "b", "--audit-config", str(config))
    assert "audit.reply_time" not in after
    assert len(after) == len(before) - before.count("audit.reply_time")
    config.write_text("checks:\n  audit.no_such_check: {enabled: false}\n", encoding="utf-8")
    bad = runner.invoke(app, ["audit", str(sample_dir()), "--out", str(tmp_path / "c"), "--audit-config", str(config)])
    assert bad.exit_code == 2
    assert "审计配置无效" in bad.output
