"""Calls' events on the bus. Publishing never breaks a webhook answer (the integrations
module logs and counts delivery failures); it is imported lazily so the calls domain
works while the bus is unavailable."""
from __future__ import annotations

from typing import Any, Dict, Iterable, Mapping, Tuple

from chalicelib.observability import count, logger


def publish(detail_type: str, detail: Mapping[str, Any]) -> None:
    publish_many([(detail_type, detail)])


def publish_many(items: Iterable[Tuple[str, Mapping[str, Any]]]) -> None:
    items = list(items)
    if not items:
        return
    try:
        from chalicelib.integrations import events
    except ImportError:  # the integrations package is optional for the calls domain
        logger.warning("events module missing; not published", extra={"types": [t for t, _ in items]})
        count("EventsPublishFailed", len(items))
        return
    events.publish_safely(items)


def without_pii(call: Dict[str, Any], pii_policy: str) -> Dict[str, Any]:
    """Partners get the caller number only when the account opted in (`pii_policy: plain`)."""
    return call if pii_policy == "plain" else {**call, "caller": None}
