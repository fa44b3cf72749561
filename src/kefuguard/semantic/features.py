"""Cheap lexical features of an agent reply, next to its embedding in the tone classifier.

The embedding carries the meaning; these carry what a sentence encoder smooths away: how a reply
is punctuated and addressed (？ and ！ runs, 你 without 您), the courtesy and softening a polite
agent types (亲, 请, 抱歉, 哦/哈/~, 😊), the eye-roll emoji of an impatient one, its length, and a
few marker words per tone from the seeds' vocabulary (质问 难道/凭什么, 推诿 找快递/不归我管,
争辩 不可能/明明, 高冷 自己看, 敷衍 应该吧/看情况). Pure Python, no dependency: a few microseconds.

The list is part of the trained model: changing it means retraining (`scripts/train_tone.py`);
`FEATURE_VERSION` is stored with the weights and checked on load.
"""

from __future__ import annotations

import math
import re
import unicodedata

FEATURE_VERSION = "2"

_COURTESY = re.compile(r"亲|您|请|谢谢|感谢|抱歉|不好意思|对不起|麻烦|辛苦|理解|放心|别着急|不用担心")
_SOFT = re.compile(r"[哦哈呢呀啦嘛滴噢]|[~～]")
_FRIENDLY_EMOJI = re.compile("[\U0001F60A\U0001F64F\U0001F339\U0001F495\U0001F389\U0001F618\U0001F44C\U0001F60D\U0001F970\u2764\U0001F497]")
_HOSTILE_EMOJI = re.compile("[\U0001F644\U0001F611\U0001F605\U0001F60F\U0001F624\U0001F612\U0001F621\U0001F620\U0001F92E\U0001F643]")
_MARKERS: dict[str, re.Pattern[str]] = {
    "interrogation": re.compile(r"难道|凭什么|怎么就|到底|还用问|有什么好问|没看到吗|没看吗|不会自己|你不会|你没|你是不是|你就不能|早干嘛"),
    "shirk": re.compile(r"找快递|问快递|找平台|问平台|找厂家|问厂家|不归我|不关我|不关我们|跟我们没关系|跟店里没关系|与我们无关|我也没办法|我们也没办法|处理不了|不是我负责|不负责|做不了主|管不了"),
    "argue": re.compile(r"不可能|明明|根本|你说的不对|不存在|事实|你别|别乱说|冤枉|污蔑|是你自己|怪谁|能怪谁|我们没有错|没错啊"),
    "cold": re.compile(r"自己看|自己查|自己申请|自己决定|不退|不行|不包邮|不讲价|不议价|就这个价|就这样|说重点|有事说事|爱买不买|要就拍"),
    "perfunctory": re.compile(r"应该吧|可能吧|也许吧|大概吧|看情况|差不多|再说吧|不清楚|不知道|不太清楚|随便|都行|等等吧|等着吧|不好说|说不好"),
    "abuse": re.compile(
        r"脑子|有病|神经|智障|白痴|傻|蠢|滚(?![筒动轮])|穷鬼|穷逼|穷酸|穷就|贱|废物|垃圾(?![袋桶分])|恶心|不要脸|弱智|奇葩|闭嘴"
        r"|去死|死吧|该死|找死|死骗子"
    ),
}
_NONWORD = re.compile(r"[\W_]+")
FEATURE_NAMES: tuple[str, ...] = (
    "question_marks", "ends_with_question", "exclamations", "ni_without_nin", "nin", "courtesy", "soft_particles",
    "friendly_emoji", "hostile_emoji", "log_length", "very_short", "ellipsis",
    *(f"marker_{k}" for k in _MARKERS),
)


def lexical_features(text: str) -> list[float]:
    """The features of `text`, in `FEATURE_NAMES` order (small numbers, roughly 0-3)."""
    t = unicodedata.normalize("NFKC", text).strip()
    bare = _NONWORD.sub("", t)
    q = t.count("?")
    ni, nin = t.count("你"), t.count("您")
    feats = [
        min(q, 3) / 3,
        1.0 if t.rstrip("~ ") .endswith("?") else 0.0,
        min(t.count("!"), 3) / 3,
        1.0 if ni and not nin else 0.0,
        1.0 if nin else 0.0,
        min(len(_COURTESY.findall(t)), 4) / 4,
        min(len(_SOFT.findall(t)), 4) / 4,
        1.0 if _FRIENDLY_EMOJI.search(text) else 0.0,
        1.0 if _HOSTILE_EMOJI.search(text) else 0.0,
        math.log1p(len(bare)) / 5,
        1.0 if len(bare) < 5 else 0.0,
        1.0 if ("..." in t or "。。" in t or "…" in t) else 0.0,
    ]
    feats.extend(1.0 if p.search(t) else 0.0 for p in _MARKERS.values())
    return feats
