"""The rules quiz: the seed's 15-question Douyin exam with the seed's answers, generated questions, grading, CLI."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefuguard.checker import get_checker
from kefuguard.cli import app
from kefuguard.quiz import build_quiz, exam_questions, generated_questions, grade, parse_answer, read_answers
from kefuguard.rules.model import PLATFORMS

from ..conftest import SEEDS_DIR

ROOT = Path(__file__).resolve().parents[2]
KEFUGUARD = Path(sys.executable).with_name("kefuguard")


def _seed_answers() -> dict[int, set[str]]:
    """The seed's own answers, parsed from the text: options marked (正确答案), per question."""
    text = re.sub(r"\s+", "", (SEEDS_DIR / "000_a94d100fb8c9e0c3.txt").read_text(encoding="utf-8"))
    exam = text[text.index("1、(抖音)普通商品") :]
    exam = exam[: exam.index("2023-11-27")]
    out: dict[int, set[str]] = {}
    number = r"(?:1[0-5]|[1-9])"  # 1-15: "…23:59:5911、(抖音)" is option D then question 11
    for m in re.finditer(rf"({number})、\(抖音\)(.*?)(?={number}、\(抖音\)|$)", exam):
        options = re.findall(r"([A-D])、(.*?)(?=[A-D]、|$)", m.group(2))
        out[int(m.group(1))] = {letter for letter, body in options if "(正确答案)" in body}
    return out


@pytest.mark.skipif(not SEEDS_DIR.is_dir(), reason="../shared/seeds not present")
def test_exam_has_all_15_questions_with_the_seeds_answers() -> None:
    seed = _seed_answers()
    exam = exam_questions("douyin")
    assert sorted(seed) == list(range(1, 16)) and len(exam) == 15
    for q in exam:
        n = int(q.id.split("-")[1])
        assert set(q.answer) == seed[n], (q.id, q.answer, seed[n])
        assert q.source.startswith("000_a94d100fb8c9e0c3.txt")
    assert exam[7].multi and exam[7].answer_text() == "ABCD"  # Q8: every option is 骚扰
    assert exam[3].true_false and exam[13].letters == "ABC"
    assert exam_questions("pinduoduo") == []  # only Douyin's exam is in the seeds


@pytest.mark.parametrize("platform", PLATFORMS)
def test_generated_questions_agree_with_the_checker(platform: str) -> None:
    checker = get_checker(platform)
    questions = generated_questions(platform, 6, seed=3, checker=checker)
    assert len(questions) == 6 and {q.kind for q in questions} == {"violation", "penalty", "category"}
    assert questions == generated_questions(platform, 6, seed=3, checker=checker)  # deterministic per seed
    for q in questions:
        assert len(q.answer) == 1 and len(q.options) == 4 and len({t for _, t in q.options}) == 4
        if q.kind == "violation":
            for letter, text in q.options:
                assert checker.check(text).ok != (letter in q.answer), (q.id, text)


def test_grading_and_answer_parsing() -> None:
    quiz = build_quiz("douyin", generated=3, seed=1)
    assert len(quiz.questions) == 18
    perfect = grade(quiz, [q.answer_text() for q in quiz.questions], agent="小王")
    assert (perfect.score, perfect.total, perfect.percent, perfect.agent) == (18, 18, 100.0, "小王")
    q4, q8 = quiz.question("exam-4"), quiz.question("exam-8")
    assert parse_answer("对", q4) == {"A"} and parse_answer("错", q4) == {"B"}
    assert parse_answer("a, b,c d", q8) == {"A", "B", "C", "D"} and parse_answer(" ", q8) is None
    with pytest.raises(ValueError):
        parse_answer("E", q4)
    partial = grade(quiz, {"1": "C", "Q2": "c", "exam-8": "ABC", "第4题": "对", "exam-5": "Z"})
    by_id = {g.question.id: g for g in partial.items}
    assert by_id["exam-1"].correct and by_id["exam-2"].correct and by_id["exam-4"].correct
    assert not by_id["exam-8"].correct  # multiple choice: all four or nothing
    assert by_id["exam-5"].given is None and partial.score == 3
    assert partial.to_dict()["by_kind"]["exam"] == {"correct": 3, "total": 15}


def test_answers_files() -> None:
    assert read_answers('{"exam-1": "C", "exam-8": ["A", "B"]}') == {"exam-1": "C", "exam-8": "AB"}
    assert read_answers('["C", "C"]') == ["C", "C"]
    assert read_answers("# 小王\n1: C\nexam-2：C\n8 ABCD\n") == {"1": "C", "exam-2": "C", "8": "ABCD"}
    assert read_answers("C\nc\nA, B\n") == ["C", "c", "A, B"]
    with pytest.raises(ValueError):
        read_answers("1: C\nD\n")


def test_cli_answers_file_scores_without_a_terminal(tmp_path) -> None:
    quiz = build_quiz("douyin", generated=2, seed=5)
    path = tmp_path / "answers.txt"
    path.write_text("\n".join(q.answer_text() for q in quiz.questions), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["quiz", "-p", "douyin", "-g", "2", "--seed", "5", "--answers-file", str(path),
                                 "--agent", "a1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["score"], data["total"], data["agent"]) == (17, 17, "a1")
    text = runner.invoke(app, ["quiz", "-p", "douyin", "-g", "0", "--answers-file", "-"], input="1: C\n2: A\n")
    assert text.exit_code == 0 and "成绩: 1/15" in text.stdout
    no_tty = runner.invoke(app, ["quiz", "-p", "douyin"], input="")
    assert no_tty.exit_code == 2 and "--answers-file" in no_tty.output
    exported = json.loads(runner.invoke(app, ["quiz", "-p", "jd", "-g", "3", "--export"]).stdout)
    assert len(exported["questions"]) == 3 and "answer" not in exported["questions"][0]


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="no pseudo-terminals on this system")
def test_interactive_quiz_under_a_pseudo_terminal() -> None:
    import pty

    quiz = build_quiz("douyin", generated=2, seed=0)
    answers = [q.answer_text() for q in quiz.questions]
    answers[0] = "b"  # one wrong
    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS="120", TERM="xterm", NO_COLOR="1")
    proc = subprocess.Popen([str(KEFUGUARD), "quiz", "-p", "douyin", "-g", "2", "--agent", "小王"],
                            stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True, cwd=ROOT)
    os.close(slave)
    seen = b""

    def until(token: str, timeout: float = 60.0) -> str:
        nonlocal seen
        end = time.monotonic() + timeout
        want = token.encode()
        while want not in seen:
            if time.monotonic() > end:
                raise AssertionError(f"no {token!r} in: {seen.decode(errors='replace')[-400:]}")
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
        i = seen.index(want) + len(want)
        out, seen = seen[:i], seen[i:]
        return out.decode(errors="replace")

    try:
        first = until("你的答案: ")
        assert "第 1/17 题" in first and "普通商品的发货时效" in first
        os.write(master, b"Z\n")  # not an option: asked again
        assert "无效答案" in until("你的答案: ")
        os.write(master, (answers[0] + "\n").encode())
        for a in answers[1:]:
            until("你的答案: ")
            os.write(master, (a + "\n").encode())
        tail = until("错题解析")
        assert "成绩（小王）: 16/17" in tail
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
