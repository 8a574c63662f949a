"""Events that could not be published, parked and resent: nothing is dropped silently.

`events.publish_safely` (the lease path, the Vonage webhooks) never lets a bus failure
break its caller; what EventBridge did not take is parked in the `parked-events` table
(one PutItem per event, only on failure). `drain` resends parked events to the bus the
configuration names now, oldest first, in PutEvents batches of 10, and deletes what was
taken; what fails again stays, with its attempts counted, until it expires (PARK_DAYS).
Deployed it runs every minute (`drain_parked_events`); locally the worker runs it.
A parked event may reach the bus twice if its delete fails after a resend: consumers
are idempotent per event, partners' rules should be too (docs/events.md).
"""
from __future__ import annotations

import time
import uuid
from typing import Any, Dict, Iterable, List, Mapping

from chalice import Blueprint, Rate

from chalicelib import aws, config
from chalicelib.db import ttl
from chalicelib.integrations.models import ParkedEvent
from chalicelib.observability import count, logger

PARK_DAYS = 7
BATCH = 10
DRAIN_LIMIT = 500

bp = Blueprint(__name__)


def park(entries: Iterable[Mapping[str, Any]], error: str, now: float = None) -> int:
    """Keep PutEvents entries the bus did not take; returns how many were parked. A
    failure to park is logged and counted (EventsLost): the only way an event is lost."""
    now = time.time() if now is None else now
    parked = 0
    for e in entries:
        try:
            ParkedEvent(uuid.uuid4().hex, detail_type=e["DetailType"], detail=e["Detail"], parked_at=now,
                        last_error=error[:500], expires=ttl(now + PARK_DAYS * 86400)).save()
            parked += 1
        except Exception:  # noqa: BLE001 — DynamoDB down too: say so loudly, nothing else to do
            logger.exception("event lost: neither published nor parked", extra={"detail_type": e.get("DetailType")})
            count("EventsLost")
    if parked:
        count("EventsParked", parked)
    return parked


def drain(limit: int = DRAIN_LIMIT, events_client: Any = None) -> Dict[str, int]:
    """Resend parked events (oldest first); returns {"sent", "failed"}."""
    from chalicelib.integrations import events

    items = sorted(ParkedEvent.scan(limit=limit), key=lambda p: p.parked_at)
    done = {"sent": 0, "failed": 0}
    if not items:
        return done
    client = events_client or aws.client("events")
    for start in range(0, len(items), BATCH):
        chunk = items[start:start + BATCH]
        entries = [{"Source": events.SOURCE, "DetailType": p.detail_type, "Detail": p.detail,
                    "EventBusName": config.event_bus_name()} for p in chunk]
        try:
            events.send(entries, client)
            failed: List[Dict[str, Any]] = []
        except events.PublishFailed as err:            # some entries refused: they stay
            failed = err.failed
        except Exception as err:  # noqa: BLE001 — the bus is still away: try the rest next run
            _failed(chunk, str(err))
            done["failed"] += len(chunk)
            break
        refused = {(f["DetailType"], f["Detail"]): f.get("ErrorCode") or "?" for f in failed}
        for p in chunk:
            if (p.detail_type, p.detail) in refused:
                _failed([p], refused[(p.detail_type, p.detail)])
                done["failed"] += 1
            else:
                p.delete()
                done["sent"] += 1
    if done["sent"]:
        count("EventsUnparked", done["sent"])
        logger.info("parked events resent", extra=done)
    return done


def _failed(items: List[ParkedEvent], error: str) -> None:
    for p in items:
        p.update(actions=[ParkedEvent.attempts.add(1), ParkedEvent.last_error.set(error[:500])])


@bp.schedule(Rate(1, unit=Rate.MINUTES))
def drain_parked_events(event) -> Dict[str, int]:
    return drain()
