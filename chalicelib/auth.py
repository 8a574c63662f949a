"""Admin API authorisation: `Authorization: Bearer <api key>` scoped to one account.

Keys are stored as SHA-256 hashes only. A key of one account never opens another's
data: the key's account must equal the account in the path.
"""
from __future__ import annotations

import hashlib
from typing import Optional

from chalicelib.errors import Forbidden, Unauthorized
from chalicelib.lazy import lazy

models = lazy("chalicelib.dni.models")      # the tables load with the first authorised request


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def bearer(authorization: Optional[str]) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send 'Authorization: Bearer <api key>'")
    return token.strip()


def account_of_key(api_key: str) -> str:
    try:
        item = models.ApiKey.get(hash_key(api_key))
    except models.ApiKey.DoesNotExist as err:
        raise Unauthorized("unknown or revoked API key") from err
    if item.revoked:
        raise Unauthorized("unknown or revoked API key")
    return item.account_id


def require_account(authorization: Optional[str], account_id: str) -> str:
    """The account the request may act on, or Unauthorized (no/unknown key) / Forbidden."""
    owner = account_of_key(bearer(authorization))
    if owner != account_id:
        raise Forbidden("this API key does not belong to that account")
    return owner
