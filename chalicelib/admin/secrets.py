"""Secrets in account configuration are write-only through the API.

A GA4 API secret, a HubSpot token or a webhook signing secret is stored with the
section it belongs to, but reads show only a mask with its last four characters. A PUT
that sends the mask back (the dashboard's editor does: it edits what it read) keeps
the stored secret; sending a new value replaces it.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

# Field names that hold credentials in the sections' schemas. Parameter names (an SSM
# path) and key ids are not secrets and stay readable.
SECRET_FIELDS = frozenset({"api_secret", "secret", "token", "write_key", "api_key"})
MASK = "••••"


def mask(value: Any) -> Any:
    """A copy of a section's value with every secret masked (and any password a URL stored
    before the outbound guard refused them)."""
    if isinstance(value, dict):
        return {k: _masked(v) if k in SECRET_FIELDS and isinstance(v, str) else mask(v) for k, v in value.items()}
    if isinstance(value, str) and "@" in value and "://" in value:
        return _without_password(value)
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


def _masked(secret: str) -> str:
    return MASK + (secret[-4:] if len(secret) >= 12 else "")


def keep_stored(new: Any, stored: Any) -> Any:
    """`new` with every masked secret replaced by the stored one it stands for."""
    if isinstance(new, dict):
        old = stored if isinstance(stored, dict) else {}
        return {k: _restore(v, old.get(k)) if k in SECRET_FIELDS else keep_stored(v, old.get(k))
                for k, v in new.items()}
    if isinstance(new, list):
        old = stored if isinstance(stored, list) else []
        by_id = {o.get("id"): o for o in old if isinstance(o, dict) and o.get("id") is not None}
        return [keep_stored(v, by_id.get(v.get("id")) if isinstance(v, dict) and v.get("id") in by_id
                            else (old[i] if i < len(old) else None)) for i, v in enumerate(new)]
    return new


def _restore(value: Any, stored: Any) -> Any:
    if isinstance(value, str) and value.startswith(MASK) and isinstance(stored, str) and _masked(stored) == value:
        return stored
    return value


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"{MASK}@{host}", parts.path, parts.query, parts.fragment))
