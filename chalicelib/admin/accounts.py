"""Accounts: creation with the operator's bootstrap token, the profile, and the one
safe way to change an account item (optimistic, on its `version`)."""
from __future__ import annotations

import hmac
import secrets
import time
from typing import Any, Callable, Dict, Mapping, Optional

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib import accounts as account_cache
from chalicelib import config
from chalicelib.admin import keys, numbers
from chalicelib.auth import bearer
from chalicelib.db import condition_failed
from chalicelib.dni.models import Account
from chalicelib.errors import Conflict, Unauthorized, UnknownAccount
from chalicelib.times import iso

Clock = Callable[[], float]
MAX_ATTEMPTS = 3


def require_admin(authorization: Optional[str]) -> None:
    """Only the operator's bootstrap token may create accounts."""
    token = bearer(authorization)
    if not hmac.compare_digest(token.encode(), config.admin_token().encode()):
        raise Unauthorized("creating accounts needs the operator's admin token")


def load(account_id: str) -> Account:
    try:
        return Account.get(account_id, consistent_read=True)
    except DoesNotExist as err:
        raise UnknownAccount(f"no account '{account_id}'") from err


def update(account_id: str, mutate: Callable[[Account], None]) -> Account:
    """Read, change, write back only if nobody wrote in between (retrying a few times)."""
    for _ in range(MAX_ATTEMPTS):
        item = load(account_id)
        seen = item.version or 0
        mutate(item)
        item.version = seen + 1
        try:
            item.save(condition=Account.version == seen)
        except PutError as err:
            if not condition_failed(err):
                raise
            continue
        account_cache.invalidate(account_id)
        return item
    raise Conflict("the account changed while it was being updated; try again")


def profile(item: Account) -> Dict[str, Any]:
    return {"account_id": item.account_id, "name": item.name or "", "domains": list(item.domains or []),
            "default_number": item.default_number, "created_at": _iso(item.created_at)}


def _iso(ts: Optional[float]) -> Optional[str]:
    return iso(ts or None)          # 0: never set


def create(body: Mapping[str, Any], clock: Clock = time.time) -> Dict[str, Any]:
    """A new account, its default number, and its first API key (shown once)."""
    account_id = body.get("account_id") or "acc-" + secrets.token_hex(6)
    numbers.check_available(body["default_number"], account_id)
    item = Account(account_id, name=body["name"], domains=[d.lower() for d in body["domains"]],
                   default_number=body["default_number"], settings=dict(body.get("settings") or {}),
                   rules=[], geo=[], config={}, created_at=clock(), version=0)
    try:
        item.save(condition=Account.account_id.does_not_exist())
    except PutError as err:
        if not condition_failed(err):
            raise
        raise Conflict(f"account '{account_id}' already exists") from err
    numbers.add_number(account_id, {"number": body["default_number"], "kind": "default"})
    key = keys.create(account_id, body.get("key_label") or "initial", clock)
    account_cache.invalidate(account_id)
    return {"account": profile(item), "api_key": key}


def update_profile(account_id: str, body: Mapping[str, Any]) -> Dict[str, Any]:
    if "default_number" in body:
        numbers.check_available(body["default_number"], account_id)
        numbers.add_number(account_id, {"number": body["default_number"], "kind": "default"}, exist_ok=True)

    def mutate(item: Account) -> None:
        if "name" in body:
            item.name = body["name"]
        if "domains" in body:
            item.domains = [d.lower() for d in body["domains"]]
        if "default_number" in body:
            item.default_number = body["default_number"]

    return profile(update(account_id, mutate))
