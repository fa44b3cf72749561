"""答非所问: how well an agent reply addresses the buyer message(s) it answers.

Score: the relevance of a reply to a buyer message is the highest cosine between the buyer message —
or its question without the product name in front ("明前龙井250g和上一代有什么区别" → "和上一代有什么区别":
a long product name pulls the whole sentence towards itself) — and the reply (a leading 亲/您好
stripped) or any of its clauses (a long reply that opens with 亲，您好 and answers in its third clause
still scores on the answer). A reply is likely
off-topic below the threshold calibrated by `scripts/train_tone.py` on the labelled pairs of
`rules/data/off_topic_pairs.tsv` (shipped in `semantic/data/off_topic.json`).

Shared topic: when the buyer message and the reply name the same topic group of the audit's topic
word lists (`audit_checks.yaml`: 发票 on both sides, 怎么用 and 说明书 …), the reply is taken as an
answer whatever the similarity: a product name in the question ("机械键盘能开发票吗") can pull the
cosine of a right answer below the threshold.

Templates: a reply that is only a holding/greeting template ("亲，请稍等，我这就为您查询！",
"在的亲，请问有什么可以帮您？") answers nothing *yet*: it is not judged (`is_template`); the check
judges the other replies of the turn. A buyer message that asks nothing (好的/谢谢/在吗) is not
judged either.

What embeddings cannot do: negation and facts. "已经发货了" and "还没发货" are equally relevant to
"发货了吗"; whether an answer contradicts the order or the shop's policy is not judged here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from kefuguard.semantic.embeddings import get_encoder, require

if TYPE_CHECKING:
    import numpy as np

_LEAD = re.compile(r"^(?:(?:亲亲|亲爱的|亲|您好|你好|哈喽|在的|在呢|好的|嗯嗯|收到)[呀啊哦哈呢~～]*[，,。.！!~～\s]*)+")
_CLAUSE = re.compile(r"[，,。.！!？?~～；;…\n]+")
# holding, greeting and closing phrases; a reply made only of these (and particles/punctuation) is a template
_TEMPLATE_PHRASES = sorted(
    {
        "亲亲", "亲爱的", "亲", "您好", "你好", "哈喽", "在的", "在呢", "在", "好的", "好嘞", "嗯嗯", "收到", "欢迎光临", "欢迎",
        "本店", "很高兴为您服务", "非常高兴为您服务", "很高兴为你服务", "请问有什么可以帮您", "请问有什么可以帮到您",
        "有什么可以帮您", "有什么可以帮到您", "请问有什么需要", "请稍等", "稍等", "请您稍等", "您稍等", "稍等一下", "一下下",
        "片刻", "马上", "这就", "立刻", "为您", "帮您", "给您", "查询", "查一下", "查看", "看一下", "看看", "帮您看", "看", "核实", "确认",
        "确认一下", "核实一下", "处理", "再回复您", "回复您", "问一下", "主管", "仓库", "库存", "订单", "我", "我这边",
        "这边", "去", "哈", "哦", "呢", "呀", "啊", "啦", "一下", "非常抱歉", "抱歉", "不好意思", "您的心情我们非常理解",
        "您的心情我们也非常理解", "情况", "请", "您", "的", "了", "就", "再", "谢谢", "感谢", "理解",
    },
    key=len,
    reverse=True,
)
_TEMPLATE = re.compile("|".join(re.escape(p) for p in _TEMPLATE_PHRASES))
_NONWORD = re.compile(r"[\W_\d]+")
_ASKS_NOTHING = re.compile(
    r"^(?:好的?|好滴|好嘞|行|可以|嗯+|哦+|谢谢|感谢|谢了|知道了|明白了|收到|ok|在吗|在嘛|在不在|在|有人吗|有人在吗|"
    r"老板|客服|店家|掌柜|你好|您好|亲|hello|hi|嗨|哈喽|喂|哈+|[\W_])+$",
    re.IGNORECASE,
)


def is_template(text: str) -> bool:
    """A reply made only of greeting/holding/closing phrases ("亲，请稍等，我这就为您查询！")."""
    rest = _NONWORD.sub("", _TEMPLATE.sub("", text))
    return len(rest) == 0


def asks_something(text: str) -> bool:
    """Does a buyer message ask or say anything a reply must address? (好的/谢谢/在吗 do not.)"""
    return bool(text.strip()) and _ASKS_NOTHING.match(text.strip()) is None


@lru_cache(maxsize=1)
def _topic_words() -> tuple[tuple[str, str], ...]:
    """(keyword, topic group) from audit_checks.yaml, longest keywords first."""
    from kefuguard.conversation.check_data import load_audit_checks

    data = load_audit_checks()
    group_of = {t: g for g, members in data.topic_groups.items() for t in members}
    pairs = {(w.lower(), group_of.get(t, t)) for t, words in data.topics.items() for w in words}
    return tuple(sorted(pairs, key=lambda p: (-len(p[0]), p)))


def topic_groups(text: str) -> set[str]:
    """The topic groups (product, logistics, after_sales, invoice, price, stock) `text` names."""
    low = text.lower()
    return {g for w, g in _topic_words() if w in low}


def shared_topic(question: str, reply: str) -> bool:
    """Do the buyer message and the reply name the same topic group?"""
    return bool(topic_groups(question) & topic_groups(reply))


_QUESTION_CORE = re.compile(
    r"^(?:这个|这款|那个|那款|你们家?的?|收到的|我买的|我的)?[^，,。？?！!\s]{2,16}?"
    r"(?=和上一代|和之前|和以前|跟上一代|有几种|有几个|有哪些|今天|明天|什么时候|几天|怎么|多少|还有|有货|有现货|质量|"
    r"能不能|能|会不会|是不是|有没有|可以|适合|好用|耐用|有破损|坏了|破了)"
)


def _question_parts(question: str) -> list[str]:
    q = question.strip()
    m = _QUESTION_CORE.match(q)
    return [q, q[m.end():]] if m and len(q) - m.end() >= 2 else [q]


def _strip(text: str) -> str:
    stripped = _LEAD.sub("", text.strip())
    return stripped or text.strip()


def _parts(reply: str) -> list[str]:
    body = _strip(reply)
    clauses = [c for c in _CLAUSE.split(body) if len(c.strip()) >= 2]
    return [body, *clauses] if len(clauses) > 1 else [body]


def relevance_scores(
    pairs: Sequence[tuple[str, str]], *, embed: Callable[[list[str]], np.ndarray] | None = None
) -> list[float]:
    """The relevance of each (buyer message, reply) pair, batched: one encode call for all texts."""
    if not pairs:
        return []
    embed = embed or get_encoder().encode
    questions = [_question_parts(q) for q, _ in pairs]
    parts = [_parts(reply) for _, reply in pairs]
    texts = list(dict.fromkeys([q for qs in questions for q in qs] + [p for ps in parts for p in ps]))
    where = {t: i for i, t in enumerate(texts)}
    vectors = embed(texts)
    out = []
    for qs, ps in zip(questions, parts, strict=True):
        out.append(max(float(vectors[where[p]] @ vectors[where[q]]) for q in qs for p in ps))
    return out


def relevance(question: str, reply: str) -> float:
    """How well `reply` addresses `question` (cosine-like, about -0.1 … 1)."""
    return relevance_scores([(question, reply)])[0]


@lru_cache(maxsize=1)
def _calibration() -> dict[str, Any]:
    path = resources.files("kefuguard.semantic") / "data" / "off_topic.json"
    return json.loads(path.read_text(encoding="utf-8"))


def off_topic_threshold() -> float:
    """The shipped threshold: a relevance below it is likely 答非所问."""
    return float(_calibration()["threshold"])


@dataclass(frozen=True)
class OffTopicResult:
    question: str
    reply: str
    verdict: str  #: "on" (answers it), "off" (likely 答非所问), "template" (holding reply, not judged), "no_question"
    score: float | None  #: relevance; None when not judged
    threshold: float
    reason: str = "similarity"  #: why: "similarity", "topic" (same topic group named), "template", "no_question"

    @property
    def off_topic(self) -> bool:
        return self.verdict == "off"

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "reply": self.reply, "verdict": self.verdict, "reason": self.reason,
                "score": None if self.score is None else round(self.score, 4), "threshold": self.threshold}


def judge_replies(
    pairs: Sequence[tuple[str, str]], *, threshold: float | None = None, embed: Callable | None = None
) -> list[OffTopicResult]:
    """Judge each (buyer message, reply) pair; templates and buyer messages asking nothing are not scored,
    a pair naming the same topic group on both sides is an answer."""
    if embed is None:
        require("the off-topic check")
    cut = off_topic_threshold() if threshold is None else threshold
    judged = [i for i, (q, a) in enumerate(pairs) if asks_something(q) and not is_template(a)]
    scores = dict(zip(judged, relevance_scores([pairs[i] for i in judged], embed=embed), strict=True))
    out = []
    for i, (q, a) in enumerate(pairs):
        if i in scores:
            s = scores[i]
            if s >= cut:
                out.append(OffTopicResult(q, a, "on", s, cut))
            elif shared_topic(q, a):
                out.append(OffTopicResult(q, a, "on", s, cut, reason="topic"))
            else:
                out.append(OffTopicResult(q, a, "off", s, cut))
        elif asks_something(q):
            out.append(OffTopicResult(q, a, "template", None, cut, reason="template"))
        else:
            out.append(OffTopicResult(q, a, "no_question", None, cut, reason="no_question"))
    return out


def judge_reply(question: str, reply: str, *, threshold: float | None = None) -> OffTopicResult:
    """Does `reply` address the buyer's `question`? See `OffTopicResult`."""
    return judge_replies([(question, reply)], threshold=threshold)[0]
