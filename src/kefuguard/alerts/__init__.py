"""Alerts: per-tenant group-chat robot webhooks (企业微信, 钉钉, 飞书) for critical findings and
metrics below their platform threshold — de-duplicated, rate-limited, retried with backoff, sent
on a background thread so the request that raised them is never held up.

    from kefuguard.alerts import AlertDispatcher, events_from_check, events_from_metrics

    dispatcher = AlertDispatcher(directory, log)          # once, at startup
    for event in events_from_check(result, tenant=t, shop=s, agent=a):
        dispatcher.submit(event)                          # returns at once, never raises
    dispatcher.close()                                    # at shutdown

Persistence goes through two small protocols the storage layer implements:
`WebhookDirectory.webhooks_for(tenant)` and `DeliveryLog.record(delivery)`. This package imports
neither the server nor storage.
"""

from kefuguard.alerts.dispatcher import (
    AlertDispatcher,
    DeliveryLog,
    InMemoryDeliveryLog,
    RetryPolicy,
    StaticWebhooks,
    WebhookDirectory,
)
from kefuguard.alerts.events import events_from_check, events_from_metrics, metric_event
from kefuguard.alerts.model import (
    AlertEvent,
    AlertKind,
    AlertRule,
    Delivery,
    DeliveryStatus,
    MetricInfo,
    RobotKind,
    Webhook,
    redact_url,
)
from kefuguard.alerts.robots import build_body, dingtalk_sign, feishu_sign, interpret, render

__all__ = [
    "AlertDispatcher",
    "AlertEvent",
    "AlertKind",
    "AlertRule",
    "Delivery",
    "DeliveryLog",
    "DeliveryStatus",
    "InMemoryDeliveryLog",
    "MetricInfo",
    "RetryPolicy",
    "RobotKind",
    "StaticWebhooks",
    "Webhook",
    "WebhookDirectory",
    "build_body",
    "dingtalk_sign",
    "events_from_check",
    "events_from_metrics",
    "feishu_sign",
    "interpret",
    "metric_event",
    "redact_url",
    "render",
]
