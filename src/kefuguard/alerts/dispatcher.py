"""Sending alerts without ever holding up the request that raised them.

`AlertDispatcher.submit(event)` only counts the event and hands it to an asyncio loop running on
the dispatcher's own daemon thread; it never blocks on the network, the database or a lock held
across I/O, and never raises. Past `max_queue` events in flight it drops the new one (counted in
`stats()["dropped"]`, logged). On the loop, each event is matched to its tenant's enabled
webhooks (`WebhookDirectory`, called in a worker thread because storage may block) and, per
webhook:

1. de-duplicated: the same `dedupe_key` sent to this webhook within the window (default 10 min)
   is recorded as `deduplicated` and not sent; a delivery that finally fails frees its key;
2. rate-limited: past the webhook's budget (default 20 in any 60 s, the 企业微信/钉钉 robot limit)
   it is recorded as `rate_limited` and not sent — sending anyway would only get the robot
   throttled for longer;
3. sent with httpx (at most `max_concurrency` requests at once), retried with exponential backoff
   and jitter (`RetryPolicy`) on network errors, timeouts, HTTP 5xx and 429 (honouring
   Retry-After) and the robots' busy / frequency-limit codes; other answers (bad key, bad
   signature, keyword check) fail at once;
4. recorded, whatever happened, through `DeliveryLog.record(delivery)` (in a worker thread).

`flush(timeout)` waits until everything submitted so far is finished; `close()` stops taking
events, drains for a while, cancels what is left (recorded as failed) and stops the thread.
`clock` (monotonic seconds: dedupe, rate limits) and `sleep` (an async backoff sleep) are
injectable, so tests run retries and windows without waiting. Neither the webhook URL (it holds
the key) nor the secret is ever logged or recorded: deliveries carry `redact_url(url)` and
errors are scrubbed of both.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import httpx

from kefuguard.alerts.model import AlertEvent, Delivery, DeliveryStatus, Webhook, redact_url
from kefuguard.alerts.robots import Outcome, build_body, interpret, prepare

logger = logging.getLogger("kefuguard.alerts")


class _RedactUrls(logging.Filter):
    """httpx logs every request's full URL at INFO ("HTTP Request: POST https://…?key=…"); a robot
    URL carries its key or token, and a DingTalk URL its signature. This filter, put on the "httpx"
    logger once a dispatcher exists, rewrites URLs in those records with `redact_url` (only
    key/access_token/token/sign/timestamp/secret values and /hook/ tokens change)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(redact_url(str(a)) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


_REDACT_FILTER = _RedactUrls()


def _redact_httpx_logs() -> None:
    httpx_logger = logging.getLogger("httpx")
    if _REDACT_FILTER not in httpx_logger.filters:
        httpx_logger.addFilter(_REDACT_FILTER)


@runtime_checkable
class DeliveryLog(Protocol):
    """Where deliveries are persisted (storage's alert_deliveries). Called from a worker thread,
    one call per delivery, possibly concurrently: an implementation must be thread-safe (e.g. a
    fresh SQLAlchemy session per call). Exceptions are logged and otherwise ignored."""

    def record(self, delivery: Delivery) -> None: ...


@runtime_checkable
class WebhookDirectory(Protocol):
    """A tenant's webhooks (storage's alert_webhooks). Called from a worker thread per event."""

    def webhooks_for(self, tenant: str) -> Sequence[Webhook]: ...


class StaticWebhooks:
    """A fixed list of webhooks, each used for its own tenant's events."""

    def __init__(self, webhooks: Iterable[Webhook]) -> None:
        self._webhooks = tuple(webhooks)

    def webhooks_for(self, tenant: str) -> Sequence[Webhook]:
        return [w for w in self._webhooks if w.tenant == tenant]


class InMemoryDeliveryLog:
    """Thread-safe list of deliveries (tests, or a server without storage)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Delivery] = []

    def record(self, delivery: Delivery) -> None:
        with self._lock:
            self._items.append(delivery)

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._items)

    def by_status(self, status: DeliveryStatus | str) -> list[Delivery]:
        return [d for d in self.deliveries if d.status == status]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempt n (1-based) failing retryably waits min(max_delay, base_delay · multiplier^(n-1)),
    scaled by a random factor in [1 - jitter, 1] ("equal jitter" when jitter is 0.5); a robot's
    Retry-After replaces the computed delay (capped at max_delay). At most `max_attempts` tries."""

    max_attempts: int = 5
    base_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 60.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_delay < 0 or self.multiplier < 1 or not 0 <= self.jitter <= 1:
            raise ValueError("invalid retry policy")

    def delay(self, attempt: int, rand: float = 1.0, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(self.max_delay, retry_after)
        base = min(self.max_delay, self.base_delay * self.multiplier ** (attempt - 1))
        return base * (1 - self.jitter * (1 - rand))


@dataclass(slots=True)
class _Stats:
    submitted: int = 0
    accepted: int = 0
    sent: int = 0
    failed: int = 0
    deduplicated: int = 0
    rate_limited: int = 0
    retries: int = 0
    log_errors: int = 0


class AlertDispatcher:
    """Background sender of alert events to tenants' group-chat robots. Thread-safe.

    webhooks: a WebhookDirectory, or an iterable of Webhook (wrapped in StaticWebhooks).
    log: a DeliveryLog (default: an InMemoryDeliveryLog, available as `.log`).
    max_queue: events accepted but not finished, beyond which submit() drops.
    dedupe_window: seconds; rate_limit: sends per `rate_period` seconds per webhook (a webhook's
    own `rate_limit_per_minute` wins). timeout: seconds per HTTP request.
    clock: monotonic seconds. sleep: `async def sleep(seconds)` for backoff. wall: epoch seconds
    (signature timestamps, delivery times). rand: a float in [0, 1) for jitter.
    transport / trust_env: passed to httpx.AsyncClient (trust_env: honour HTTPS_PROXY etc.).
    """

    def __init__(
        self,
        webhooks: WebhookDirectory | Iterable[Webhook],
        log: DeliveryLog | None = None,
        *,
        max_queue: int = 1000,
        dedupe_window: float = 600.0,
        rate_limit: int = 20,
        rate_period: float = 60.0,
        retry: RetryPolicy | None = None,
        timeout: float = 5.0,
        max_concurrency: int = 8,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        wall: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        transport: httpx.AsyncBaseTransport | None = None,
        trust_env: bool = True,
        max_dedupe_keys: int = 100_000,
    ) -> None:
        if max_queue < 1 or rate_limit < 1 or rate_period <= 0 or max_concurrency < 1:
            raise ValueError("max_queue, rate_limit, rate_period and max_concurrency must be positive")
        self.directory: WebhookDirectory = (
            webhooks if isinstance(webhooks, WebhookDirectory) else StaticWebhooks(webhooks)
        )
        self.log: DeliveryLog = log if log is not None else InMemoryDeliveryLog()
        self.max_queue = max_queue
        self.dedupe_window = dedupe_window
        self.rate_limit = rate_limit
        self.rate_period = rate_period
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._clock = clock
        self._sleep = sleep or asyncio.sleep
        self._wall = wall
        self._rand = rand
        self._max_concurrency = max_concurrency
        self._max_dedupe_keys = max_dedupe_keys
        self._transport = transport
        self._trust_env = trust_env

        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._closing = False
        self._closed = False
        self._stats = _Stats()
        self._dropped: dict[str, int] = {}
        # loop-thread state (touched only on the loop)
        self._dedupe: dict[tuple[str, str], float] = {}
        self._sent_at: dict[str, deque[float]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

        _redact_httpx_logs()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="kefuguard-alerts", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):  # pragma: no cover - the thread only creates a loop and a client
            raise RuntimeError("alert dispatcher thread did not start")

    # ----------------------------------------------------------------------------------------------
    # Caller side (any thread)

    def submit(self, event: AlertEvent) -> bool:
        """Queue an event; True if accepted. Never blocks on I/O, never raises."""
        try:
            if not isinstance(event, AlertEvent):
                self._drop("invalid", event)
                return False
            with self._lock:
                self._stats.submitted += 1
                if self._closing:
                    reason = "closed"
                elif self._pending >= self.max_queue:
                    reason = "queue_full"
                else:
                    reason = None
                    self._pending += 1
                    self._stats.accepted += 1
            if reason is not None:
                self._drop(reason, event)
                return False
            loop = self._loop
            try:
                assert loop is not None
                loop.call_soon_threadsafe(self._start, event)
            except Exception:  # the loop is closed: shutting down
                self._finished()
                self._drop("closed", event)
                return False
            return True
        except Exception:  # pragma: no cover - the contract is "never raises"
            with contextlib.suppress(Exception):
                logger.exception("alert submit failed")
            return False

    def submit_many(self, events: Iterable[AlertEvent]) -> int:
        """submit() each; the number accepted."""
        return sum(1 for e in events if self.submit(e))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every accepted event is finished (sent, recorded or given up); True if so."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._pending:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting, drain for up to `timeout` seconds, cancel the rest, stop the thread."""
        with self._lock:
            if self._closing:
                already = True
            else:
                already, self._closing = False, True
        if already:
            self._thread.join(timeout)
            return
        self.flush(timeout)
        loop = self._loop
        if loop is not None and self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout + 5)
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout + 5)
        self._closed = not self._thread.is_alive()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stats(self) -> dict[str, Any]:
        """Counters: submitted, accepted, pending, sent, failed, deduplicated, rate_limited,
        retries, log_errors, dropped {reason: n} (queue_full, closed, invalid, cancelled,
        webhooks_error)."""
        with self._lock:
            s = self._stats
            return {
                "submitted": s.submitted, "accepted": s.accepted, "pending": self._pending,
                "sent": s.sent, "failed": s.failed, "deduplicated": s.deduplicated,
                "rate_limited": s.rate_limited, "retries": s.retries, "log_errors": s.log_errors,
                "dropped": dict(self._dropped),
            }

    def __enter__(self) -> AlertDispatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drop(self, reason: str, event: Any) -> None:
        with self._lock:
            n = self._dropped[reason] = self._dropped.get(reason, 0) + 1
        level = logging.WARNING if n == 1 or n % 100 == 0 else logging.DEBUG
        tenant = getattr(event, "tenant", "?")
        kind = getattr(event, "kind", "?")
        logger.log(level, "alert dropped (%s): tenant=%s kind=%s; %d dropped for this reason", reason, tenant, kind, n)

    def _finished(self) -> None:
        with self._idle:
            self._pending -= 1
            if self._pending <= 0:
                self._idle.notify_all()

    def _count(self, field: str, n: int = 1) -> None:
        with self._lock:
            setattr(self._stats, field, getattr(self._stats, field) + n)

    # ----------------------------------------------------------------------------------------------
    # Loop side

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._client = httpx.AsyncClient(
            timeout=self.timeout, transport=self._transport, trust_env=self._trust_env, follow_redirects=False
        )
        self._sem = asyncio.Semaphore(self._max_concurrency)
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(self._client.aclose())
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def _start(self, event: AlertEvent) -> None:
        task = asyncio.get_running_loop().create_task(self._process(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _shutdown(self) -> None:
        tasks = [t for t in self._tasks if not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _process(self, event: AlertEvent) -> None:
        resolved = False
        try:
            try:
                hooks = await asyncio.to_thread(self.directory.webhooks_for, event.tenant)
            except Exception:
                logger.exception("alert webhooks lookup failed for tenant %s", event.tenant)
                self._drop("webhooks_error", event)
                return
            resolved = True
            targets = [w for w in hooks if w.enabled and w.tenant == event.tenant]
            if targets:
                await asyncio.gather(*(self._deliver(w, event) for w in targets))
        except asyncio.CancelledError:
            if not resolved:
                self._drop("cancelled", event)
        except Exception:  # pragma: no cover - _deliver handles its own errors
            logger.exception("alert processing failed")
        finally:
            self._finished()

    def _dedupe_active(self, key: tuple[str, str], now: float) -> bool:
        until = self._dedupe.get(key)
        if until is not None and until > now:
            return True
        if len(self._dedupe) >= self._max_dedupe_keys:
            for k in [k for k, u in self._dedupe.items() if u <= now]:
                del self._dedupe[k]
            while len(self._dedupe) >= self._max_dedupe_keys:  # all live: forget the oldest
                del self._dedupe[next(iter(self._dedupe))]
        return False

    def _rate_allows(self, webhook: Webhook, now: float) -> bool:
        limit = webhook.rate_limit_per_minute or self.rate_limit
        period = 60.0 if webhook.rate_limit_per_minute else self.rate_period
        sent = self._sent_at.setdefault(webhook.id, deque())
        while sent and sent[0] <= now - period:
            sent.popleft()
        if len(sent) >= limit:
            return False
        sent.append(now)
        return True

    async def _deliver(self, webhook: Webhook, event: AlertEvent) -> None:
        created = self._wall()
        key = (webhook.id, event.dedupe_key)
        now = self._clock()
        window = self.dedupe_window if event.dedupe_window_s is None else event.dedupe_window_s
        if self._dedupe_active(key, now):
            await self._record(webhook, event, DeliveryStatus.deduplicated, created)
            return
        if not self._rate_allows(webhook, now):
            await self._record(webhook, event, DeliveryStatus.rate_limited, created, error="webhook rate limit reached")
            return
        if window > 0:
            self._dedupe[key] = now + window
        attempts, outcome, http_status, payload = 0, Outcome(False, False, "not sent"), None, None
        try:
            body = build_body(webhook, event)
            while True:
                attempts += 1
                request = prepare(webhook, event, body, self._wall())
                payload = request.loggable_body()
                async with self._sem:
                    outcome, http_status = await self._attempt(webhook, request)
                if outcome.ok or not outcome.retry or attempts >= self.retry.max_attempts:
                    break
                self._count("retries")
                delay = self.retry.delay(attempts, self._rand(), outcome.retry_after)
                logger.info(
                    "alert to webhook %s failed (%s), retry %d in %.1fs", webhook.id, outcome.error, attempts, delay
                )
                await self._sleep(delay)
        except asyncio.CancelledError:
            self._dedupe.pop(key, None)
            error = f"cancelled at shutdown after {attempts} attempt(s); last: {outcome.error}"
            with contextlib.suppress(BaseException):
                await self._record(webhook, event, DeliveryStatus.failed, created, attempts, error, http_status, payload)
            raise
        except Exception as exc:  # a bug in rendering: never lose the record
            logger.error("alert to webhook %s could not be built: %s", webhook.id, type(exc).__name__)
            outcome = Outcome(False, False, f"{type(exc).__name__}: {self._scrub(str(exc), webhook)}")
        if outcome.ok:
            await self._record(webhook, event, DeliveryStatus.sent, created, attempts, None, http_status, payload)
            return
        self._dedupe.pop(key, None)  # a later occurrence may try again
        logger.warning("alert to webhook %s gave up after %d attempt(s): %s", webhook.id, attempts, outcome.error)
        await self._record(webhook, event, DeliveryStatus.failed, created, attempts, outcome.error, http_status, payload)

    async def _attempt(self, webhook: Webhook, request: Any) -> tuple[Outcome, int | None]:
        try:
            response = await self._client.post(
                request.url,
                content=request.content(),
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
        except httpx.TransportError as exc:  # connect/read/write errors and timeouts
            return Outcome(False, True, self._scrub(f"{type(exc).__name__}: {exc}", webhook)), None
        except Exception as exc:
            return Outcome(False, False, self._scrub(f"{type(exc).__name__}: {exc}", webhook)), None
        outcome = interpret(webhook.kind, response.status_code, response.content, response.headers)
        if outcome.error:
            outcome = Outcome(outcome.ok, outcome.retry, self._scrub(outcome.error, webhook), outcome.retry_after)
        return outcome, response.status_code

    @staticmethod
    def _scrub(text: str, webhook: Webhook) -> str:
        """Error text with the webhook's URL, key/token and secret cut out."""
        from urllib.parse import parse_qsl, urlsplit

        secrets = [webhook.url]
        parts = urlsplit(webhook.url)
        secrets += [v for _, v in parse_qsl(parts.query) if len(v) >= 6]
        secrets += [seg for seg in parts.path.split("/") if len(seg) >= 16]
        if webhook.secret_value:
            secrets.append(webhook.secret_value)
        for s in sorted(secrets, key=len, reverse=True):
            text = text.replace(s, "***")
        return text[:500]

    async def _record(
        self,
        webhook: Webhook,
        event: AlertEvent,
        status: DeliveryStatus,
        created: float,
        attempts: int = 0,
        error: str | None = None,
        http_status: int | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        self._count(status.value)
        delivery = Delivery(
            webhook_id=webhook.id,
            tenant=event.tenant,
            robot=webhook.kind,
            url=webhook.safe_url,
            event_id=event.id,
            event_kind=event.kind,
            dedupe_key=event.dedupe_key,
            subject=event.subject,
            shop=event.shop,
            status=status,
            attempts=attempts,
            last_error=error,
            http_status=http_status,
            payload=payload,
            created_at=dt.datetime.fromtimestamp(created, dt.UTC),
            finished_at=dt.datetime.fromtimestamp(self._wall(), dt.UTC),
        )
        try:
            await asyncio.to_thread(self.log.record, delivery)
        except Exception as exc:
            self._count("log_errors")
            logger.error("alert delivery log failed: %s", type(exc).__name__)
