"""Agent assist and training (issue 12): the 话术 script library (GET /v1/scripts) and the rules quiz
(GET /v1/quiz, POST /v1/quiz/answers, GET /v1/quiz/results[/{id}], GET /v1/quiz/agents).

The tone check is POST /v1/check with `"semantic": true` (routes/check.py, kefuguard.server.semantic).
The library functions (`kefuguard.semantic.scripts`, `kefuguard.quiz`) are imported on first use, so a
server that never serves these routes never loads them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import JSONResponse

from kefuguard.server import quiz as quizzes
from kefuguard.server.deps import Caller, Pages, Supervisor, page, platform_param
from kefuguard.server.errors import invalid, not_found
from kefuguard.server.routes.data import AgentQ, DayFrom, DayTo, ShopQ
from kefuguard.server.schemas import MAX_ID, Page, QuizAnswers

if TYPE_CHECKING:
    from kefuguard.server.app import Context

router = APIRouter(tags=["assist"])

ScriptKind = Literal["script", "stage", "standard", "abusive_step"]
PLATFORM_HELP = "douyin, pinduoduo, tmall, taobao, jd or kuaishou (or as exports spell them: 抖音, pdd …)"


def _ctx(request: Request) -> Context:
    return request.app.state.kefuguard


def _days(day_from, day_to) -> None:  # type: ignore[no-untyped-def]
    if day_from and day_to and day_from > day_to:
        raise invalid("day_from", "day_from 晚于 day_to", "day_from is after day_to")


# ---------------------------------------------------------------------------- scripts
@router.get("/v1/scripts", summary="话术检索 Search the script library")
def search_scripts(
    who: Caller, request: Request,
    q: Annotated[str, Query(min_length=1, max_length=500, description="what the buyer wrote, or a topic "
                                                                      "(发票怎么开, 催发货 …)")],
    platform: Annotated[str | None, Query(max_length=20, description=PLATFORM_HELP + "; only scripts meant for "
                                          "it that its rules pass")] = None,
    shop_id: ShopQ = None,
    top: Annotated[int, Query(ge=1, le=20, description="at most this many scripts")] = 5,
    kind: Annotated[list[ScriptKind] | None, Query(description="only these kinds of entries")] = None,
    method: Annotated[Literal["auto", "semantic", "lexical"], Query(
        description="semantic: the sentence encoder (kefuguard[semantic], 503 without it); lexical: shared "
                    "characters; auto: semantic when installed")] = "auto",
) -> dict:
    """Compliant scripts (标准话术) that answer a buyer's message, best first, each with the seed file
    and sentence it comes from. With `platform` (or `shop_id`: the shop's platform and its own banned
    words too) only the scripts meant for that platform whose text its rules pass are returned."""
    from kefuguard.semantic.scripts import search_scripts as search
    from kefuguard.server.semantic import require_semantic, semantic_available

    ctx = _ctx(request)
    code = platform_param(platform)
    checker = None
    if shop_id is not None:
        entry = ctx.shops.fresh(who.tenant_id, shop_id) or ctx.shops.refresh(who.tenant_id, shop_id)
        if entry.shop is None:
            raise not_found("店铺", "shop", shop_id, field="shop_id")
        if code is not None and code != entry.platform:
            raise invalid("platform", f"店铺 {shop_id} 属于平台 {entry.platform}，与 {code} 不一致",
                          f"shop {shop_id} is on {entry.platform}, not {code}")
        code, checker = entry.platform, entry.shop
    if method == "semantic":
        require_semantic("语义话术检索", "the semantic script search", "method")
    semantic = semantic_available() if method == "auto" else method == "semantic"
    try:
        matches = search(q, code, top=top, semantic=semantic, kinds=kind, checker=checker)
    except Exception as exc:
        from kefuguard.semantic.embeddings import SemanticUnavailable

        if not isinstance(exc, SemanticUnavailable | ImportError):
            raise
        if method == "semantic":
            from kefuguard.server.semantic import unavailable

            raise unavailable("语义话术检索", "the semantic script search", "method") from None
        semantic = False
        matches = search(q, code, top=top, semantic=False, kinds=kind, checker=checker)
    return {"query": q, "platform": code, "shop_id": shop_id, "method": "semantic" if semantic else "lexical",
            "total": len(matches), "items": [m.to_dict() for m in matches]}


# ---------------------------------------------------------------------------- quiz
@router.get("/v1/quiz", summary="领取测验 Get a rules quiz")
def get_quiz(
    who: Caller, request: Request,
    platform: Annotated[str, Query(max_length=20, description=PLATFORM_HELP)] = "douyin",
    generated: Annotated[int, Query(ge=0, le=quizzes.MAX_GENERATED, description="questions generated from the "
                                    "platform's rule packs")] = 6,
    seed: Annotated[int | None, Query(ge=0, le=quizzes.MAX_SEED, description="the same seed gives the same "
                                      "generated questions; default: a random one")] = None,
    exam: Annotated[bool, Query(description="include the seed's rules exam (Douyin has one: 15 questions)")] = True,
) -> dict:
    """A quiz for the caller: the platform's seed exam (Douyin) and `generated` questions from its rule
    packs, without the answers, and its `quiz_id` for POST /v1/quiz/answers. The server keeps what it
    handed out and grades exactly that, once. An agent's result is stored under their agent; a
    supervisor's or admin's is a practice run (no agent)."""
    ctx = _ctx(request)
    code = platform_param(platform)
    assert code is not None
    return quizzes.hand_out(ctx.store.db, who, code, exam=exam, generated=generated, seed=seed,
                            checker=ctx.platform_checker(code))


@router.post("/v1/quiz/answers", summary="交卷评分 Submit a quiz's answers", status_code=201)
def submit_answers(who: Caller, request: Request, body: QuizAnswers) -> JSONResponse:
    """Grade the answers to a quiz from GET /v1/quiz (the caller's own: another's is 404; a quiz is
    graded once: 409 after that) and store the result. Returns the score, the percentage, right
    answers per question kind and, per question, the answer given, the correct one, whether it was
    right, the explanation and the seed source."""
    ctx = _ctx(request)
    out = quizzes.submit(ctx.store.db, who, body.quiz_id, body.answers, checker_for=ctx.platform_checker)
    return JSONResponse(out, status_code=201)


@router.get("/v1/quiz/results", response_model=Page, summary="测验成绩 Quiz results")
def list_quiz_results(
    who: Caller, request: Request, paging: Pages, agent_id: AgentQ = None, shop_id: ShopQ = None,
    platform: Annotated[str | None, Query(max_length=20)] = None, day_from: DayFrom = None, day_to: DayTo = None,
    practice: Annotated[bool | None, Query(description="true: supervisors' practice runs only; false: agents' "
                                                       "results only")] = None,
) -> dict:
    """Graded quizzes, newest first. Supervisors and admins: every agent of the tenant (and practice
    runs); agents: their own results only."""
    _days(day_from, day_to)
    f = quizzes.ResultFilter(agent_id=agent_id, shop_id=shop_id, platform=platform_param(platform),
                             day_from=day_from, day_to=day_to, practice=practice)
    items, total = quizzes.list_results(_ctx(request).store.db, who, f, paging.limit, paging.offset)
    return page(items, total, paging)


@router.get("/v1/quiz/agents", response_model=Page, summary="各客服测验成绩 Quiz scores per agent")
def quiz_agents(
    who: Supervisor, request: Request, paging: Pages, agent_id: AgentQ = None, shop_id: ShopQ = None,
    platform: Annotated[str | None, Query(max_length=20)] = None, day_from: DayFrom = None, day_to: DayTo = None,
) -> dict:
    """One row per agent with graded quizzes: attempts, best, mean and latest percentage, and when they
    last took one (the most recently active first)."""
    _days(day_from, day_to)
    f = quizzes.ResultFilter(agent_id=agent_id, shop_id=shop_id, platform=platform_param(platform),
                             day_from=day_from, day_to=day_to)
    items, total = quizzes.agent_summary(_ctx(request).store.db, who.tenant_id, f, paging.limit, paging.offset)
    return page(items, total, paging)


@router.get("/v1/quiz/results/{result_id}", summary="一次测验的成绩 One quiz result")
def get_quiz_result(who: Caller, request: Request, result_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> dict:
    """A graded quiz with each question's given and correct answer (agents: their own only)."""
    return quizzes.get_result(_ctx(request).store.db, who, result_id)
