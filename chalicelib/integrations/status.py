"""What the API shows of each integration of an account: the last delivery that worked, the
last that failed and why (`GET /v1/accounts/{id}/integrations`). Written by the consumer
framework after each event of an account that has the integration configured (one
UpdateItem); never turns a delivery into a failure."""
from __future__ import annotations

import time
from typing import Any, Dict, List, Optional

from chalicelib import accounts
from chalicelib.errors import UnknownAccount
from chalicelib.integrations.models import IntegrationStatus
from chalicelib.observability import logger
from chalicelib.times import iso

# The configuration sections that switch each consumer on for an account.
SECTIONS = {"ga4": ("ga4",), "webhooks": ("webhooks",), "hubspot": ("hubspot",),
            "bidding": ("google_ads", "microsoft_ads"), "bi": ("bi",), "analytics": ("analytics",)}
MAX_REASON = 300


def configured(account_id: Any, consumer: str) -> bool:
    try:
        cfg = accounts.get_account(str(account_id)).config
    except UnknownAccount:
        return False
    return any(cfg.get(section) for section in SECTIONS.get(consumer, ()))


def record(account_id: Any, consumer: str, error: Optional[str] = None, permanent: bool = False,
           at: Optional[float] = None) -> None:
    if not account_id or not configured(account_id, consumer):
        return
    at = time.time() if at is None else at
    item = IntegrationStatus(str(account_id), consumer)
    if error is None:
        actions = [IntegrationStatus.last_success_at.set(at)]
    else:
        actions = [IntegrationStatus.last_error_at.set(at), IntegrationStatus.last_error.set(error[:MAX_REASON]),
                   IntegrationStatus.last_error_kind.set("permanent" if permanent else "retrying")]
    try:
        item.update(actions=actions)
    except Exception:  # noqa: BLE001 — the status is a view, never the delivery's problem
        logger.exception("integration status not written", extra={"consumer": consumer})


def of_account(account_id: str) -> List[Dict[str, Any]]:
    """Every consumer the account configured, with its last success and last error."""
    cfg = accounts.get_account(account_id).config
    stored = {s.consumer: s for s in IntegrationStatus.query(account_id)}
    out = []
    for consumer, sections in SECTIONS.items():
        if not any(cfg.get(section) for section in sections):
            continue
        s = stored.get(consumer)
        ok, failed = (s.last_success_at, s.last_error_at) if s else (None, None)
        out.append({
            "integration": consumer, "last_success_at": _iso(ok), "last_error_at": _iso(failed),
            "last_error": s.last_error if s else None, "last_error_kind": s.last_error_kind if s else None,
            "healthy": failed is None or (ok is not None and ok > failed),
        })
    return out


def _iso(epoch: Optional[float]) -> Optional[str]:
    return iso(epoch)
