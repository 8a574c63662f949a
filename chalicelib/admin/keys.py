"""API keys of an account: created (the plaintext is shown once, only its SHA-256 is
stored), listed, rotated and revoked. The key id is the stored hash: it opens nothing."""
from __future__ import annotations

import secrets
import time
from typing import Any, Callable, Dict, List, Optional

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib.auth import hash_key
from chalicelib.db import condition_failed
from chalicelib.dni.models import ApiKey
from chalicelib.errors import Conflict, NotFound
from chalicelib.times import iso

Clock = Callable[[], float]
PREFIX = "ct_"


def _iso(ts: float) -> Optional[str]:
    return iso(ts or None)          # unknown (0 or missing): null, not 1970


def view(item: ApiKey) -> Dict[str, Any]:
    return {"key_id": item.key_hash, "label": item.label or "", "created_at": _iso(item.created_at),
            "revoked": bool(item.revoked)}


def create(account_id: str, label: str, clock: Clock = time.time) -> Dict[str, Any]:
    """A new key; the answer is the only place its plaintext ever appears."""
    plaintext = PREFIX + secrets.token_urlsafe(32)
    item = ApiKey(hash_key(plaintext), account_id=account_id, label=label or "", created_at=clock())
    try:
        item.save(condition=ApiKey.key_hash.does_not_exist())
    except PutError as err:  # a 256-bit collision: never in practice, but never overwrite
        if not condition_failed(err):
            raise
        raise Conflict("could not create a unique key; try again") from err
    return {**view(item), "key": plaintext}


def list_keys(account_id: str) -> List[Dict[str, Any]]:
    """Every key of the account, newest first (one Query of the account index)."""
    items = ApiKey.account_index.query(account_id)
    return [view(i) for i in sorted(items, key=lambda i: -(i.created_at or 0))]


def _owned(account_id: str, key_id: str) -> ApiKey:
    try:
        item = ApiKey.get(key_id, consistent_read=True)
    except DoesNotExist as err:
        raise NotFound(f"no API key '{key_id}'") from err
    if item.account_id != account_id:  # another account's key: as if it did not exist
        raise NotFound(f"no API key '{key_id}'")
    return item


def _active_count(account_id: str) -> int:
    return sum(1 for i in ApiKey.account_index.query(account_id) if not i.revoked)


def _revoke(item: ApiKey) -> None:
    try:
        item.update(actions=[ApiKey.revoked.set(True)], condition=ApiKey.revoked == False)  # noqa: E712
    except UpdateError as err:
        if not condition_failed(err):
            raise
        raise Conflict("that API key is already revoked") from err


def revoke(account_id: str, key_id: str) -> Dict[str, Any]:
    """Revoke a key at once. The last active key stays: an account must keep a way in."""
    item = _owned(account_id, key_id)
    if item.revoked:
        raise Conflict("that API key is already revoked")
    if _active_count(account_id) <= 1:
        raise Conflict("this is the account's last active API key; create another one first")
    _revoke(item)
    return view(item)


def rotate(account_id: str, key_id: str, clock: Clock = time.time) -> Dict[str, Any]:
    """A new key with the same label; the old one is revoked in the same call."""
    old = _owned(account_id, key_id)
    if old.revoked:
        raise Conflict("that API key is revoked; create a new one instead")
    new = create(account_id, old.label or "", clock)
    _revoke(old)
    return {**new, "replaces": old.key_hash}
