"""The lease call and the heartbeat: what `POST /v1/sessions` and its heartbeat do.

A session id names where its lease lives — `<account>.<pool>.<digits>.<random>` —
so a heartbeat is one conditional UpdateItem without a lookup first. Sessions that
hold no lease (static, default, bots) have `-` as their pool: their heartbeat needs
no database at all.
"""
from __future__ import annotations

import random
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from chalicelib.accounts import AccountView, get_account
from chalicelib.db import ttl
from chalicelib.dni import leases, pool, rules, sources, usage, useragent
from chalicelib.dni.models import Session
from chalicelib.errors import LeaseConflict, LeaseGone, UnknownSession
from chalicelib.geo import countries, phone
from chalicelib.observability import count, logger
from chalicelib.times import iso

Clock = Callable[[], float]
MAX_CLAIM_ATTEMPTS = 8
NO_POOL = "-"


@dataclass(frozen=True)
class SessionRequest:
    account: str
    url: str
    referrer: Optional[str] = None
    ga_client_id: Optional[str] = None
    ga_session_id: Optional[str] = None     # GA4's session (the _ga_<stream> cookie), to join it
    session_id: Optional[str] = None
    country: Optional[str] = None           # explicit override from the body
    header_country: Optional[str] = None    # CloudFront-Viewer-Country
    ip: Optional[str] = None
    user_agent: str = ""
    origin: Optional[str] = None


@dataclass(frozen=True)
class SessionId:
    account: str
    pool: str
    number: Optional[str]
    token: str

    def __str__(self) -> str:
        digits = phone.digits(self.number) if self.number else "0"
        return f"{self.account}.{self.pool}.{digits}.{self.token}"

    @property
    def leased(self) -> bool:
        return self.pool != NO_POOL

    @classmethod
    def parse(cls, raw: str) -> "SessionId":
        parts = (raw or "").split(".")
        if len(parts) != 4 or not all(parts) or not parts[2].isdigit():
            raise UnknownSession(f"'{raw}' is not a session id")
        number = None if parts[2] == "0" else f"+{parts[2]}"
        return cls(parts[0], parts[1], number, parts[3])

    @classmethod
    def new(cls, account: str, pool_id: Optional[str], number: str) -> "SessionId":
        return cls(account, pool_id or NO_POOL, number, secrets.token_urlsafe(12))


@dataclass
class Assignment:
    """The number a visit gets and how: the answer to the snippet (not the lease history
    record, `models.Lease`)."""
    session_id: str
    number: str
    method: str
    visit: Dict[str, Any]
    expires_at: float
    heartbeat_seconds: int
    replace: List[str] = field(default_factory=list)
    cookie_domain: Optional[str] = None
    idle_seconds: int = 0          # a visible tab without input this long stops beating (0: never)

    def as_response(self) -> Dict[str, Any]:
        domain = {"cookie_domain": self.cookie_domain} if self.cookie_domain else {}
        idle = {"idle_seconds": self.idle_seconds} if self.method == "dynamic" else {}
        return {**domain, **idle,
            "session_id": self.session_id, "number": self.number, "display": phone.display(self.number),
            "method": self.method, "source": self.visit.get("source"), "medium": self.visit.get("medium"),
            "campaign": self.visit.get("campaign"), "keyword": self.visit.get("keyword"),
            "expires_at": iso(self.expires_at), "heartbeat_seconds": self.heartbeat_seconds,
            "replace": self.replace,
        }


def replaceable(account: AccountView) -> List[str]:
    """Numbers the snippet swaps on the page: the account's default, then any it lists."""
    extra = [n for n in account.config.get("page_numbers", []) if n != account.default_number]
    return [account.default_number] + extra


def start(req: SessionRequest, clock: Clock = time.time) -> Assignment:
    account = get_account(req.account, clock)
    allowed = _allowed(account, req)
    assignment = _start(account, req, allowed, clock)
    if allowed:
        assignment.cookie_domain = account.cookie_domain(sources.hostname_of(req.url))
    assignment.idle_seconds = account.settings.idle_seconds
    return assignment


