"""Numbers and pools of an account: add, list, enable/disable, remove.

A number belongs to one account (the Number item's key is the E.164 number). Adding
never touches an existing item, so live leases survive; removing refuses a number a
visitor holds right now (a conditional delete), so no session loses its number and
no call is left without its attribution.
"""
from __future__ import annotations

import re
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional
from urllib.parse import unquote

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError

from chalicelib import accounts as account_cache
from chalicelib.db import condition_failed
from chalicelib.dni.leases import pool_key, read_pool
from chalicelib.dni.models import Account, Number
from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.geo import phone
from chalicelib.times import iso

Clock = Callable[[], float]
Progress = Callable[[int, int], None]
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def parse_path_number(raw: str) -> str:
    """A number from a URL path: '+14155550131', '%2B14155550131', or digits only."""
    text = unquote(raw or "").strip()
    if not text.startswith("+"):
        text = "+" + text
    if not _E164.match(text):
        raise ValidationFailed(f"'{raw}' is not an E.164 phone number")
    return text


def _iso(ts: float) -> Optional[str]:
    return iso(ts or None)          # 0: never set


def leased(item: Number, now: float) -> bool:
    return bool(item.holder) and float(item.lease_until or 0) > now


def view(item: Number, now: float) -> Dict[str, Any]:
    return {"number": item.number, "display": phone.display(item.number), "kind": item.kind,
            "pool_id": item.pool_id, "source": item.source, "country": item.country,
            "enabled": bool(item.enabled), "leased": leased(item, now),
            "lease_until": _iso(float(item.lease_until or 0)) if leased(item, now) else None,
            "lease_count": int(item.lease_count or 0)}


def _get(number: str) -> Optional[Number]:
    try:
        return Number.get(number, consistent_read=True)
    except DoesNotExist:
        return None


def check_available(number: str, account_id: str) -> None:
    """Conflict when another account already has the number."""
    item = _get(number)
    if item is not None and item.account_id != account_id:
        raise Conflict(f"{number} belongs to another account")


def _same(item: Number, spec: Mapping[str, Any]) -> bool:
    return item.kind == spec["kind"] and item.pool_id == spec.get("pool_id")


def add_number(account_id: str, spec: Mapping[str, Any], exist_ok: bool = True,
               clock: Clock = time.time) -> Dict[str, Any]:
    """Create the number (kind pool|static|default). Idempotent for the same spec."""
    number = spec["number"]
    pool_id = spec.get("pool_id")
    item = Number(number, account_id=account_id, kind=spec["kind"], pool_id=pool_id,
                  pool_key=pool_key(account_id, pool_id) if pool_id else None,
                  source=spec.get("source"), country=spec.get("country") or phone.region_of(number))
    try:
        item.save(condition=Number.number.does_not_exist())
        return {**view(item, clock()), "created": True}
    except PutError as err:
        if not condition_failed(err):
            raise
    existing = _get(number)
    if existing is None or existing.account_id != account_id:
        raise Conflict(f"{number} belongs to another account")
    if not (exist_ok and _same(existing, spec)):
        where = f"pool '{existing.pool_id}'" if existing.pool_id else f"a {existing.kind} number"
        raise Conflict(f"{number} is already in this account as {where}; remove it first")
    return {**view(existing, clock()), "created": False}


def add_to_pool(account_id: str, pool_id: str, numbers: Iterable[str], country: Optional[str] = None,
                progress: Optional[Progress] = None, clock: Clock = time.time) -> Dict[str, Any]:
    """Add many numbers to a pool: all are checked first, so a conflict adds none."""
    wanted = list(numbers)
    for number in wanted:
        existing = _get(number)
        if existing is not None and (existing.account_id != account_id or existing.pool_id != pool_id):
            raise Conflict(f"{number} is already used elsewhere; nothing was added")
    added, kept = [], []
    for i, number in enumerate(wanted, 1):
        spec = {"number": number, "kind": "pool", "pool_id": pool_id, "country": country}
        (added if add_number(account_id, spec, clock=clock)["created"] else kept).append(number)
        if progress:
            progress(i, len(wanted))
    return {"pool_id": pool_id, "added": added, "existing": kept, "pool": pool_view(account_id, pool_id, clock)}


