"""The rules quiz for training agents: the Douyin rules exam of 000_… plus questions generated from the packs.

Pure library functions (no I/O beyond reading packaged data): the CLI (`kefuguard quiz`) and the
HTTP API build a quiz, show its questions, and grade the answers.

- The exam: all 15 questions of 000_…'s “抖音客服规则考试试题及答案”, with the seed's answers
  (`rules/data/quiz_douyin_exam.yaml`; a test checks every answer against the seed text).
- Generated, per platform, from the rule packs and checked with the platform's checker, so a
  question never contradicts the engine: *which of these messages breaks a rule here?* (one rule
  example the checker flags, three that it passes), *what does it cost?* (the rule's penalty on that
  platform among other rules' penalties) and *which kind of violation is it?* (the category).
  Deterministic for a given seed.

Answers are letters: "C", "ABCD" or "A,C" for multiple choice; 对/错 (or T/F, Y/N) for true/false.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from kefuguard.rules.model import CATEGORY_ZH, PLATFORM_NAMES_ZH, PLATFORMS

LETTERS = "ABCDEFGH"
EXAM_PLATFORMS = ("douyin",)
KINDS = ("exam", "violation", "penalty", "category")


@dataclass(frozen=True)
class Question:
    id: str  #: "exam-3", "gen-2" …: unique within a quiz
    kind: str  #: one of KINDS
    text: str
    options: tuple[tuple[str, str], ...]  #: (letter, option text)
    answer: frozenset[str]  #: the correct letters
    explanation: str = ""
    source: str = ""  #: seed file and quote, or the rule id
    true_false: bool = False

    @property
    def multi(self) -> bool:
        return len(self.answer) > 1

    @property
    def letters(self) -> str:
        return "".join(letter for letter, _ in self.options)

    def answer_text(self) -> str:
        return "".join(sorted(self.answer))

    def to_dict(self, *, with_answer: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "kind": self.kind, "text": self.text, "multi": self.multi, "true_false": self.true_false,
            "options": [{"letter": k, "text": v} for k, v in self.options],
        }
        if with_answer:
            out.update(answer=self.answer_text(), explanation=self.explanation, source=self.source)
        return out


@dataclass(frozen=True)
class Quiz:
    platform: str
    questions: tuple[Question, ...]
    seed: int = 0
    title: str = ""

    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)

    def to_dict(self, *, with_answers: bool = False) -> dict[str, Any]:
        return {"platform": self.platform, "title": self.title, "seed": self.seed,
                "questions": [q.to_dict(with_answer=with_answers) for q in self.questions]}


@dataclass(frozen=True)
class Graded:
    question: Question
    given: frozenset[str] | None  #: None: not answered
    correct: bool


@dataclass(frozen=True)
class QuizResult:
    platform: str
    agent: str
    items: tuple[Graded, ...] = field(default_factory=tuple)

    @property
    def score(self) -> int:
        return sum(1 for g in self.items if g.correct)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def percent(self) -> float:
        return round(100.0 * self.score / self.total, 1) if self.total else 0.0

    def by_kind(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for g in self.items:
            right, n = out.get(g.question.kind, (0, 0))
            out[g.question.kind] = (right + g.correct, n + 1)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform, "agent": self.agent, "score": self.score, "total": self.total,
            "percent": self.percent, "by_kind": {k: {"correct": c, "total": n} for k, (c, n) in self.by_kind().items()},
            "items": [
                {"id": g.question.id, "kind": g.question.kind, "given": "".join(sorted(g.given)) if g.given else None,
                 "answer": g.question.answer_text(), "correct": g.correct}
                for g in self.items
            ],
        }


# ---------------------------------------------------------------------------------------- the exam
@lru_cache(maxsize=1)
def _exam_data() -> dict[str, Any]:
    path = resources.files("kefuguard.rules") / "data" / "quiz_douyin_exam.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def exam_questions(platform: str = "douyin") -> list[Question]:
    """The platform's rules exam from the seeds ([] where the seeds have none: only Douyin has one)."""
    if platform not in EXAM_PLATFORMS:
        return []
    data = _exam_data()
    out = []
    for q in data["questions"]:
        options = tuple((str(k), str(v)) for k, v in q["options"].items())
        answer = frozenset(q["answer"])
        correct = "；".join(f"{k}、{v}" for k, v in options if k in answer)
        out.append(Question(
            id=f"exam-{q['id']}", kind="exam", text=q["question"], options=options, answer=answer,
            explanation=f"种子给出的正确答案：{correct}", source=f"{data['source_file']}「{q['quote']}」",
            true_false=[v for _, v in options] == ["对", "错"],
        ))
    return out