def _start(account: AccountView, req: SessionRequest, allowed: bool, clock: Clock) -> Assignment:
    now = clock()
    visit = sources.detect(req.url, req.referrer)
    if useragent.is_bot(req.user_agent) or not allowed:
        count("SessionsRefused")
        return _unleased(account, visit, account.default_number, "default", now)
    if req.session_id:
        resumed = _resume(account, req, now)
        if resumed:
            return resumed
    country = countries.resolve_country(req.header_country, req.country)
    plan = rules.decide(visit, account.rules, account.default_pool, countries.geo_rule(account.geo, country))
    if plan.method != "dynamic":
        number = plan.number or account.default_number
        return _record_unleased(account, req, visit, country, number, plan.method, now)
    leased, contended = _lease(account, req, visit, country, plan, now)
    if leased:
        return leased
    if contended:             # free numbers left, all taken under us: a burst, not a small pool
        count("LeaseContention")
    else:
        count("PoolExhausted")
        usage.record_exhaustion(account.account_id, plan.pool_id, now)
        logger.info("pool exhausted", extra={"account": account.account_id, "pool": plan.pool_id})
    number = plan.number or account.default_number
    return _record_unleased(account, req, visit, country, number, plan.fallback_method, now)


def _allowed(account: AccountView, req: SessionRequest) -> bool:
    """The page and the browser's Origin must belong to the account's site."""
    return account.allows_host(sources.host_of(req.url)) and account.allows_origin(req.origin)


def _unleased(account: AccountView, visit: sources.Visit, number: str, method: str, now: float,
              sid: Optional[str] = None) -> Assignment:
    s = account.settings
    sid = sid or str(SessionId.new(account.account_id, None, number))
    return Assignment(sid, number, method, visit.as_dict(), now + s.lease_ttl_seconds, s.heartbeat_seconds,
                 replaceable(account))


def _session_item(account: AccountView, req: SessionRequest, visit: sources.Visit, country: Optional[str],
                  sid: str, number: str, method: str, pool_id: Optional[str], now: float) -> Session:
    agent = useragent.parse(req.user_agent)
    return Session(
        sid, account_id=account.account_id, started_at=now, number=number, method=method, pool_id=pool_id,
        source=visit.source, medium=visit.medium, group=visit.group, campaign=visit.campaign,
        keyword=visit.keyword, content=visit.content, referrer=req.referrer, landing_page=req.url,
        click_ids=visit.click_ids, ga_client_id=req.ga_client_id, ga_session_id=req.ga_session_id, user_agent=req.user_agent[:512],
        device=agent.device, browser=agent.browser, os=agent.os, ip=req.ip, country=country,
        expires=ttl(now + account.settings.retention_days * 86400),
    )


def snapshot(session: Session) -> Dict[str, Any]:
    """What a call needs from the session, kept on the number so the answer path reads one item."""
    fields = ("session_id", "source", "medium", "group", "campaign", "keyword", "content", "referrer",
              "landing_page", "ga_client_id", "ga_session_id", "device", "browser", "os", "country", "method", "started_at")
    snap = {f: getattr(session, f) for f in fields if getattr(session, f) is not None}
    snap["click_ids"] = dict(session.click_ids or {})
    return snap


def started_detail(session: Session) -> Dict[str, Any]:
    """`Session Started`'s detail. It is published from the sessions table's stream (the
    outbox, `chalicelib.streams`), not here: a lease makes no call but its DynamoDB
    requests, and a bus that is down never costs a visitor their number."""
    detail = {k: v for k, v in snapshot(session).items() if k not in ("group",)}
    detail.update(account_id=session.account_id, number=session.number, started_at=iso(session.started_at))
    return detail


def _record_unleased(account: AccountView, req: SessionRequest, visit: sources.Visit, country: Optional[str],
                     number: str, method: str, now: float) -> Assignment:
    sid = str(SessionId.new(account.account_id, None, number))
    session = _session_item(account, req, visit, country, sid, number, method, None, now)
    session.save()
    count("SessionsUnleased")
    return _unleased(account, visit, number, method, now, sid)


def _attempts(order: List[pool.PoolNumber]) -> Iterator[pool.PoolNumber]:
    """The candidates to try: the first in the pool's order, then, after each conflict, one
    drawn at random from the next MAX_CLAIM_ATTEMPTS not yet tried. Concurrent visitors read
    the same pool in the same order; walking it in step, the k-th of a burst would need k
    attempts and fall back to the default number with free numbers left."""
    rest = list(order)
    for _ in range(min(MAX_CLAIM_ATTEMPTS, len(rest))):
        pick = 0 if len(rest) == len(order) else random.randrange(min(MAX_CLAIM_ATTEMPTS, len(rest)))
        yield rest.pop(pick)