def owned(account_id: str, number: str) -> Number:
    item = _get(number)
    if item is None or item.account_id != account_id:
        raise NotFound(f"no number {number} in this account")
    return item


def get_number(account_id: str, number: str, clock: Clock = time.time) -> Dict[str, Any]:
    return view(owned(account_id, number), clock())


def list_numbers(account_id: str) -> List[Number]:
    """The account's numbers: their keys from the account index (sorted by number), then the
    items in batches of 100 (admin path only, never per visit)."""
    keys = [n.number for n in Number.account_index.query(account_id)]
    items = {n.number: n for n in Number.batch_get(keys)} if keys else {}
    return [items[k] for k in keys if k in items]


def list_view(account_id: str, clock: Clock = time.time) -> List[Dict[str, Any]]:
    now = clock()
    return [view(n, now) for n in list_numbers(account_id)]


def update_number(account_id: str, number: str, changes: Mapping[str, Any], clock: Clock = time.time) -> Dict[str, Any]:
    """Enable/disable (a disabled pool number keeps its current lease, gets no new one),
    or change a static number's source or the country."""
    item = owned(account_id, number)
    actions = []
    if "enabled" in changes:
        actions.append(Number.enabled.set(changes["enabled"]))
    for name in ("source", "country"):
        if name in changes:
            attr = getattr(Number, name)
            actions.append(attr.remove() if changes[name] is None else attr.set(changes[name]))
    try:
        item.update(actions=actions, condition=Number.account_id == account_id)
    except UpdateError as err:  # removed meanwhile: never recreate a half item
        if not condition_failed(err):
            raise
        raise NotFound(f"no number {number} in this account") from err
    return view(item, clock())


def remove_number(account_id: str, number: str, pool_id: Optional[str] = None, clock: Clock = time.time) -> Dict[str, Any]:
    """Delete the number unless a visitor holds it now or it is the account's default."""
    item = owned(account_id, number)
    if pool_id is not None and item.pool_id != pool_id:
        raise NotFound(f"no number {number} in pool '{pool_id}'")
    if item.kind == "default" and Account.get(account_id).default_number == number:
        raise Conflict(f"{number} is the account's default number; set another default first")
    now = clock()
    free = Number.holder.does_not_exist() | (Number.lease_until <= now)
    try:
        item.delete(condition=(Number.account_id == account_id) & free)
    except DeleteError as err:
        if not condition_failed(err):
            raise
        current = owned(account_id, number)
        raise Conflict(f"{number} is leased by a visitor until {_iso(float(current.lease_until))}; "
                       "disable it and remove it when the lease has ended") from err
    account_cache.invalidate(account_id)
    return {"number": number, "removed": True}


def _summary(pool_id: str, items: List[Number], now: float, default_pool: Optional[str]) -> Dict[str, Any]:
    busy = sum(1 for n in items if n.enabled and leased(n, now))
    enabled = sum(1 for n in items if n.enabled)
    return {"pool_id": pool_id, "size": len(items), "enabled": enabled, "busy": busy,
            "free": enabled - busy, "utilisation": round(busy / enabled, 4) if enabled else None,
            "default": pool_id == default_pool}


def pool_view(account_id: str, pool_id: str, clock: Clock = time.time) -> Dict[str, Any]:
    now = clock()
    items = sorted(read_pool(account_id, pool_id), key=lambda n: n.number)
    if not items:
        raise NotFound(f"no pool '{pool_id}' in this account")
    default_pool = account_cache.get_account(account_id).default_pool
    return {**_summary(pool_id, items, now, default_pool), "numbers": [view(n, now) for n in items]}
