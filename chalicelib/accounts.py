"""Account configuration as the hot paths read it: cached per container.

The lease call and the Vonage answer run on every visit and every call; the account
they need changes rarely. A short cache (CALLTRACK_ACCOUNT_CACHE_SECONDS, default
30 s) keeps the account read off the common path; admin writes invalidate it here.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from pynamodb.exceptions import DoesNotExist

from chalicelib import config
from chalicelib.dni.models import Account
from chalicelib.errors import UnknownAccount
from chalicelib.settings import Settings

Clock = Callable[[], float]


def on_domain(name: str, domain: str) -> bool:
    """`name` is `domain` or a host under it (a cookie domain needs a dot in it)."""
    return "." in domain and (name == domain or name.endswith("." + domain))


@dataclass(frozen=True)
class AccountView:
    account_id: str
    name: str
    domains: Tuple[str, ...]
    default_number: str
    settings: Settings
    rules: List[Dict[str, Any]] = field(default_factory=list)
    geo: List[Dict[str, Any]] = field(default_factory=list)
    config: Dict[str, Any] = field(default_factory=dict)

    @property
    def default_pool(self) -> Optional[str]:
        return self.config.get("default_pool")

    def allows_host(self, host: Optional[str]) -> bool:
        if not host:
            return False
        host = host.lower().removeprefix("www.")
        return any(host == d or host.endswith("." + d) for d in self.domains)

    def cookie_domain(self, host: Optional[str]) -> Optional[str]:
        """Where the snippet keeps its session cookie for a page on `host` (as the browser
        has it, `www.` included), so www. and shop. share one session: the `cookie_domain`
        setting ("host": the page's own host only; a domain: used where the page is on it
        and it is one of the account's domains or under one), else the broadest of the
        account's domains the host is on. None for a host outside the account, an IP
        address, a single-label name (localhost), or a setting outside the account."""
        host = (host or "").lower()
        setting = self.config.get("cookie_domain")
        if setting == "host" or "." not in host or host.replace(".", "").isdigit() or ":" in host:
            return None
        if setting and not any(on_domain(setting, d) for d in self.domains):
            return None             # refused at save; an account's domains may change after
        listed = [setting] if setting else sorted(self.domains, key=len)
        return next((d for d in listed if on_domain(host, d)), None)

    def allows_origin(self, origin: Optional[str]) -> bool:
        """A browser request's `Origin` belongs to the account's site (absent or "null":
        not a cross-origin browser request, nothing to check)."""
        if origin is None or origin == "null":
            return True
        try:
            host = urlsplit(origin).hostname
        except ValueError:
            return False
        return self.allows_host(host)


def view_of(item: Account) -> AccountView:
    return AccountView(
        account_id=item.account_id, name=item.name or "",
        domains=tuple(d.lower().removeprefix("www.") for d in (item.domains or [])),
        default_number=item.default_number, settings=Settings.from_map(item.settings),
        rules=list(item.rules or []), geo=list(item.geo or []), config=dict(item.config or {}),
    )


_cache: Dict[str, Tuple[float, AccountView]] = {}
_missing: Dict[str, float] = {}   # unknown account id -> until when it is taken as unknown
MISSING_SECONDS = 10.0
MISSING_MAX = 10_000              # a flood of random ids cannot grow the container's memory


def get_account(account_id: str, clock: Clock = time.time) -> AccountView:
    """The account, from the container cache when fresh. Raises UnknownAccount. An unknown
    id is remembered too, for at most MISSING_SECONDS: junk site keys on the lease path and
    stream records of a deleted account cost one read, not one per request or record."""
    now = clock()
    hit = _cache.get(account_id)
    if hit and hit[0] > now:
        return hit[1]
    if _missing.get(account_id, 0.0) > now:
        raise UnknownAccount(f"no account '{account_id}'")
    try:
        view = view_of(Account.get(account_id))
    except DoesNotExist as err:
        if len(_missing) >= MISSING_MAX:
            _missing.clear()
        _missing[account_id] = now + min(MISSING_SECONDS, config.account_cache_seconds())
        raise UnknownAccount(f"no account '{account_id}'") from err
    _missing.pop(account_id, None)
    _cache[account_id] = (now + config.account_cache_seconds(), view)
    return view


def invalidate(account_id: Optional[str] = None) -> None:
    if account_id is None:
        _cache.clear()
        _missing.clear()
    else:
        _cache.pop(account_id, None)
        _missing.pop(account_id, None)