def _lease(account: AccountView, req: SessionRequest, visit: sources.Visit, country: Optional[str],
           plan: rules.Plan, now: float) -> Tuple[Optional[Assignment], bool]:
    """A lease from the plan's pool; (None, contended) when none was had. When every attempt
    loses its race the pool is read once more: `contended` if free numbers are still left
    (a burst, not a pool too small: not counted as exhaustion), else the pool is exhausted."""
    s = account.settings
    rate_key = f"ip#{account.account_id}#{req.ip}#{int(now // 3600)}" if s.ip_lease_limit and req.ip else None
    for _ in range(2):
        items = {n.number: n for n in leases.read_pool(account.account_id, plan.pool_id)}
        order = pool.candidates((leases.as_pool_number(n) for n in items.values()), now,
                                s.cooldown_seconds, s.cooldown_mode, min_rest=s.lease_ttl_seconds)
        if not order:
            return None, False
        got = _try_claims(account, req, visit, country, plan, now, items, order, rate_key)
        if got is not None:
            return got, False
    return None, True


def _try_claims(account: AccountView, req: SessionRequest, visit: sources.Visit, country: Optional[str],
                plan: rules.Plan, now: float, items: Dict[str, Any], order: List[pool.PoolNumber],
                rate_key: Optional[str]) -> Optional[Assignment]:
    s = account.settings
    for candidate in _attempts(order):
        sid = str(SessionId.new(account.account_id, plan.pool_id, candidate.number))
        session = _session_item(account, req, visit, country, sid, candidate.number, "dynamic", plan.pool_id, now)
        claim = leases.Claim(items[candidate.number], session, now, now + s.lease_ttl_seconds, snapshot(session),
                             ttl(now + s.retention_days * 86400), rate_key, s.ip_lease_limit)
        try:
            leases.claim(claim)
        except LeaseConflict:
            count("LeaseConflicts")
            continue
        except leases.RateLimited:
            count("SessionsRateLimited")
            return _unleased(account, visit, account.default_number, "default", now)
        except leases.LeaseUnanswered:
            # Unknown whether it was written: no second try with this visitor, no more writes
            # into a database that is not answering; the page keeps its own number.
            count("LeasesUnanswered")
            logger.warning("lease unanswered", extra={"account": account.account_id, "number": candidate.number})
            return _unleased(account, visit, account.default_number, "default", now)
        count("Leases")
        return Assignment(sid, candidate.number, "dynamic", visit.as_dict(), now + s.lease_ttl_seconds,
                          s.heartbeat_seconds, replaceable(account))
    return None


def _resume(account: AccountView, req: SessionRequest, now: float) -> Optional[Assignment]:
    """A returning visitor keeps their number while nobody else has taken it."""
    try:
        sid = SessionId.parse(req.session_id)
    except UnknownSession:
        return None
    if sid.account != account.account_id or not sid.number:
        return None
    s = account.settings
    if not sid.leased:
        visit = sources.detect(req.url, req.referrer)
        return Assignment(str(sid), sid.number, "static" if sid.number != account.default_number else "default",
                     visit.as_dict(), now + s.lease_ttl_seconds, s.heartbeat_seconds, replaceable(account))
    try:
        item = leases.extend(sid.number, str(sid), now, now + s.lease_ttl_seconds, require_live=False,
                             ga_session_id=req.ga_session_id)
    except LeaseGone:
        return None
    count("LeasesResumed")
    return Assignment(str(sid), sid.number, "dynamic", dict(item.snap or {}), float(item.lease_until),
                 s.heartbeat_seconds, replaceable(account))


def heartbeat(session_id: str, url: Optional[str], clock: Clock = time.time,
              ga_session_id: Optional[str] = None) -> Dict[str, Any]:
    """Extend a live lease (one UpdateItem). Raises LeaseGone (410) when it has ended.
    `ga_session_id`: GA4's current session, which the page may only have after the lease."""
    sid = SessionId.parse(session_id)
    account = get_account(sid.account, clock)
    now = clock()
    ttl = account.settings.lease_ttl_seconds
    if not sid.leased:
        return {"number": sid.number or account.default_number, "expires_at": iso(now + ttl)}
    item = leases.extend(sid.number, session_id, now, now + ttl, url=url, ga_session_id=ga_session_id)
    return {"number": item.number, "expires_at": iso(float(item.lease_until))}
