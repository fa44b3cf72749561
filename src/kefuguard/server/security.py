"""API keys, roles and rate limits.

A key is sent as `Authorization: Bearer <key>` or `X-API-Key: <key>`. Storage keeps only a hash;
a lookup (hash → tenant, role, agent id, label) is remembered for `auth_cache_seconds` (default 5)
so the hot path never waits for the database; a key revoked through this instance is forgotten at
once, through another instance within that time. Unknown keys are remembered too (briefly), so a
stream of bad keys cannot turn into a stream of database queries.

Roles, from most to least: admin (everything in the tenant, keys and webhooks included),
supervisor (the tenant's shops, settings, audits and data), agent (check; its own conversations
and findings only).

Rate limit: a token bucket per key in memory (`rate_limit` requests per second, `burst` deep);
an empty bucket is a 429 with Retry-After.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from kefuguard.server.errors import ApiError, forbidden, rate_limited, unauthorized

ROLES = ("admin", "supervisor", "agent")
_RANK = {"agent": 0, "supervisor": 1, "admin": 2}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's tenant, role and (for agents) agent id."""

    key_id: int
    tenant_id: int
    role: str
    agent_id: int | None = None  # storage's agents.id, for agent keys
    label: str = ""

    @property
    def who(self) -> str:
        """How changes made with this key are recorded."""
        name = self.label or f"key {self.key_id}"
        return f"{name} ({self.role})"

    def at_least(self, role: str) -> bool:
        return _RANK.get(self.role, -1) >= _RANK[role]

    def require(self, role: str, need_zh: str, need_en: str) -> None:
        if not self.at_least(role):
            raise forbidden(self.role, need_zh, need_en)


def key_from_headers(authorization: str | None, x_api_key: str | None) -> str | None:
    """The raw key from either header (X-API-Key wins when both are sent)."""
    if x_api_key:
        return x_api_key.strip() or None
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        raise ApiError(
            401, "unauthorized", "Authorization 请求头须为 'Bearer <密钥>'",
            "the Authorization header must be 'Bearer <key>'", headers={"WWW-Authenticate": "Bearer"},
        )
    return None


class KeyCache:
    """raw key → Principal (or None: unknown/revoked), reused for `ttl` seconds; bounded size.

    `lookup(raw_key)` asks storage (it hashes the key and compares in constant time)."""

    def __init__(self, lookup: Callable[[str], Principal | None], ttl: float = 5.0, size: int = 10000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._lookup, self._ttl, self._size, self._clock = lookup, ttl, size, clock
        self._entries: OrderedDict[bytes, tuple[float, Principal | None]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _digest(raw: str) -> bytes:
        # the cache is keyed by a digest, so raw keys are not kept in memory longer than a request
        return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).digest()

    def cached(self, raw: str) -> tuple[bool, Principal | None]:
        """(found, principal) without touching the database."""
        entry = self._entries.get(self._digest(raw))
        if entry is not None and entry[0] > self._clock():
            return True, entry[1]
        return False, None

    def resolve(self, raw: str) -> Principal | None:
        """The principal for a key (database on a miss; may block: call from a worker thread)."""
        digest = self._digest(raw)
        entry = self._entries.get(digest)
        now = self._clock()
        if entry is not None and entry[0] > now:
            return entry[1]
        principal = self._lookup(raw)
        ttl = self._ttl if principal is not None else min(self._ttl, 2.0)
        with self._lock:
            self._entries[digest] = (now + ttl, principal)
            self._entries.move_to_end(digest)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return principal

    def forget_key(self, key_id: int) -> None:
        """Drop every cached lookup of one key (revoked or changed through this instance)."""
        with self._lock:
            for digest, (_, p) in list(self._entries.items()):
                if p is not None and p.key_id == key_id:
                    del self._entries[digest]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def authenticate_cached(cache: KeyCache, raw: str | None) -> Principal | None:
    """Fast path: the principal if the key is in the cache; raises 401 if it is cached as bad;
    None when the database must be asked."""
    if raw is None:
        raise unauthorized()
    found, principal = cache.cached(raw)
    if found:
        if principal is None:
            raise unauthorized("API 密钥无效或已吊销", "invalid or revoked API key")
        return principal
    return None


def require_principal(principal: Principal | None) -> Principal:
    if principal is None:
        raise unauthorized("API 密钥无效或已吊销", "invalid or revoked API key")
    return principal


class RateLimiter:
    """A token bucket per key: `rate` tokens a second, at most `burst`; thread-safe."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100000) -> None:
        self.rate, self.burst, self._clock, self._max = rate, burst, clock, max_keys
        self._buckets: dict[object, list[float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: object, cost: float = 1.0) -> None:
        """Spend `cost` tokens or raise 429 with the seconds until they are there."""
        if self.rate <= 0:
            return
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self._max:
                    self._buckets.clear()  # only reached under a flood of distinct keys
                bucket = self._buckets[key] = [self.burst, now]
            tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
            if tokens >= cost:
                bucket[0] = tokens - cost
                return
            bucket[0] = tokens
        raise rate_limited((cost - tokens) / self.rate)
