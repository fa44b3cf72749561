"""Rude or unfriendly tone in an agent's reply: 辱骂, 质问/反问, 争辩, 高冷, 推诿, 敷衍.

Keywords cannot see 态度: "您自己看详情页吧" has no bad word and is still 高冷. This classifier reads
the reply's sentence embedding (`kefuguard.semantic.embeddings`) and a few cheap lexical features
(`kefuguard.semantic.features`) with two small logistic-regression heads trained by
`scripts/train_tone.py` (weights shipped in `semantic/data/tone_model.npz`, fixed seed):

- a *rude* head (is this reply rude or unfriendly at all?), trained on COLD (Chinese offensive
  language, Apache-2.0) and the project's labelled customer-service replies
  (`rules/data/tone_replies.tsv`), its threshold calibrated on the training part only;
- a *category* head (which of the six tones), trained on the labelled rude replies.

A reply is flagged when the rude probability reaches the threshold; the category is the category
head's best guess. Findings are suggestions for a human reviewer (severity minor), never a
platform verdict: the seeds fine tone only on an upheld complaint.

Cost: about 2 ms a message on one core when called one at a time (most of it the encoder), about
1 ms a message in batches (`check_tones`), nothing for a text seen before (cached vectors).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kefuguard.semantic.embeddings import get_encoder, require
from kefuguard.semantic.features import FEATURE_NAMES, FEATURE_VERSION, lexical_features

if TYPE_CHECKING:
    import numpy as np

    from kefuguard.findings import CheckResult, Finding

TONE_CATEGORIES: tuple[str, ...] = ("abuse", "interrogation", "argue", "cold", "shirk", "perfunctory")
TONE_ZH: dict[str, str] = {
    "polite": "礼貌",
    "abuse": "辱骂",
    "interrogation": "质问/反问",
    "argue": "争辩",
    "cold": "高冷",
    "shirk": "推诿",
    "perfunctory": "敷衍",
}
#: what to say instead, per tone (the seeds' standard phrases: 004_… 规范用语, 002_… five steps)
TONE_SUGGESTION: dict[str, str] = {
    "abuse": "不能和顾客对骂：先让顾客冷静，表达理解，再商量解决方案，例如“您好，您的心情我们也非常理解，我们一定为您妥善解决问题。”",
    "interrogation": "切忌质问、反问：换成耐心说明，例如“亲，可能是我没有表达清楚，我再给您详细说明一下哦~”",
    "argue": "不和顾客争辩：先肯定顾客的感受，再说明情况并给出方案，例如“非常抱歉给您带来了不便，请您详细描述一下问题，以便我们更好地为您服务。”",
    "cold": "不要高冷：主动、热情地把答案告诉顾客，例如“亲，您的问题我很重视，我来帮您详细看一下，请您稍等一下下哦~”",
    "shirk": "不要推诿：主动承担、帮顾客去问，例如“亲，非常抱歉给您带来了不便，这边马上帮您联系快递核实处理，有结果第一时间回复您。”",
    "perfunctory": "不要敷衍：针对问题给出具体、确定的答复，例如“亲，这个问题我帮您确认一下，确认后第一时间回复您哦~”",
}
MODEL_FILE = "tone_model.npz"


@dataclass(frozen=True)
class ToneResult:
    """The tone of one reply. `rude` is the verdict at the model's calibrated threshold."""

    text: str
    rude: bool
    probability: float  #: P(rude or unfriendly)
    category: str | None  #: one of TONE_CATEGORIES when rude, else None
    category_probability: float  #: the category head's probability for `category` (0 when not rude)
    scores: dict[str, float]  #: the category head's probability of every tone (sum 1)
    threshold: float

    @property
    def category_zh(self) -> str | None:
        return TONE_ZH.get(self.category) if self.category else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text, "rude": self.rude, "probability": round(self.probability, 4),
            "category": self.category, "category_zh": self.category_zh,
            "category_probability": round(self.category_probability, 4),
            "scores": {k: round(v, 4) for k, v in self.scores.items()}, "threshold": self.threshold,
        }


def model_path() -> Path:
    return Path(str(resources.files("kefuguard.semantic") / "data" / MODEL_FILE))


