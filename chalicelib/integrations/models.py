"""Integration tables: consumer receipts (idempotency) and the webhook delivery log."""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.db import meta, register


@register
class Receipt(Model):
    """One unit of consumer work, claimed by a conditional write before the side effect.

    `key` is `<consumer>#<event key>` (whole event) or `<consumer>#<event key>#<subscription>`, the key being `idempotency.content_key`
    (one delivery of a fan-out). `state` is `claimed` while a worker holds it (until
    `claimed_until`, so a crashed worker does not block redelivery forever), `failed` after
    an attempt that raised, and `done` after.
    """
    Meta = meta("integration-receipts")
    key = UnicodeAttribute(hash_key=True)
    state = UnicodeAttribute()
    claimed_until = NumberAttribute(default=0)
    done_at = NumberAttribute(null=True)
    attempts = NumberAttribute(null=True)               # claims so far (redeliveries and replays included)
    value = NumberAttribute(null=True)                  # a value the integration holds (GA4: the call's value)
    expires = TTLAttribute(null=True)


@register
class WebhookDelivery(Model):
    """One delivery attempt of one event to one webhook subscription (the delivery log)."""
    Meta = meta("webhook-deliveries")
    subscription = UnicodeAttribute(hash_key=True)      # "<account_id>#<subscription_id>"
    attempt_key = UnicodeAttribute(range_key=True)      # "<epoch ms, 15 digits>#<event id>#<n>"
    event_id = UnicodeAttribute()
    moment = UnicodeAttribute()
    url = UnicodeAttribute()
    attempted_at = NumberAttribute()
    attempt = NumberAttribute(default=1)
    ok = BooleanAttribute(default=False)
    status_code = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    duration_ms = NumberAttribute(default=0)
    idempotency_key = UnicodeAttribute()
    expires = TTLAttribute(null=True)


@register
class IntegrationStatus(Model):
    """Per account and consumer: the last delivery that worked and the last that failed
    (and why), so an operator sees a misconfigured integration in the API."""
    Meta = meta("integration-status")
    account_id = UnicodeAttribute(hash_key=True)
    consumer = UnicodeAttribute(range_key=True)
    last_success_at = NumberAttribute(null=True)
    last_error_at = NumberAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    last_error_kind = UnicodeAttribute(null=True)     # "permanent" (to the DLQ at once) | "retrying"
