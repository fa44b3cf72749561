"""The rules quiz over HTTP: hand a quiz out, grade what was handed out, keep the result per tenant and agent.

A quiz is deterministic in (platform, exam, generated, seed) (`kefuguard.quiz.build_quiz`), so the
server stores those parameters, not the questions, in a `quiz_results` row when it hands a quiz out
(status "open"), and rebuilds the same quiz to grade the answers. The row's id is the quiz id the
client sends back; a quiz is graded once (the row moves to "graded" in one conditional UPDATE, so
two submissions racing each other cannot both count), and only by whoever fetched it: the agent (any
key of theirs), or — for a supervisor's or admin's practice quiz, which belongs to no agent — the
same key. Another tenant's quiz, or someone else's, is "not found".

Every query is scoped by the caller's tenant; agents read their own results only.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select, update

from kefuguard.server.errors import ApiError, invalid
from kefuguard.server.security import Principal
from kefuguard.server.store import _count, _day_bounds, iso
from kefuguard.storage.db import Database
from kefuguard.storage.errors import NotFoundError
from kefuguard.storage.models import Agent, QuizResult, Shop

MAX_GENERATED = 30  #: generated questions in one quiz
MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class ResultFilter:
    agent_id: int | None = None
    shop_id: int | None = None
    platform: str | None = None
    day_from: dt.date | None = None
    day_to: dt.date | None = None
    practice: bool | None = None  #: True: supervisors' practice runs only; False: agents' only


def build(platform: str, *, exam: bool, generated: int, seed: int, checker: Any = None) -> Any:
    from kefuguard.quiz import build_quiz

    return build_quiz(platform, exam=exam, generated=generated, seed=seed, checker=checker)


def hand_out(db: Database, who: Principal, platform: str, *, exam: bool, generated: int, seed: int | None,
             checker: Any = None) -> dict[str, Any]:
    """Build a quiz, record it as open, and return its questions without the answers."""
    if seed is None:
        seed = secrets.randbelow(MAX_SEED)
    quiz = build(platform, exam=exam, generated=generated, seed=seed, checker=checker)
    if not quiz.questions:
        raise invalid("generated", "这份测验没有题目：只有抖音有种子考试题，其他平台请设置 generated ≥ 1",
                      "this quiz has no questions: only Douyin has the seed's exam; ask for generated ≥ 1")
    with db.session(immediate=True) as s:
        row = QuizResult(tenant_id=who.tenant_id, agent_id=who.agent_id if who.role == "agent" else None,
                         key_id=who.key_id, taken_by=who.who[:200], platform=platform, title=quiz.title[:200],
                         exam=exam, generated=generated, seed=seed, status="open", total=len(quiz.questions),
                         detail={})
        s.add(row)
        s.flush()
        quiz_id, created = row.id, row.created_at
    data = quiz.to_dict(with_answers=False)
    return {"quiz_id": quiz_id, "platform": platform, "title": quiz.title, "exam": exam, "generated": generated,
            "seed": seed, "total": len(quiz.questions), "created_at": iso(created), "questions": data["questions"]}


def _own(row: QuizResult, who: Principal) -> bool:
    if row.agent_id is not None:
        return who.role == "agent" and who.agent_id == row.agent_id
    return row.key_id == who.key_id


def _normalise(quiz: Any, answers: Mapping[str, Any] | Sequence[Any]) -> dict[str, Any]:
    """Answers by question id, each checked: an unknown question or an answer that is not one of the
    question's options is a 422 naming it (a question left out is simply wrong)."""
    from kefuguard.quiz import parse_answer

    ids = [q.id for q in quiz.questions]
    if isinstance(answers, Mapping):
        by_id: dict[str, Any] = {}
        for key, value in answers.items():
            qid = str(key).strip()
            if qid not in ids:
                raise invalid(f"answers.{qid}", f"这份测验没有题目 {qid!r}", f"the quiz has no question {qid!r}")
            by_id[qid] = value
    else:
        if len(answers) > len(ids):
            raise invalid("answers", f"答案有 {len(answers)} 个，测验只有 {len(ids)} 题",
                          f"{len(answers)} answers for a quiz of {len(ids)} questions")
        by_id = dict(zip(ids, answers, strict=False))
    for qid, value in by_id.items():
        if value is None:
            continue
        text = "".join(value) if isinstance(value, list) else str(value)
        try:
            parse_answer(text, quiz.question(qid))
        except ValueError:
            letters = quiz.question(qid).letters
            raise invalid(f"answers.{qid}", f"第 {qid} 题的答案 {text!r} 无效：请用选项字母 {'/'.join(letters)}"
                          + ("，或 对/错" if quiz.question(qid).true_false else ""),
                          f"answer {text!r} to {qid} is not valid: use the option letters {'/'.join(letters)}"
                          + (" (or 对/错)" if quiz.question(qid).true_false else "")) from None
        by_id[qid] = text
    return by_id


