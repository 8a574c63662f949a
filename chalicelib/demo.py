"""The demo account `make run` and the tests seed. Idempotent: running it again keeps
live leases and history, and only rewrites configuration.

Numbers are from fictional ranges (NANP 555-01xx, Ofcom's drama range).
"""
from __future__ import annotations

import time
from typing import Any, Dict, Iterable, List, Optional

from pynamodb.exceptions import PutError

from chalicelib import accounts, config
from chalicelib.auth import hash_key
from chalicelib.db import condition_failed
from chalicelib.dni.leases import pool_key
from chalicelib.dni.models import Account, ApiKey, Number

DEMO_ACCOUNT = "demo"
DEMO_TIMEZONE = "America/Los_Angeles"
DEFAULT_NUMBER = "+14155550123"
UK_OFFICE_NUMBER = "+442079460958"
POOL_NUMBERS = [f"+1415555013{i}" for i in range(1, 9)]
GOOGLE_ORGANIC_NUMBER = "+14155550150"
BILLBOARD_NUMBER = "+14155550170"
GERMAN_NUMBER = "+4930901820"
# Where calls are connected: the business's real line (fictional here).
BUSINESS_LINE = "+14155550199"

DEMO_RULES: List[Dict[str, Any]] = [
    {"id": "billboard", "match": {"param": {"name": "utm_source", "value": "billboard"}}, "number": BILLBOARD_NUMBER},
    {"id": "google-organic", "match": {"source": "google", "medium": "organic"}, "number": GOOGLE_ORGANIC_NUMBER},
]
DEMO_GEO: List[Dict[str, Any]] = [{"country": "DE", "number": GERMAN_NUMBER}]
# How the demo business takes calls (the `routing` section, chalicelib/calls/routing.py).
DEMO_ROUTING: Dict[str, Any] = {
    "destination": BUSINESS_LINE, "greeting": "Thanks for calling Demo Plumbing.", "whisper": True,
    "voicemail": {"enabled": True}, "callback": {"retries": 1}, "tagging": {"enabled": True},
}


def ensure_number(number: str, account_id: str, kind: str, pool_id: Optional[str] = None,
                  source: Optional[str] = None, country: Optional[str] = None) -> None:
    """Create the number unless it exists (its lease state must survive a re-seed)."""
    item = Number(number, account_id=account_id, kind=kind, pool_id=pool_id,
                  pool_key=pool_key(account_id, pool_id) if pool_id else None, source=source, country=country)
    try:
        item.save(condition=Number.number.does_not_exist())
    except PutError as err:
        if not condition_failed(err):
            raise


def seed_account(account_id: str = DEMO_ACCOUNT, domains: Iterable[str] = ("localhost", "127.0.0.1"),
                 pool: List[str] = POOL_NUMBERS, settings: Optional[Dict[str, Any]] = None,
                 api_key: Optional[str] = None, extra_config: Optional[Dict[str, Any]] = None) -> Account:
    """An account shaped like the demo one (tests make many, with their own ids and pools)."""
    cfg: Dict[str, Any] = {"default_pool": "main", "page_numbers": [UK_OFFICE_NUMBER],
                           "routing": dict(DEMO_ROUTING)}
    cfg.update(extra_config or {})
    account = Account(account_id, name="Demo Plumbing Co." if account_id == DEMO_ACCOUNT else account_id,
                      domains=list(domains), default_number=DEFAULT_NUMBER,
                      # the demo's numbers are San Francisco's (+1 415): so is its day
                      settings=settings if settings is not None else (
                          {"timezone": DEMO_TIMEZONE} if account_id == DEMO_ACCOUNT else {}),
                      rules=DEMO_RULES, geo=DEMO_GEO, config=cfg, created_at=time.time())
    account.save()
    for number in pool:
        ensure_number(number, account_id, "pool", pool_id="main", country="US")
    if account_id == DEMO_ACCOUNT:
        ensure_number(DEFAULT_NUMBER, account_id, "default", country="US")
        ensure_number(GOOGLE_ORGANIC_NUMBER, account_id, "static", source="google / organic", country="US")
        ensure_number(BILLBOARD_NUMBER, account_id, "static", source="billboard", country="US")
        ensure_number(GERMAN_NUMBER, account_id, "static", source="geo DE", country="DE")
    key = api_key or (config.demo_api_key() if account_id == DEMO_ACCOUNT else None)
    if key:
        ApiKey(hash_key(key), account_id=account_id, label="seed", created_at=time.time()).save()
    accounts.invalidate(account_id)
    return account


# People of the demo account, one per role (`make run` prints them). Local stage only.
DEMO_PASSWORD = "calltrack-demo-1"
DEMO_AGENT_NUMBER = "+14155550181"          # demo_traffic's first agent
DEMO_USERS = (("admin@demo.calltrack.local", "admin", None),
              ("marketer@demo.calltrack.local", "marketer", None),
              ("agent@demo.calltrack.local", "agent", DEMO_AGENT_NUMBER),
              ("viewer@demo.calltrack.local", "read_only", None))


def seed_users(account_id: str = DEMO_ACCOUNT, users: Iterable[tuple] = DEMO_USERS,
               password: str = DEMO_PASSWORD) -> List[Dict[str, Any]]:
    """The user pool (as infra/users.json declares it) and one person per role, signed in
    with `password` (idempotent: an existing member keeps their role)."""
    from chalicelib.auth import Principal
    from chalicelib.errors import Conflict
    from chalicelib.people import directory, users as people

    if not config.is_local():
        raise RuntimeError("demo users are for the local stage only")
    directory.bootstrap()
    seeded = []
    for email, role, agent in users:
        body = {"email": email, "role": role, **({"agent": agent} if agent else {})}
        try:
            seeded.append(people.add(account_id, body, Principal(account_id, "admin", "key", "seed", "seed"),
                                     password=password))
        except Conflict:
            seeded.append(body)
    return seeded
