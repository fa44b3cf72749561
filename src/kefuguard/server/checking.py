"""The /v1/check hot path: one cached ShopChecker per shop, the check, the rewrite, the JSON.

Each shop's checker is built from its stored settings and kept in memory with the settings
version it was built from. The server never changes a ShopChecker in place: a new version builds
a new one (compiling an overlay takes about a millisecond; the platform checker underneath is
shared) and swaps the reference, so a request that took the old one finishes on the old settings
and its rewrite uses the same settings as its check.

Freshness: a settings PUT through this instance installs the new checker before it answers, so
the next check uses it. Other instances sharing the database see the change when their entry is
older than `recheck_seconds` (default 1 s) and one query for the stored version says it moved.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kefuguard.checker import Checker
from kefuguard.findings import CheckResult, Finding
from kefuguard.rewrite import rewrite
from kefuguard.shop import ShopChecker, ShopSettings


class SettingsSource(Protocol):
    """What the cache needs from storage."""

    def settings_version(self, tenant_id: int, shop_id: int) -> int | None:
        """The stored version of a shop's settings; None when the tenant has no such shop."""

    def load_settings(self, tenant_id: int, shop_id: int) -> tuple[int, ShopSettings] | None:
        """(version, settings) of a shop, or None."""


@dataclass(slots=True)
class ShopEntry:
    version: int
    shop: ShopChecker | None  # None: the tenant has no such shop (remembered briefly too)
    mask_char: str
    checked_at: float
    refreshing: bool = False

    @property
    def platform(self) -> str | None:
        return self.shop.platform if self.shop is not None else None


class ShopCheckers:
    """(tenant, shop id) → ShopEntry, refreshed from storage when older than `recheck_seconds`."""

    def __init__(self, source: SettingsSource, recheck_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, max_shops: int = 20000) -> None:
        self._source, self._recheck, self._clock, self._max = source, recheck_seconds, clock, max_shops
        self._entries: dict[tuple[int, int], ShopEntry] = {}
        self._lock = threading.Lock()

    def fresh(self, tenant_id: int, shop_id: int) -> ShopEntry | None:
        """The cached entry if it need not be re-checked now (no I/O); else None.

        While one request re-checks a stale entry, the others keep using it (still a complete,
        consistent set of settings)."""
        entry = self._entries.get((tenant_id, shop_id))
        if entry is None:
            return None
        if self._clock() - entry.checked_at < self._recheck:
            return entry
        if entry.refreshing and entry.shop is not None:
            return entry
        entry.refreshing = True
        return None

    def refresh(self, tenant_id: int, shop_id: int) -> ShopEntry:
        """Ask storage for the version and rebuild when it moved (blocking: run in a worker thread)."""
        key = (tenant_id, shop_id)
        now = self._clock()
        current = self._entries.get(key)
        try:
            version = self._source.settings_version(tenant_id, shop_id)
            if version is None:
                return self._install(key, ShopEntry(0, None, "*", now), force=True)
            if current is not None and current.shop is not None and current.version == version:
                current.checked_at = now
                return current
            loaded = self._source.load_settings(tenant_id, shop_id)
            if loaded is None:
                return self._install(key, ShopEntry(0, None, "*", now), force=True)
            version, settings = loaded
            return self._install(key, self._build(version, settings, now))
        finally:
            if current is not None:
                current.refreshing = False

    def install(self, tenant_id: int, shop_id: int, version: int, shop: ShopChecker, mask_char: str) -> ShopEntry:
        """Put freshly stored settings in force here at once (after a PUT)."""
        return self._install((tenant_id, shop_id), ShopEntry(version, shop, mask_char, self._clock()))

    @staticmethod
    def build(settings: ShopSettings, version: int = 0) -> ShopChecker:
        """A checker for settings (validates them: unknown rule ids raise ShopSettingsError)."""
        return ShopChecker(settings, by=f"settings v{version}")

    def forget(self, tenant_id: int, shop_id: int) -> None:
        with self._lock:
            self._entries.pop((tenant_id, shop_id), None)

    def _build(self, version: int, settings: ShopSettings, now: float) -> ShopEntry:
        return ShopEntry(version, self.build(settings, version), settings.mask_char, now)

    def _install(self, key: tuple[int, int], entry: ShopEntry, force: bool = False) -> ShopEntry:
        with self._lock:
            current = self._entries.get(key)
            # a slow refresh that read an older version must not undo a newer install
            if not force and current is not None and current.shop is not None and current.version > entry.version:
                current.checked_at = max(current.checked_at, entry.checked_at)
                return current
            if current is None and len(self._entries) >= self._max:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = entry
            return entry


# ---------------------------------------------------------------------------- running a check
class _Reuse:
    """A checker view that answers the first check of `text` with the result already computed, so
    the rewrite does not check the message a second time."""

    __slots__ = ("_checker", "_result", "_text", "platform")

    def __init__(self, checker: Checker | ShopChecker, text: str, result: CheckResult) -> None:
        self._checker, self._text, self._result, self.platform = checker, text, result, checker.platform

    def check(self, text: str) -> CheckResult:
        result = self._result
        if result is not None and text == self._text:
            self._result = None
            return result
        return self._checker.check(text)


def _finding(f: Finding) -> dict[str, Any]:
    return f.model_dump(mode="json")


def message_result(checker: Checker | ShopChecker, text: str, *, want_rewrite: bool, mask_char: str = "*",
                   ident: str | None = None) -> tuple[dict[str, Any], CheckResult]:
    """The JSON of one checked message, and the CheckResult (for alerts)."""
    result = checker.check(text)
    findings = result.findings
    worst = None
    if findings:
        worst = max((f.severity for f in findings), key=lambda s: s.rank).value
    out: dict[str, Any] = {"text": text, "ok": not findings, "worst": worst,
                           "findings": [_finding(f) for f in findings]}
    if ident is not None:
        out = {"id": ident, **out}
    if want_rewrite:
        if not findings:
            out["rewrite"] = {"text": text, "changed": False, "complete": True, "unfixed": []}
        else:
            # the findings are dumped above: the rewrite may read but not change them
            fixed = rewrite(text, checker.platform, checker=_Reuse(checker, text, result),  # type: ignore[arg-type]
                            mask_char=mask_char)
            out["rewrite"] = {"text": fixed.text, "changed": fixed.text != text, "complete": fixed.complete,
                              "unfixed": [f.rule_id for f in fixed.unfixed]}
    return out, result


def run_checks(checker: Checker | ShopChecker, items: Sequence[tuple[str, str | None]], *, want_rewrite: bool,
               mask_char: str) -> tuple[list[dict[str, Any]], list[tuple[int, CheckResult]]]:
    """Check a batch; the JSON per message and the results that carry a critical finding."""
    out: list[dict[str, Any]] = []
    critical: list[tuple[int, CheckResult]] = []
    for i, (text, ident) in enumerate(items):
        data, result = message_result(checker, text, want_rewrite=want_rewrite, mask_char=mask_char, ident=ident)
        out.append(data)
        if data["worst"] == "critical":
            critical.append((i, result))
    return out, critical