# ---------------------------------------------------------------------------------------- generated
def _shuffle_options(rng: random.Random, right: Sequence[str], wrong: Sequence[str]) -> tuple[tuple, frozenset]:
    items = [(t, True) for t in right] + [(t, False) for t in wrong]
    rng.shuffle(items)
    options = tuple((LETTERS[i], t) for i, (t, _) in enumerate(items))
    return options, frozenset(LETTERS[i] for i, (_, ok) in enumerate(items) if ok)


def generated_questions(platform: str, n: int = 6, *, seed: int = 0, checker: Any = None) -> list[Question]:
    """`n` questions from the platform's rule packs, kinds in turn (violation, penalty, category).

    Every message shown as breaking a rule is one the platform's checker flags for that rule, and
    every message shown as compliant is one it passes, so the quiz teaches what the engine enforces."""
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}; choose one of {', '.join(PLATFORMS)}")
    if n <= 0:
        return []
    if checker is None:
        from kefuguard.checker import get_checker

        checker = get_checker(platform)
    rng = random.Random(f"{platform}:{seed}")
    rules = [r for r in checker.rules if r.rule.examples.hit]
    rng.shuffle(rules)
    clean_pool = sorted({m for r in checker.rules for m in r.rule.examples.miss})
    rng.shuffle(clean_pool)
    clean_ok: list[str] = []
    for text in clean_pool:
        if checker.check(text).ok:
            clean_ok.append(text)
        if len(clean_ok) >= 3 * n + 6:
            break
    penalties = sorted({(r.penalty.text, r.rule.category.value) for r in checker.rules})
    name = PLATFORM_NAMES_ZH[platform]
    out: list[Question] = []
    kinds = ("violation", "penalty", "category")
    for rule in rules:
        if len(out) >= n:
            break
        kind = kinds[len(out) % len(kinds)]
        hits = [h for h in rule.rule.examples.hit if rule.id in {f.rule_id for f in checker.check(h).findings}]
        if not hits:
            continue
        hit = rng.choice(hits)
        qid = f"gen-{len(out) + 1}"
        why = f"“{hit}”触犯 {rule.id}（{rule.title}）；处罚：{rule.penalty.text}；建议说法：{rule.suggestion}"
        if kind == "violation":
            if len(clean_ok) < 3:
                continue
            wrong = [clean_ok.pop() for _ in range(3)]
            options, answer = _shuffle_options(rng, [hit], wrong)
            text = f"在{name}，下面哪一条客服消息违反平台或店铺规则？"
        elif kind == "penalty":
            # distractors from other categories only: two privacy penalties could both be right
            others = sorted({p for p, c in penalties if c != rule.rule.category.value and p != rule.penalty.text})
            if len(others) < 3:
                continue
            options, answer = _shuffle_options(rng, [rule.penalty.text], rng.sample(others, 3))
            text = f"在{name}，客服发送“{hit}”，违反“{rule.title}”，会受到什么处罚？"
        else:
            category = rule.rule.category.value
            others = [c for c in CATEGORY_ZH if c != category]
            options, answer = _shuffle_options(
                rng, [CATEGORY_ZH[category]], [CATEGORY_ZH[c] for c in rng.sample(others, 3)]
            )
            text = f"在{name}，客服发送“{hit}”，属于哪一类违规？"
        out.append(Question(id=qid, kind=kind, text=text, options=options, answer=answer, explanation=why,
                            source=f"{rule.id}（{rule.source.file}）"))
    return out


