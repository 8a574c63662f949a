"""CRM webhooks: signed JSON deliveries of call moments to each account's subscriptions.

Config section `webhooks` (WEBHOOKS_SCHEMA): a list of subscriptions
`{id, url, events: [moment…], filters: {status: [...], min_talk_seconds, source: [...]},
secret | secret_parameter, include_caller, enabled}`.

Moments: call_started (before routing: screen-pop), call_routed, call_completed,
call_tagged, callback_requested, callback_completed. Filters apply to the moments whose
event carries the field (`status` and `talk_seconds`: call_completed and
callback_completed; `source`: call_started, call_completed, callback_requested; `spam`:
call_completed, whose spam calls are left out unless the filter asks for them). A
subscription with `schema_version: 1` gets call_completed's data as version 1.

Each delivery is a POST of `body(...)` with headers
- `X-Calltrack-Timestamp`: unix seconds when it was signed,
- `X-Calltrack-Signature`: hex HMAC-SHA256 of `"<timestamp>.<raw body>"` with the secret,
- `Idempotency-Key`: `<event id>.<subscription id>`, the same on every retry and replay.
A 2xx is success; network failures, 408/425/429 and 5xx are retried with exponential
backoff (SQS redelivery) and end in the DLQ; other answers go to the DLQ at once. Each
subscription's delivery is claimed separately (idempotency.once), so a retry re-sends only
to the subscriptions that failed, and each attempt is kept in the delivery log.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from chalicelib import accounts, db
from chalicelib.errors import BadRequest, NotFound, UnknownAccount
from chalicelib.integrations import idempotency, outbound, parameters
from chalicelib.integrations.errors import PermanentError, RetryableError
from chalicelib.integrations.models import WebhookDelivery
from chalicelib.observability import count, logger
from chalicelib.times import iso_ms
from chalicelib.vocabulary import FINAL_STATUSES

MOMENTS = {
    "Call Started": "call_started",
    "Call Routed": "call_routed",
    "Call Completed": "call_completed",
    "Call Tagged": "call_tagged",
    "Callback Requested": "callback_requested",
    "Callback Completed": "callback_completed",
}
SIGNATURE_HEADER = "X-Calltrack-Signature"
TIMESTAMP_HEADER = "X-Calltrack-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
LOG_DAYS = 30
STATUSES = list(FINAL_STATUSES)

SUBSCRIPTION_SCHEMA: Dict[str, Any] = {
    "type": "object",
    "required": ["id", "url", "events"],
    "anyOf": [{"required": ["secret"]}, {"required": ["secret_parameter"]}],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,39}$"},
        "url": {"type": "string", "pattern": "^https?://[^\\s]+$", "maxLength": 2000},
        "events": {"type": "array", "minItems": 1, "uniqueItems": True,
                   "items": {"enum": sorted(MOMENTS.values())}},
        "filters": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "status": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": STATUSES}},
                "min_talk_seconds": {"type": "number", "minimum": 0},
                "source": {"type": "array", "minItems": 1, "uniqueItems": True,
                           "items": {"type": "string", "minLength": 1, "maxLength": 100}},
                # Completed spam calls (calls/spam.py): left out (default), with the rest, or alone.
                "spam": {"enum": ["exclude", "include", "only"]},
            },
        },
        # The `call_completed` data's schema version: the newest (default) or 1, kept for
        # receivers written against it (docs/events.md).
        "schema_version": {"enum": [1, 2]},
        "secret": {"type": "string", "minLength": 16, "maxLength": 200},
        "secret_parameter": {"type": "string", "pattern": "^/calltrack/[A-Za-z0-9_./-]{1,200}$"},
        "include_caller": {"type": "boolean"},
        "enabled": {"type": "boolean"},
        "description": {"type": "string", "maxLength": 200},
    },
}
WEBHOOKS_SCHEMA: Dict[str, Any] = {"type": "array", "maxItems": 20, "items": SUBSCRIPTION_SCHEMA}


# ---------------------------------------------------------------- matching

def matches(subscription: Mapping[str, Any], moment: str, detail: Mapping[str, Any]) -> bool:
    if subscription.get("enabled") is False or moment not in subscription.get("events", []):
        return False
    filters = subscription.get("filters") or {}
    if filters.get("status") and "status" in detail and detail["status"] not in filters["status"]:
        return False
    if "min_talk_seconds" in filters and "talk_seconds" in detail \
            and (detail.get("talk_seconds") or 0) < filters["min_talk_seconds"]:
        return False
    if filters.get("source") and "source" in detail and detail.get("source") not in filters["source"]:
        return False
    if "spam" in detail:
        mode = filters.get("spam") or "exclude"
        if (mode == "exclude" and detail["spam"]) or (mode == "only" and not detail["spam"]):
            return False
    return True


def subscriptions_for(account_id: str, moment: str, detail: Mapping[str, Any]) -> List[Dict[str, Any]]:
    try:
        subs = accounts.get_account(account_id).config.get("webhooks") or []
    except UnknownAccount:
        return []  # the account was deleted: nobody to deliver to
    return [s for s in subs if matches(s, moment, detail)]


# ---------------------------------------------------------------- body and signature

def body(event: Mapping[str, Any], subscription: Mapping[str, Any], data: Mapping[str, Any]) -> bytes:
    doc = {
        "id": f"{event['id']}.{subscription['id']}",
        "event_id": event["id"],
        "event": MOMENTS[event["detail-type"]],
        "detail_type": event["detail-type"],
        "occurred_at": event.get("time"),
        "account_id": data.get("account_id"),
        "subscription_id": subscription["id"],
        "schema_version": data.get("schema_version", 1),
        "data": data,
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def sign(secret: str, timestamp: int, raw_body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, raw_body: bytes, signature: str, now: float, tolerance: int = 300) -> bool:
    """What a receiver does (documented in docs/integrations.md; used by the tests' stub)."""
    try:
        fresh = abs(now - int(timestamp)) <= tolerance
    except (TypeError, ValueError):
        return False
    return fresh and hmac.compare_digest(sign(secret, int(timestamp), raw_body), signature or "")


def idempotency_key(event_id: str, subscription_id: str) -> str:
    return f"{event_id}.{subscription_id}"


def secret_of(subscription: Mapping[str, Any]) -> str:
    if subscription.get("secret"):
        return str(subscription["secret"])
    if subscription.get("secret_parameter"):
        return parameters.secret(subscription["secret_parameter"])
    raise PermanentError(f"webhook {subscription.get('id')}: no secret configured")


def with_caller(detail: Dict[str, Any], subscription: Mapping[str, Any]) -> Dict[str, Any]:
    """Opted-in subscriptions get the caller's number (events carry it hashed only)."""
    if not subscription.get("include_caller") or detail.get("caller") or not detail.get("call_id"):
        return detail
    try:
        from chalicelib.calls import store
        call = store.get_call(detail["account_id"], detail["call_id"])
    except NotFound:
        return detail
    return {**detail, "caller": call.get("caller")}


# ---------------------------------------------------------------- delivery

def deliver(event: Mapping[str, Any], subscription: Mapping[str, Any], clock: Callable[[], float] = time.time,
            attempt: int = 1) -> int:
    """POST one event to one subscription, log the attempt; raise Retryable/PermanentError."""
    detail = with_caller(dict(event["detail"]), subscription)
    if subscription.get("schema_version") == 1 and event["detail-type"] == "Call Completed":
        from chalicelib.calls.outbox import completed_v1

        detail = completed_v1(detail)
    raw = body(event, subscription, detail)
    stamp = int(clock())
    key = idempotency_key(event["id"], subscription["id"])
    headers = {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(secret_of(subscription), stamp, raw),
               IDEMPOTENCY_HEADER: key}
    started = time.monotonic()
    status: Optional[int] = None
    error: Optional[str] = None
    try:
        status, _ = outbound.post(subscription["url"], raw, headers)
        if outbound.is_retryable_status(status):
            error = outbound.reason(status)
            raise RetryableError(f"webhook {subscription['id']} answered {status}")
        if not 200 <= status < 300:
            error = outbound.reason(status)     # the status, never the target's body
            raise PermanentError(f"webhook {subscription['id']} answered {status}")
        return status
    except (RetryableError, PermanentError) as err:
        error = error or str(err)
        raise
    finally:
        log_attempt(event, subscription, key, status, error, int((time.monotonic() - started) * 1000), clock(), attempt)


def log_attempt(event: Mapping[str, Any], subscription: Mapping[str, Any], key: str, status: Optional[int],
                error: Optional[str], duration_ms: int, at: float, attempt: int) -> None:
    account_id = event["detail"]["account_id"]
    try:
        WebhookDelivery(
            f"{account_id}#{subscription['id']}", f"{int(at * 1000):015d}#{event['id']}#{uuid.uuid4().hex[:6]}",
            event_id=event["id"], moment=MOMENTS[event["detail-type"]], url=outbound.where(subscription["url"]),
            attempted_at=at,
            attempt=attempt, ok=error is None, status_code=status, error=(error or None) and error[:500],
            duration_ms=duration_ms, idempotency_key=key, expires=db.ttl(at + LOG_DAYS * 86400),
        ).save()
    except Exception:  # noqa: BLE001 — the log must never turn a delivery into a failure
        logger.exception("delivery log write failed", extra={"subscription": subscription["id"]})


def handle(event: Dict[str, Any], clock: Callable[[], float] = time.time) -> None:
    """Consumer entry point (registry `webhooks`): deliver to every matching subscription."""
    moment = MOMENTS.get(event.get("detail-type", ""))
    if moment is None:
        return
    detail = event["detail"]
    failures: List[Exception] = []
    for sub in subscriptions_for(detail["account_id"], moment, detail):
        try:
            # Keyed like the consumer's own claim (type + detail), so a subscription already
            # served is not served again when the event comes back under a new id; the claim
            # counts the attempts, across SQS redeliveries and DLQ replays alike.
            with idempotency.attempt(f"webhooks#{idempotency.content_key(event)}#{sub['id']}", clock) as number:
                if number is not None:
                    deliver(event, sub, clock, attempt=number)
                    count("WebhookDelivered")
        except (RetryableError, PermanentError) as err:
            count("WebhookFailed")
            failures.append(err)
    if any(not isinstance(f, PermanentError) for f in failures):
        raise RetryableError("; ".join(map(str, failures)))
    if failures:
        raise PermanentError("; ".join(map(str, failures)))


CURSOR_PATTERN = re.compile(r"^[0-9]{15}#[A-Za-z0-9._#:-]{1,300}$")


def deliveries(account_id: str, subscription_id: str, limit: int = 50, cursor: Optional[str] = None,
               outcome: Optional[str] = None) -> Tuple[List[Dict[str, Any]], Optional[str]]:
    """One page of the subscription's delivery log, newest first, and the cursor of the next
    page (None at the end). `outcome`: `ok` or `failed` attempts only."""
    if not any(s.get("id") == subscription_id for s in accounts.get_account(account_id).config.get("webhooks") or []):
        raise NotFound(f"no webhook subscription '{subscription_id}'")
    after = _cursor_key(cursor) if cursor is not None else None
    condition = WebhookDelivery.attempt_key < after if after else None
    wanted = None if outcome is None else outcome == "ok"
    out: List[Dict[str, Any]] = []
    last: Optional[str] = None
    for item in WebhookDelivery.query(f"{account_id}#{subscription_id}", range_key_condition=condition,
                                      scan_index_forward=False, page_size=min(100, limit * 2)):
        if wanted is not None and bool(item.ok) is not wanted:
            continue
        if len(out) == limit:
            return out, _cursor_of(last)
        out.append({
            "event_id": item.event_id, "event": item.moment, "attempted_at": _iso(item.attempted_at),
            "attempt": int(item.attempt), "ok": item.ok,
            "status_code": int(item.status_code) if item.status_code is not None else None,
            "error": item.error, "duration_ms": int(item.duration_ms), "url": outbound.where(item.url),
            "idempotency_key": item.idempotency_key,
        })
        last = item.attempt_key
    return out, None


def _cursor_of(attempt_key: Optional[str]) -> Optional[str]:
    """An opaque, URL-safe cursor: the last attempt a page showed."""
    return base64.urlsafe_b64encode(attempt_key.encode()).decode().rstrip("=") if attempt_key else None


def _cursor_key(cursor: str) -> str:
    try:
        key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as err:
        raise BadRequest("next: not a cursor this API gave") from err
    if not CURSOR_PATTERN.match(key):
        raise BadRequest("next: not a cursor this API gave")
    return key


def _iso(epoch: float) -> str:
    return iso_ms(epoch)
