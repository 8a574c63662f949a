"""The audit log: one entry per change made through the API (any non-GET account route that
answered below 400), written by the authorising middleware (chalicelib/auth.py) so no view
has to remember it. An entry names the actor, the route and its targets, and the names of
the fields sent — never their values (secrets travel in some bodies)."""
from __future__ import annotations

import base64
import json
import secrets
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from chalicelib.errors import BadRequest
from chalicelib.observability import logger
from chalicelib.people.models import AuditEntry
from chalicelib.times import iso_ms

if TYPE_CHECKING:
    from chalicelib.auth import Principal

MAX_LIMIT = 200


def _fields(event: Any) -> List[str]:
    try:
        body = json.loads(getattr(event, "raw_body", b"") or b"null")
    except (TypeError, ValueError):
        return []
    return sorted(str(k) for k in body)[:50] if isinstance(body, dict) else []


def record(principal: "Principal", method: str, route: str, params: Dict[str, str], event: Any, status: int,
           clock: Any = time.time) -> None:
    """Write the entry; a failed write is logged (with the entry) and does not undo the change."""
    at = clock()
    entry = AuditEntry(principal.account_id, f"{iso_ms(at)}#{secrets.token_hex(4)}", at=round(at, 3),
                       actor=principal.audit_actor(), action=f"{method} {route}",
                       target={k: v for k, v in sorted(params.items()) if k != "account_id"},
                       fields=_fields(event), status=status)
    try:
        entry.save()
    except Exception:  # noqa: BLE001 — the change is made; losing the trace must be visible, not fatal
        logger.exception("audit entry not written", extra={"audit": entry.attribute_values})


def _cursor(raw: Optional[str], account_id: str) -> Optional[Dict[str, Any]]:
    if not raw:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(raw.encode()))
        assert key["account_id"]["S"] == account_id and isinstance(key["entry_id"]["S"], str)
    except (ValueError, KeyError, TypeError, AssertionError) as err:
        raise BadRequest("next: not a cursor of this account's audit log") from err
    return key


def page(account_id: str, since: float, until: float, limit: int = 50,
         cursor: Optional[str] = None) -> Tuple[List[Dict[str, Any]], Optional[str]]:
    """Entries in [since, until], newest first, and the next page's cursor."""
    result = AuditEntry.query(account_id, AuditEntry.entry_id.between(iso_ms(since), iso_ms(until) + "~"),
                              scan_index_forward=False, limit=min(MAX_LIMIT, limit), page_size=min(MAX_LIMIT, limit),
                              last_evaluated_key=_cursor(cursor, account_id))
    entries = [{"at": iso_ms(e.at), "actor": e.actor, "action": e.action, "target": e.target,
                "fields": e.fields, "status": int(e.status)} for e in result]
    last = result.last_evaluated_key
    return entries, base64.urlsafe_b64encode(json.dumps(last).encode()).decode() if last else None