def build_quiz(platform: str, *, exam: bool = True, generated: int = 6, seed: int = 0, checker: Any = None) -> Quiz:
    """The quiz for a platform: its seed exam (Douyin) first, then `generated` questions from the packs."""
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}; choose one of {', '.join(PLATFORMS)}")
    questions = (exam_questions(platform) if exam else []) + generated_questions(
        platform, generated, seed=seed, checker=checker
    )
    title = _exam_data()["title"] if exam and platform in EXAM_PLATFORMS else f"{PLATFORM_NAMES_ZH[platform]}规则测验"
    return Quiz(platform=platform, questions=tuple(questions), seed=seed, title=title)


# ---------------------------------------------------------------------------------------- answers
_TRUE = {"对", "是", "正确", "T", "TRUE", "Y", "YES", "√", "✓"}
_FALSE = {"错", "否", "错误", "F", "FALSE", "N", "NO", "×", "✗"}


def parse_answer(text: str | Iterable[str] | None, question: Question | None = None) -> frozenset[str] | None:
    """Letters from what an agent typed: "c", "A C", "A,C", "AC"; 对/错 for a true/false question.

    None for an empty answer. Raises ValueError for a letter the question does not have."""
    if text is None:
        return None
    raw = text if isinstance(text, str) else "".join(text)
    raw = raw.strip()
    if not raw:
        return None
    word = raw.upper()
    if question is not None and question.true_false and (word in _TRUE or word in _FALSE):
        return frozenset("A" if word in _TRUE else "B")
    letters = frozenset(re.sub(r"[\s,，、;；/]+", "", word))
    allowed = question.letters if question is not None else LETTERS
    bad = sorted(letters - set(allowed))
    if bad or not letters:
        raise ValueError(f"无效答案 {raw!r}：请输入选项字母 {'/'.join(allowed)}")
    return letters


def grade(quiz: Quiz, answers: Mapping[str, Any] | Sequence[Any], agent: str = "") -> QuizResult:
    """Score the answers: a mapping question id → answer (also "3" for "exam-3"), or a list in quiz order.

    A question is right when exactly the correct letters were given (multiple choice: all of them)."""
    by_id: dict[str, Any] = {}
    if isinstance(answers, Mapping):
        for key, value in answers.items():
            k = str(key).strip()
            by_id[k if any(q.id == k for q in quiz.questions) else _alias(quiz, k)] = value
    else:
        by_id = {q.id: a for q, a in zip(quiz.questions, answers, strict=False)}
    items = []
    for q in quiz.questions:
        try:
            given = parse_answer(by_id.get(q.id), q)
        except ValueError:
            given = None
        items.append(Graded(q, given, given == q.answer))
    return QuizResult(platform=quiz.platform, agent=agent, items=tuple(items))


def _alias(quiz: Quiz, key: str) -> str:
    """"3", "Q3", "exam3", "第3题" → "exam-3" when the quiz has it; "g2" → "gen-2"."""
    m = re.fullmatch(r"(?:Q|q|第|exam-?|EXAM-?)?(\d+)题?", key)
    if m and any(q.id == f"exam-{m.group(1)}" for q in quiz.questions):
        return f"exam-{m.group(1)}"
    m = re.fullmatch(r"(?:g|G|gen-?)(\d+)", key)
    if m:
        return f"gen-{m.group(1)}"
    return key


def read_answers(text: str) -> dict[str, str] | list[str]:
    """An answers file: JSON ({"exam-1": "C", …} or ["C", …]), or lines "exam-1: C" / "1 C" / "C" (in order).

    Blank lines and lines starting with # are ignored."""
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        data = json.loads(stripped)
        if isinstance(data, dict):
            return {str(k): "".join(v) if isinstance(v, list) else str(v) for k, v in data.items()}
        if isinstance(data, list):
            return ["".join(v) if isinstance(v, list) else str(v) for v in data]
        raise ValueError("answers JSON must be an object or a list")
    keyed: dict[str, str] = {}
    ordered: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([\w-]+)\s*[:：=.、)\s]\s*(.+)", line)
        if m and not re.fullmatch(r"[A-Ha-h,，\s]+", line):
            keyed[m.group(1)] = m.group(2).strip()
        else:
            ordered.append(line)
    if keyed and ordered:
        raise ValueError("answers file mixes 'id: answer' lines with bare answers")
    return keyed or ordered
