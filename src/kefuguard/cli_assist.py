"""Command line for agent assist: `kefuguard scripts search`, `kefuguard quiz`, and `check --semantic`'s tone pass.

Kept out of cli.py's import path: the quiz, the script library and the sentence encoder are
imported inside the commands, so `kefuguard check` starts as fast as before.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from kefuguard.findings import CheckResult
    from kefuguard.quiz import Quiz, QuizResult

scripts_app = typer.Typer(help="话术库：按买家问题检索合规的标准话术（种子 004/002/000）。", no_args_is_help=True)

KIND_ZH = {"exam": "规则考试", "violation": "违规识别", "penalty": "处罚", "category": "违规类别"}
SCRIPT_KIND_ZH = {"script": "问答话术", "stage": "五段话术", "standard": "规范用语", "abusive_step": "辱骂处理五步法"}


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr)


def _fail(message: str, code: int = 2) -> typer.Exit:
    from rich.markup import escape

    _console(stderr=True).print(f"[bold red]错误:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _platform(value: str) -> str:
    from kefuguard.rules.loader import check_platform
    from kefuguard.rules.model import PLATFORMS

    try:
        return check_platform(value)
    except ValueError as exc:
        raise _fail(f"未知平台 {value!r}，可选: {', '.join(PLATFORMS)}") from exc


# ---------------------------------------------------------------------------------------- check --semantic
def add_tone(results: list[CheckResult]) -> list[CheckResult]:
    """`kefuguard check --semantic`: the tone findings added to the rule findings (one encoder batch)."""
    from kefuguard.semantic.embeddings import SemanticUnavailable

    try:
        from kefuguard.semantic.tone import with_tone

        return with_tone(results)
    except SemanticUnavailable as exc:
        raise _fail(str(exc)) from exc


# ---------------------------------------------------------------------------------------- scripts
@scripts_app.command("search")
def scripts_search(
    query: Annotated[str, typer.Argument(help="买家的问题，如 发票怎么开")],
    platform: Annotated[str | None, typer.Option("--platform", "-p", help="只返回该平台适用且不违规的话术")] = None,
    top: Annotated[int, typer.Option("--top", "-n", min=1, max=50, help="返回条数")] = 5,
    lexical: Annotated[bool, typer.Option("--lexical", help="不用语义模型，按字面相似度检索")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """按买家问题检索话术库，给出最匹配的合规话术（注明出处）。没有匹配时退出码为 1。"""
    from kefuguard.semantic.embeddings import SemanticUnavailable, available
    from kefuguard.semantic.scripts import search_scripts

    if not query.strip():
        raise _fail("输入为空")
    name = _platform(platform) if platform else None
    checker = None
    if name is not None:
        from kefuguard.cache import cached_checker

        checker = cached_checker(name)
    try:
        matches = search_scripts(query, name, top=top, semantic=False if lexical else None, checker=checker)
    except SemanticUnavailable as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        import json

        sys.stdout.write(json.dumps([m.to_dict() for m in matches], ensure_ascii=False) + "\n")
        raise typer.Exit(0 if matches else 1)
    console = _console()
    method = "语义检索" if (available() and not lexical) else "字面检索（未安装 kefuguard[semantic]）" if not lexical else "字面检索"
    if not matches:
        console.print(f"没有找到匹配“{query}”的话术（{method}）")
        raise typer.Exit(1)
    console.print(f"“{query}”的推荐话术（{method}）：", highlight=False)
    for n, m in enumerate(matches, 1):
        e = m.entry
        console.print(f"[bold]{n}. {e.title}[/]  [dim]{SCRIPT_KIND_ZH.get(e.kind, e.kind)} · 相似度 {m.score:.2f}[/]",
                      highlight=False)
        console.print(f"   {e.text}", highlight=False, soft_wrap=True)
        console.print(f"   [dim]出处: {e.source_file}「{e.source_quote[:60]}{'…' if len(e.source_quote) > 60 else ''}」[/]",
                      highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------------------------- quiz
def quiz(
    platform: Annotated[str, typer.Option("--platform", "-p", help="平台（抖音含种子中的 15 道规则考试题）")] = "douyin",
    generated: Annotated[int, typer.Option("--generated", "-g", min=0, max=60, help="从规则包生成的题目数")] = 6,
    seed: Annotated[int, typer.Option("--seed", help="出题随机种子（同一种子同一套题）")] = 0,
    no_exam: Annotated[bool, typer.Option("--no-exam", help="不含种子中的规则考试题，只出生成题")] = False,
    answers_file: Annotated[
        Path | None,
        typer.Option("--answers-file", "-a", help="答案文件（非交互）：每行“题号: 答案”或按顺序每行一个答案，或 JSON；- 为标准输入"),
    ] = None,
    agent: Annotated[str, typer.Option("--agent", help="答题客服（写入成绩）")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="成绩输出 JSON")] = False,
    export: Annotated[bool, typer.Option("--export", help="只输出题目（JSON，不含答案）后退出")] = False,
) -> None:
    """规则测验：交互式答题，结束时评分；--answers-file 用于非交互评分。"""
    import json

    from kefuguard.quiz import build_quiz, grade, read_answers

    name = _platform(platform)
    from kefuguard.cache import cached_checker

    quiz_ = build_quiz(name, exam=not no_exam, generated=generated, seed=seed, checker=cached_checker(name))
    if not quiz_.questions:
        raise _fail(f"{name} 没有可出的题目")
    if export:
        sys.stdout.write(json.dumps(quiz_.to_dict(with_answers=False), ensure_ascii=False) + "\n")
        return
    if answers_file is not None:
        try:
            text = sys.stdin.read() if str(answers_file) == "-" else answers_file.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise _fail(f"无法读取答案文件 {answers_file}: {exc}") from exc
        try:
            answers = read_answers(text)
        except ValueError as exc:
            raise _fail(f"答案文件无效 {answers_file}: {exc}") from exc
        result = grade(quiz_, answers, agent=agent)
    elif sys.stdin.isatty():
        result = _interactive(quiz_, agent)
    else:
        raise _fail("标准输入不是终端：交互答题请在终端中运行，非交互请用 --answers-file 提供答案")
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    else:
        _print_result(quiz_, result)


def _interactive(quiz_: Quiz, agent: str) -> QuizResult:
    from kefuguard.quiz import grade, parse_answer

    console = _console()
    n = len(quiz_.questions)
    console.print(f"[bold]{quiz_.title}[/]：共 {n} 题。输入选项字母回车（多选题如 ABD，判断题可输入 对/错），"
                  "输入 q 提前交卷。", highlight=False)
    answers: dict[str, str] = {}
    for i, q in enumerate(quiz_.questions, 1):
        console.print(f"\n[bold]第 {i}/{n} 题[/] [dim]{KIND_ZH.get(q.kind, q.kind)}{' · 多选' if q.multi else ''}[/]",
                      highlight=False)
        console.print(q.text, highlight=False, soft_wrap=True)
        for letter, text in q.options:
            console.print(f"  {letter}. {text}", highlight=False, soft_wrap=True)
        while True:
            try:
                raw = input("你的答案: ")
            except EOFError:
                console.print("\n输入结束，交卷。")
                return grade(quiz_, answers, agent=agent)
            if raw.strip().lower() in ("q", "quit", "exit"):
                return grade(quiz_, answers, agent=agent)
            try:
                given = parse_answer(raw, q)
            except ValueError as exc:
                console.print(f"[yellow]{exc}[/]", highlight=False)
                continue
            if given is None:
                console.print(f"[yellow]请输入选项字母 {'/'.join(q.letters)}[/]", highlight=False)
                continue
            answers[q.id] = "".join(sorted(given))
            break
    return grade(quiz_, answers, agent=agent)


def _print_result(quiz_: Quiz, result: QuizResult) -> None:
    from rich.table import Table

    console = _console()
    who = f"（{result.agent}）" if result.agent else ""
    console.print(f"\n[bold]成绩{who}: {result.score}/{result.total}（{result.percent:g}%）[/]", highlight=False)
    table = Table(header_style="bold")
    for col in ("题型", "答对", "题数"):
        table.add_column(col)
    for kind, (right, total) in result.by_kind().items():
        table.add_row(KIND_ZH.get(kind, kind), str(right), str(total))
    console.print(table)
    wrong = [g for g in result.items if not g.correct]
    if wrong:
        console.print("[bold]错题解析[/]")
        for g in wrong:
            given = "".join(sorted(g.given)) if g.given else "未作答"
            console.print(f"- {g.question.id} {g.question.text}", highlight=False, soft_wrap=True)
            console.print(f"  你的答案 {given}，正确答案 {g.question.answer_text()}。{g.question.explanation}",
                          highlight=False, soft_wrap=True)


def add_assist_commands(app: typer.Typer) -> None:
    """Register `scripts` and `quiz` on the main app (cli.py calls this; nothing heavy is imported here)."""
    app.add_typer(scripts_app, name="scripts")
    app.command("quiz")(quiz)
