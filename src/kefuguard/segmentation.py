"""Word boundaries from jieba's dictionary, for keywords that are also pieces of ordinary words.

京东 inside 南京东路, 快手 inside 快手快脚 or 很快手机, 抖音 across the comma of 不抖，音乐节: a keyword
automaton sees the characters, a word segmenter sees the words. The checker asks this module only
about hits of a few ambiguous terms and about hits that span punctuation, so the segmenter (rjieba,
jieba's dictionary in Rust: about 0.1 s and 28 MB to load) is loaded on the first such question.
"""

from __future__ import annotations

import threading
from itertools import accumulate

_WINDOW = 12  # characters of context on each side of the hit
_USER_WORD_FREQ = 1000  # frequent enough to be cut as a word (快手|上|有), not to break idioms (快手快脚)
_lock = threading.Lock()
_added: set[tuple] = set()  # user-word lists already added to the segmenter


def _segmenter(user_words: tuple[str | tuple[str, int], ...]):
    """rjieba's own default segmenter, with `user_words` added. rjieba loads its dictionary into
    that instance when imported (about 28 MB); a second `Jieba()` would load it again, so every
    checker shares the one instance (the word lists come from the same engine data)."""
    import rjieba  # imported on first use: most processes never need it

    if user_words not in _added:
        with _lock:
            if user_words not in _added:
                for entry in user_words:
                    word, freq = entry if isinstance(entry, tuple) else (entry, _USER_WORD_FREQ)
                    rjieba.add_word(word, freq, None)
                _added.add(user_words)
    return rjieba


def is_whole_words(text: str, start: int, end: int, user_words: tuple[str | tuple[str, int], ...] = ()) -> bool:
    """Whether a segmentation of the sentence around text[start:end] starts a word at `start` and
    ends one at `end` (the span is a word, or several whole words, not part of a longer one).

    `text` must be in simplified Chinese (the checker passes its link view, which keeps every
    character of the original at the same index). `user_words` are added to the dictionary, as
    words or (word, frequency) pairs.
    """
    lo, hi = max(0, start - _WINDOW), min(len(text), end + _WINDOW)
    tokens = _segmenter(user_words).cut(text[lo:hi], False)
    bounds = set(accumulate(map(len, tokens), initial=0))
    return start - lo in bounds and end - lo in bounds