def submit(db: Database, who: Principal, quiz_id: int, answers: Mapping[str, Any] | Sequence[Any],
           checker_for: Any = None) -> dict[str, Any]:
    """Grade the answers to a quiz this caller was handed, store the result, and return it (with each
    question's correct answer, explanation and seed source)."""
    from kefuguard.quiz import grade

    with db.session() as s:
        row = s.scalars(select(QuizResult).where(QuizResult.tenant_id == who.tenant_id,
                                                 QuizResult.id == quiz_id)).first()
        if row is None or not _own(row, who):
            raise NotFoundError(quiz_id)
        if row.status != "open":
            raise _graded(quiz_id)
        params = {"platform": row.platform, "exam": row.exam, "generated": row.generated, "seed": row.seed}
        agent_id = row.agent_id
    checker = checker_for(params["platform"]) if checker_for is not None else None
    quiz = build(params["platform"], exam=params["exam"], generated=params["generated"], seed=params["seed"],
                 checker=checker)
    given = _normalise(quiz, answers)
    result = grade(quiz, given, agent=who.label or who.who)
    graded = result.to_dict()
    by_id = {q.id: q for q in quiz.questions}
    for item in graded["items"]:
        q = by_id[item["id"]]
        item.update(explanation=q.explanation, source=q.source)
    detail = {"by_kind": graded["by_kind"], "items": graded["items"]}
    from kefuguard.storage.types import utcnow

    now = utcnow()
    with db.session(immediate=True) as s:
        done = s.execute(
            update(QuizResult)
            .where(QuizResult.tenant_id == who.tenant_id, QuizResult.id == quiz_id, QuizResult.status == "open")
            .values(status="graded", score=result.score, percent=result.percent, detail=detail, graded_at=now)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:
            raise _graded(quiz_id)
    out = get_result(db, who, quiz_id)
    out["items"] = graded["items"]
    out["agent_id"] = agent_id
    return out


def _graded(quiz_id: int) -> ApiError:
    return ApiError(409, "quiz_already_graded", f"测验 {quiz_id} 已经交卷评分，不能再次提交；请重新领取一份测验",
                    f"quiz {quiz_id} has already been graded; fetch a new quiz to try again", field="quiz_id")


def _query(tenant_id: int) -> Any:
    return (select(QuizResult, Agent.external_id, Agent.name, Agent.shop_id, Shop.name)
            .outerjoin(Agent, and_(Agent.tenant_id == QuizResult.tenant_id, Agent.id == QuizResult.agent_id))
            .outerjoin(Shop, and_(Shop.tenant_id == Agent.tenant_id, Shop.id == Agent.shop_id))
            .where(QuizResult.tenant_id == tenant_id, QuizResult.status == "graded"))


def _result_json(row: QuizResult, agent: str | None, agent_name: str | None, shop_id: int | None,
                 shop: str | None) -> dict[str, Any]:
    detail = row.detail or {}
    return {"id": row.id, "quiz_id": row.id, "agent_id": row.agent_id, "agent": agent, "agent_name": agent_name,
            "shop_id": shop_id, "shop": shop, "practice": row.agent_id is None, "taken_by": row.taken_by,
            "platform": row.platform, "title": row.title, "exam": row.exam, "generated": row.generated,
            "seed": row.seed, "score": row.score, "total": row.total, "percent": row.percent,
            "by_kind": detail.get("by_kind", {}), "created_at": iso(row.created_at), "graded_at": iso(row.graded_at)}


def _filtered(query: Any, f: ResultFilter) -> Any:
    if f.agent_id is not None:
        query = query.where(QuizResult.agent_id == f.agent_id)
    if f.shop_id is not None:
        query = query.where(Agent.shop_id == f.shop_id)
    if f.platform:
        query = query.where(QuizResult.platform == f.platform)
    if f.practice is True:
        query = query.where(QuizResult.agent_id.is_(None))
    elif f.practice is False:
        query = query.where(QuizResult.agent_id.is_not(None))
    start, end = _day_bounds(f.day_from, f.day_to)
    if start is not None:
        query = query.where(QuizResult.graded_at >= start)
    if end is not None:
        query = query.where(QuizResult.graded_at < end)
    return query


def scoped(who: Principal, f: ResultFilter) -> ResultFilter:
    """Agents: their own results only (another agent's id gives nothing, not an error); no practice runs."""
    if who.role != "agent":
        return f
    foreign = (f.agent_id is not None and f.agent_id != who.agent_id) or f.practice is True
    agent = -1 if foreign else who.agent_id
    return ResultFilter(agent_id=agent, shop_id=f.shop_id, platform=f.platform, day_from=f.day_from,
                        day_to=f.day_to, practice=False)


def list_results(db: Database, who: Principal, f: ResultFilter, limit: int, offset: int) -> tuple[list[dict], int]:
    """Graded results, newest first."""
    f = scoped(who, f)
    with db.session() as s:
        query = _filtered(_query(who.tenant_id), f)
        total = _count(s, query)
        rows = s.execute(query.order_by(QuizResult.graded_at.desc(), QuizResult.id.desc())
                         .limit(limit).offset(offset)).all()
        return [_result_json(*row) for row in rows], total


def get_result(db: Database, who: Principal, result_id: int) -> dict[str, Any]:
    """One graded result with its questions' answers; an agent's own only."""
    with db.session() as s:
        query = _query(who.tenant_id).where(QuizResult.id == result_id)
        if who.role == "agent":
            query = query.where(QuizResult.agent_id == who.agent_id)
        row = s.execute(query).first()
        if row is None:
            raise NotFoundError(result_id)
        out = _result_json(*row)
        out["items"] = (row[0].detail or {}).get("items", [])
        return out


def agent_summary(db: Database, tenant_id: int, f: ResultFilter, limit: int, offset: int) -> tuple[list[dict], int]:
    """Per agent with graded results: attempts, best, mean and latest percent, when last taken; the most
    recently active first."""
    with db.session() as s:
        base = _filtered(select(QuizResult.agent_id.label("agent_id"), func.count().label("attempts"),
                                func.max(QuizResult.percent).label("best"), func.avg(QuizResult.percent).label("mean"),
                                func.max(QuizResult.graded_at).label("last_at"))
                         .select_from(QuizResult)
                         .join(Agent, and_(Agent.tenant_id == QuizResult.tenant_id, Agent.id == QuizResult.agent_id))
                         .where(QuizResult.tenant_id == tenant_id, QuizResult.status == "graded"),
                         ResultFilter(shop_id=f.shop_id, platform=f.platform, day_from=f.day_from, day_to=f.day_to,
                                      agent_id=f.agent_id)).group_by(QuizResult.agent_id).subquery()
        total = s.scalar(select(func.count()).select_from(base)) or 0
        rows = s.execute(
            select(base, Agent.external_id.label("agent"), Agent.name.label("agent_name"), Agent.shop_id,
                   Shop.name.label("shop"), Shop.platform)
            .join(Agent, and_(Agent.tenant_id == tenant_id, Agent.id == base.c.agent_id))
            .join(Shop, and_(Shop.tenant_id == Agent.tenant_id, Shop.id == Agent.shop_id))
            .order_by(base.c.last_at.desc(), Agent.external_id, base.c.agent_id).limit(limit).offset(offset)
        ).all()
        latest: dict[int, QuizResult] = {}
        ids = [r.agent_id for r in rows]
        if ids:
            newest = _filtered(
                select(QuizResult).select_from(QuizResult)
                .join(Agent, and_(Agent.tenant_id == QuizResult.tenant_id, Agent.id == QuizResult.agent_id))
                .where(QuizResult.tenant_id == tenant_id, QuizResult.status == "graded",
                       QuizResult.agent_id.in_(ids)),
                ResultFilter(shop_id=f.shop_id, platform=f.platform, day_from=f.day_from, day_to=f.day_to),
            ).order_by(QuizResult.graded_at.desc(), QuizResult.id.desc())
            for row in s.scalars(newest):
                latest.setdefault(row.agent_id, row)  # type: ignore[arg-type]
        items = []
        for r in rows:
            last = latest.get(r.agent_id)
            items.append({
                "agent_id": r.agent_id, "agent": r.agent, "agent_name": r.agent_name, "shop_id": r.shop_id,
                "shop": r.shop, "platform": r.platform, "attempts": r.attempts,
                "best_percent": r.best, "mean_percent": round(float(r.mean), 1) if r.mean is not None else None,
                "latest_percent": last.percent if last else None, "latest_score": last.score if last else None,
                "latest_total": last.total if last else None, "latest_id": last.id if last else None,
                "latest_platform": last.platform if last else None, "last_at": iso(last.graded_at) if last else None,
            })
        return items, total
