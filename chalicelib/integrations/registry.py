"""The consumers of the `calltrack` bus: one entry per consumer, one queue each.

Adding a consumer (e.g. `hubspot`, `bidding`, `bi`, `analytics`)
-----------------------------------------------------------------
1. Write `handle(event: dict) -> None` in its own module (`chalicelib/integrations/hubspot.py`).
   `event` is the EventBridge event exactly as the rule delivered it:
   `{"id", "detail-type", "source": "calltrack", "time", "account", "region", "resources",
   "detail": {...}}` — `detail` is the schema-validated detail (schemas/*.v1.json).
   The handler:
   - returns normally when the work is done, or when there is nothing to do for this account
     (section not configured, filtered out): the message is deleted;
   - raises `errors.RetryableError` for transient failures (network, 5xx, 429): the message
     comes back with exponential backoff, then goes to the consumer's DLQ;
   - raises `errors.PermanentError` when retrying cannot help (vendor 4xx, invalid data):
     the message goes to the DLQ at once, with the reason;
   - need not be idempotent for the whole event: the framework claims `<consumer>#<event key>` (idempotency.content_key: type + detail hash)
     before calling it and skips events already handled. When one event fans out to several
     side effects (one per subscription, contact + deal…), wrap each in
     `idempotency.once(f"{name}#{idempotency.content_key(event)}#{part}")` so a retry redoes only what failed.
   - reads the caller's number, when needed, with `calls.store.get_call` (the event carries
     `caller: null` unless the account's pii_policy is `plain`).
   - reads its configuration with `accounts.get_account(event["detail"]["account_id"]).config`.
2. Add a `Consumer(...)` line to `CONSUMERS` below: name, "module:function", the detail types.
3. Run `python -m chalicelib.integrations.bus --write-infra` to regenerate `infra/events.json`
   (a test fails while it is stale). The SQS Lambda handler (`consume_<name>`), the rule,
   queue, DLQ and redrive policy follow from this entry: nothing else to wire.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple

from chalicelib.integrations.events import DETAIL_TYPES, SOURCE

Handler = Callable[[Dict[str, Any]], None]
QUEUE_PREFIX = "calltrack-"


@dataclass(frozen=True)
class Consumer:
    name: str                               # [a-z0-9_]+; names the queue, rule and Lambda
    handler: str                            # "package.module:function"
    detail_types: Tuple[str, ...]           # what its rule matches (source calltrack)
    description: str = ""
    max_receive_count: int = 5              # deliveries before SQS moves a message to the DLQ
    visibility_timeout: int = 360           # seconds; AWS advises 6× the Lambda timeout (60 s)
    batch_size: int = 10
    extra_pattern: Dict[str, Any] = field(default_factory=dict)  # more detail matching, if any

    @property
    def queue(self) -> str:
        return f"{QUEUE_PREFIX}{self.name.replace('_', '-')}"

    @property
    def dlq(self) -> str:
        return f"{self.queue}-dlq"

    @property
    def rule(self) -> str:
        return f"{QUEUE_PREFIX}{self.name.replace('_', '-')}"

    @property
    def lambda_name(self) -> str:
        return f"consume_{self.name}"

    def event_pattern(self) -> Dict[str, Any]:
        pattern: Dict[str, Any] = {"source": [SOURCE], "detail-type": list(self.detail_types)}
        if self.extra_pattern:
            pattern["detail"] = self.extra_pattern
        return pattern

    def load_handler(self) -> Handler:
        module, _, function = self.handler.partition(":")
        return getattr(importlib.import_module(module), function)


CONSUMERS: Dict[str, Consumer] = {c.name: c for c in (
    Consumer("ga4", "chalicelib.integrations.ga4:handle", ("Call Completed", "Call Tagged", "Call Analyzed"),
             "GA4 Measurement Protocol: one event per call class plus phone_call; value updates; qualified_lead"),
    Consumer("webhooks", "chalicelib.integrations.webhooks:handle",
             tuple(t for t in DETAIL_TYPES if t not in ("Session Started", "Call Transcribed")),
             "CRM webhooks: signed JSON to each account's subscriptions"),
    Consumer("hubspot", "chalicelib.integrations.hubspot:handle", ("Call Completed", "Call Analyzed"),
             "HubSpot CRM: contact, deal or note, call-back task for missed calls; the lead score and summary"),
    Consumer("bidding", "chalicelib.integrations.bidding:handle", ("Call Completed", "Call Tagged"),
             "Bid management: Google Ads / Microsoft Ads offline conversions"),
    Consumer("bi", "chalicelib.integrations.bi:handle", ("Call Completed", "Call Tagged"),
             "BI export: one NDJSON record per call in S3"),
    Consumer("analytics", "chalicelib.integrations.analytics:handle", ("Call Completed",),
             "User analytics: Segment / Kissmetrics / Woopra track calls"),
    Consumer("recordings", "chalicelib.reports.archive:handle", ("Call Recorded",),
             "Recordings archive: copy each announced recording from Vonage to the encrypted S3 bucket",
             visibility_timeout=900),
    Consumer("intelligence", "chalicelib.intelligence.consumer:handle", ("Call Transcribed",),
             "Conversation intelligence: read, redact, store and score an announced transcript"),
)}


def get(name: str) -> Consumer:
    try:
        return CONSUMERS[name]
    except KeyError:
        raise KeyError(f"unknown consumer {name!r}; known: {', '.join(sorted(CONSUMERS))}") from None


def by_queue(queue: str) -> Optional[Consumer]:
    return next((c for c in CONSUMERS.values() if c.queue == queue), None)
