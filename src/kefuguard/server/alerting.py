"""The alert dispatcher's two storage protocols, on storage's alert_webhooks / alert_deliveries.

`StoreWebhooks.webhooks_for(tenant)` (kefuguard.alerts.WebhookDirectory) reads a tenant's
enabled robots (remembered for a few seconds; the webhook endpoints forget them on a change).
`StoreDeliveryLog.record(delivery)` (kefuguard.alerts.DeliveryLog) stores each delivery with the
dispatcher's outcome (sent, failed, deduplicated, rate_limited) as its status.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from kefuguard.alerts.model import Delivery, Webhook
from kefuguard.storage.db import Database
from kefuguard.storage.models import DELIVERY_STATUSES, AlertDelivery, AlertWebhook

log = logging.getLogger("kefuguard.server")


def webhook_model(row: AlertWebhook) -> Webhook:
    return Webhook(id=str(row.id), tenant=str(row.tenant_id), kind=row.kind, url=row.url, secret=row.secret,
                   enabled=row.enabled, name=row.label or "")


class StoreWebhooks:
    def __init__(self, db: Database, ttl: float = 5.0) -> None:
        self.db, self.ttl = db, ttl
        self._cache: dict[str, tuple[float, list[Webhook]]] = {}
        self._lock = threading.Lock()

    def webhooks_for(self, tenant: str) -> Sequence[Webhook]:
        now = time.monotonic()
        hit = self._cache.get(tenant)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            tenant_id = int(tenant)
        except ValueError:
            return []
        with self.db.session() as s:
            rows = s.scalars(select(AlertWebhook).where(AlertWebhook.tenant_id == tenant_id,
                                                        AlertWebhook.enabled.is_(True)).order_by(AlertWebhook.id))
            hooks = []
            for row in rows:
                try:
                    hooks.append(webhook_model(row))
                except ValueError:  # a row the model refuses (a bad URL written by hand): skipped
                    log.warning("webhook %s of tenant %s is invalid; skipped", row.id, tenant_id)
        with self._lock:
            self._cache[tenant] = (now + self.ttl, hooks)
        return hooks

    def known_empty(self, tenant: str) -> bool:
        """True when the tenant was recently seen to have no enabled webhook (no I/O): the server
        then skips building alert events at all."""
        hit = self._cache.get(tenant)
        return hit is not None and not hit[1] and hit[0] > time.monotonic()

    def forget(self, tenant: str) -> None:
        with self._lock:
            self._cache.pop(tenant, None)


class StoreDeliveryLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, delivery: Delivery) -> None:
        outcome = str(delivery.status)
        error = delivery.last_error
        payload: dict[str, Any] = {
            "status": outcome, "robot": str(delivery.robot), "url": delivery.url, "event_id": delivery.event_id,
            "event_kind": str(delivery.event_kind), "dedupe_key": delivery.dedupe_key, "subject": delivery.subject,
            "shop": delivery.shop, "http_status": delivery.http_status, "body": delivery.payload,
            "finished_at": delivery.finished_at.isoformat(),
        }
        with self.db.session(immediate=True) as s:
            s.add(AlertDelivery(
                tenant_id=int(delivery.tenant), webhook_id=int(delivery.webhook_id),
                event_key=delivery.event_id[:200], status=outcome if outcome in DELIVERY_STATUSES else "failed",
                attempts=delivery.attempts, last_error=error, payload=payload, created_at=delivery.created_at,
                sent_at=delivery.finished_at if outcome == "sent" else None,
            ))