class ToneModel:
    """The two trained heads over [embedding | lexical features], standardised as in training."""

    def __init__(self, path: Path | None = None) -> None:
        import numpy as np

        path = path or model_path()
        with np.load(path, allow_pickle=False) as z:
            self.meta: dict[str, Any] = json.loads(str(z["meta"]))
            self.mean = z["mean"].astype(np.float32)
            self.scale = z["scale"].astype(np.float32)
            self.rude_coef = z["rude_coef"].astype(np.float32)
            self.rude_intercept = float(z["rude_intercept"])
            self.cat_coef = z["cat_coef"].astype(np.float32)
            self.cat_intercept = z["cat_intercept"].astype(np.float32)
        if self.meta.get("feature_version") != FEATURE_VERSION or tuple(self.meta.get("features", ())) != FEATURE_NAMES:
            raise ValueError(f"{path}: trained with other lexical features; retrain with scripts/train_tone.py")
        self.categories: tuple[str, ...] = tuple(self.meta["categories"])
        self.threshold = float(self.meta["threshold"])
        # fold the standardisation into the heads: one matrix product per batch
        self._w = np.concatenate([self.rude_coef[None, :], self.cat_coef]).T / self.scale[:, None]
        self._b = np.concatenate([[self.rude_intercept], self.cat_intercept]) - self.mean / self.scale @ np.concatenate(
            [self.rude_coef[None, :], self.cat_coef]
        ).T

    def features(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        emb = get_encoder().encode(texts)
        lex = np.asarray([lexical_features(t) for t in texts], dtype=np.float32).reshape(len(texts), len(FEATURE_NAMES))
        return np.hstack([emb, lex])

    def scores(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(P(rude) per row, category probabilities per row) for a feature matrix."""
        import numpy as np

        z = x @ self._w + self._b
        p_rude = 1.0 / (1.0 + np.exp(-z[:, 0]))
        logits = z[:, 1:]
        logits = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return p_rude, e / e.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[str], threshold: float | None = None) -> list[ToneResult]:
        if not texts:
            return []
        cut = self.threshold if threshold is None else threshold
        p_rude, p_cat = self.scores(self.features(list(texts)))
        out = []
        for text, p, cats in zip(texts, p_rude.tolist(), p_cat.tolist(), strict=True):
            scores = dict(zip(self.categories, cats, strict=True))
            rude = p >= cut
            best = max(scores, key=scores.__getitem__)
            out.append(ToneResult(
                text=text, rude=rude, probability=p, category=best if rude else None,
                category_probability=scores[best] if rude else 0.0, scores=scores, threshold=cut,
            ))
        return out


_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _model() -> ToneModel:
    require("the tone check")
    return ToneModel()


def load_tone_model() -> ToneModel:
    """The shipped model, loaded once per process (raises `SemanticUnavailable` without the extra)."""
    with _LOCK:
        return _model()


def check_tones(texts: Sequence[str], *, threshold: float | None = None) -> list[ToneResult]:
    """The tone of each agent reply, in one batch (the cheap way to check many)."""
    return load_tone_model().predict(list(texts), threshold)


def check_tone(text: str, *, threshold: float | None = None) -> ToneResult:
    """The tone of one agent reply: rude or not, which tone, how sure. See `ToneResult`."""
    return check_tones([text], threshold=threshold)[0]


def tone_threshold() -> float:
    """The shipped model's calibrated threshold on P(rude)."""
    return load_tone_model().threshold


# ---------------------------------------------------------------------------------------- findings
def finding_for(result: ToneResult, platform: str) -> Finding:
    """A message-level `Finding` for a rude `ToneResult` (whole message span), priced as the audit.tone check."""
    from kefuguard.conversation.check_data import load_audit_checks
    from kefuguard.findings import Finding
    from kefuguard.rules.model import Category

    check = load_audit_checks().checks["audit.tone"].on(platform)
    category = result.category or "cold"
    model = load_tone_model()
    return Finding(
        rule_id=f"semantic.tone.{category}",
        category=Category.abuse if category == "abuse" else Category.attitude,
        severity=check.severity,
        title=f"语气疑似{TONE_ZH[category]}（语义模型，概率{result.probability:.0%}）",
        start=0,
        end=len(result.text),
        matched=result.text,
        penalty=check.penalty,
        suggestion=TONE_SUGGESTION[category],
        source=check.source,
        pack=f"semantic.tone@{model.meta.get('version', '0')}",
        detector="semantic.tone",
    )


def tone_findings(text: str, platform: str = "pinduoduo", *, threshold: float | None = None) -> list[Finding]:
    """[] for a reply of acceptable tone, else one finding for the whole message."""
    result = check_tone(text, threshold=threshold)
    return [finding_for(result, platform)] if result.rude else []


def check_with_tone(checker: Any, text: str, *, threshold: float | None = None) -> CheckResult:
    """`checker.check(text)` plus the tone finding (the checker API behind the semantic flag).

    A message the rules already flag gets no semantic finding: the rule's is the more specific one."""
    return with_tone([checker.check(text)], threshold=threshold)[0]


def with_tone(results: Sequence[CheckResult], *, threshold: float | None = None) -> list[CheckResult]:
    """Check results with the tone findings added, the tones computed in one batch."""
    todo = [r for r in results if not r.findings]
    tones = {id(r): t for r, t in zip(todo, check_tones([r.text for r in todo], threshold=threshold), strict=True)}
    out = []
    for r in results:
        tone = tones.get(id(r))
        if tone is None or not tone.rude:
            out.append(r)
        else:
            out.append(r.model_copy(update={"findings": [*r.findings, finding_for(tone, r.platform)]}))
    return out
