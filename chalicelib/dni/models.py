"""DNI data: accounts, numbers (with their current lease), lease history, sessions."""
from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute, JSONAttribute, ListAttribute, MapAttribute, NumberAttribute,
    TTLAttribute, UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.db import meta, register


@register
class Account(Model):
    """One customer. `account_id` is also the public site key the snippet sends."""
    Meta = meta("accounts")
    account_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(default="")
    domains = ListAttribute(of=UnicodeAttribute, default=list)
    default_number = UnicodeAttribute()
    settings = JSONAttribute(default=dict)
    # Tracking rules, geo rules and the rest of the configuration, as validated JSON.
    rules = JSONAttribute(default=list)
    geo = JSONAttribute(default=list)
    config = JSONAttribute(default=dict)
    created_at = NumberAttribute(default=0)
    version = NumberAttribute(default=0)


class PoolIndex(GlobalSecondaryIndex):
    """A pool's numbers with what choosing one and handing it over need, all small and of
    fixed size: not `callers` (the repeat-caller memory, which grows with every caller),
    `pages` (grows with every page a holder sees), `snap` (the holder's attribution) nor
    `source`/`country`. A lease reads one page for up to a thousand numbers and more, and a
    heartbeat rewrites an index entry of about 200 bytes. The handover archives the
    previous holder's lease from these alone (`page_count`, not the pages); its
    attribution is the Session item's, read when a call is matched to it."""
    class Meta:
        index_name = "pool-index"
        projection = IncludeProjection(["account_id", "kind", "pool_id", "enabled", "holder", "leased_at",
                                        "last_seen", "lease_until", "lease_count", "called_by", "page_count",
                                        "ga_session_id"])

    pool_key = UnicodeAttribute(hash_key=True)


class AccountNumbersIndex(GlobalSecondaryIndex):
    """An account's numbers, for the admin API and reports. Projects only attributes that
    rarely change, so heartbeats and leases (which rewrite the Number item) never write it."""
    class Meta:
        index_name = "account-number-index"
        projection = IncludeProjection(["kind", "pool_id"])

    account_id = UnicodeAttribute(hash_key=True)
    number = UnicodeAttribute(range_key=True)


@register
class Number(Model):
    """A tracking number and, for pool numbers, its current lease.

    The lease lives on the number item itself so that one conditional write both
    claims the number and proves nobody else holds it.
    """
    Meta = meta("numbers")
    number = UnicodeAttribute(hash_key=True)            # E.164
    account_id = UnicodeAttribute()
    kind = UnicodeAttribute()                           # pool | static | default
    pool_key = UnicodeAttribute(null=True)              # "<account>#<pool>" for pool numbers
    pool_id = UnicodeAttribute(null=True)
    source = UnicodeAttribute(null=True)                # static numbers: the source they stand for
    country = UnicodeAttribute(null=True)
    enabled = BooleanAttribute(default=True)
    holder = UnicodeAttribute(null=True)                # session holding the lease
    leased_at = NumberAttribute(default=0)
    last_seen = NumberAttribute(default=0)              # the holder's last heartbeat
    lease_until = NumberAttribute(default=0)            # 0: never leased
    pages = ListAttribute(of=UnicodeAttribute, null=True)   # the holder's pages (not in the pool index)
    page_count = NumberAttribute(null=True)             # len(pages), for the index and the handover
    snap = JSONAttribute(null=True)                     # the holder's attribution snapshot (not in the index)
    lease_count = NumberAttribute(default=0)
    ga_session_id = UnicodeAttribute(null=True)         # the holder's GA4 session, latest the page reported
    called_by = UnicodeAttribute(null=True)             # a holder a call was attributed to (pool.candidates)
    callers = MapAttribute(null=True)                   # caller hash -> "session|at|confidence" (repeat callers)
    pool_index = PoolIndex()
    account_index = AccountNumbersIndex()


@register
class Lease(Model):
    """A finished (handed-over) lease: which session held `number` from `started_at`
    until `until`. The current lease is on the Number item; it is archived here
    in the same transaction that hands the number to the next session."""
    Meta = meta("leases")
    number = UnicodeAttribute(hash_key=True)
    started_at = NumberAttribute(range_key=True)
    until = NumberAttribute()
    last_seen = NumberAttribute(default=0)
    session_id = UnicodeAttribute()
    account_id = UnicodeAttribute()
    pages_seen = NumberAttribute(null=True)
    # Archives written before the pool index lost `pages` and `snap` carry them; newer ones
    # read the attribution from the Session item (calls.attribution).
    pages = ListAttribute(of=UnicodeAttribute, null=True)
    snap = JSONAttribute(null=True)
    ga_session_id = UnicodeAttribute(null=True)
    expires = TTLAttribute(null=True)


class AccountSessionsIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "account-started-index"
        projection = AllProjection()

    account_id = UnicodeAttribute(hash_key=True)
    started_at = NumberAttribute(range_key=True)


@register
class Session(Model):
    """A website visit as the snippet reported it, with everything calls and reports need."""
    Meta = meta("sessions", stream=True)
    session_id = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
    started_at = NumberAttribute()
    number = UnicodeAttribute()
    method = UnicodeAttribute()                          # dynamic | static | default
    pool_id = UnicodeAttribute(null=True)
    source = UnicodeAttribute()
    medium = UnicodeAttribute()
    group = UnicodeAttribute(null=True)
    campaign = UnicodeAttribute(null=True)
    keyword = UnicodeAttribute(null=True)
    content = UnicodeAttribute(null=True)
    referrer = UnicodeAttribute(null=True)
    landing_page = UnicodeAttribute(null=True)
    click_ids = JSONAttribute(default=dict)
    ga_client_id = UnicodeAttribute(null=True)
    ga_session_id = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    device = UnicodeAttribute(null=True)
    browser = UnicodeAttribute(null=True)
    os = UnicodeAttribute(null=True)
    ip = UnicodeAttribute(null=True)
    country = UnicodeAttribute(null=True)
    bot = BooleanAttribute(default=False)
    expires = TTLAttribute(null=True)
    account_index = AccountSessionsIndex()


@register
class Counter(Model):
    """Small atomic counters: per-IP lease rate windows, pool exhaustion counts."""
    Meta = meta("counters")
    key = UnicodeAttribute(hash_key=True)
    n = NumberAttribute(default=0)
    expires = TTLAttribute(null=True)


class AccountKeysIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "account-key-index"
        projection = AllProjection()

    account_id = UnicodeAttribute(hash_key=True)


@register
class ApiKey(Model):
    """An admin API key, stored as its SHA-256 hash only."""
    Meta = meta("api_keys")
    key_hash = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
    label = UnicodeAttribute(default="")
    created_at = NumberAttribute(default=0)
    revoked = BooleanAttribute(default=False)
    account_index = AccountKeysIndex()


@register
class PoolAdvice(Model):
    """The sizing advisor's last answer for one pool (chalicelib/dni/sizing.py): written by
    the daily schedule and by an asked-for advice, read by pool health in one GetItem, so
    no page a user waits on replays the pool's sessions."""
    Meta = meta("pool_advice")
    key = UnicodeAttribute(hash_key=True)          # account#pool
    computed_at = NumberAttribute()
    advice = JSONAttribute(default=dict)
