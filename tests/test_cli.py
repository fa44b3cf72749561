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
