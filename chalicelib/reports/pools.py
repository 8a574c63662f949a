"""Pool health: how busy each number pool of an account is and how many numbers it
should have.

Per pool, over a window (default 7 days): size (enabled numbers), leased now, the peak
number of leases held at once (from the lease history and the current leases), the
peak counting each number's cool-down as occupied too (what the pool really needs so
that no number changes hands early), how often the pool ran out (the DNI side's daily
counters, see `record_exhaustion`), and the one recommended size (chalicelib/dni/sizing.py:
the advisor's replay of the pool's own sessions when there is one, else that peak's need).
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple


from chalicelib.accounts import AccountView, get_account
from chalicelib.dni import sizing
from chalicelib.dni.leases import pool_key
from chalicelib.dni.models import Lease, Number
from chalicelib.dni.usage import exhaustions

Clock = Callable[[], float]
Interval = Tuple[float, float]
DEFAULT_WINDOW_DAYS = 7
LONGEST_LEASE_SECONDS = 86400  # leases started this long before the window can still overlap it


def peak_concurrent(intervals: Iterable[Interval]) -> int:
    """The most intervals [start, end) open at one instant (a sweep over their ends)."""
    events: List[Tuple[float, int]] = []
    for start, end in intervals:
        if end > start:
            events += [(start, 1), (end, -1)]
    events.sort(key=lambda e: (e[0], e[1]))  # an end before a start at the same instant
    open_now = peak = 0
    for _, step in events:
        open_now += step
        peak = max(peak, open_now)
    return peak


def clipped(intervals: Iterable[Interval], since: float, until: float) -> List[Interval]:
    return [(max(a, since), min(b, until)) for a, b in intervals if b > since and a < until]


def recommended_size(size: int, peak_with_cooldown: int, exhaustions: int) -> int:
    """The peak measure alone (sizing.peak_need); the recommendation is sizing.recommend."""
    return sizing.peak_need(size, peak_with_cooldown, exhaustions)


def health(pool_id: str, numbers: Sequence[Mapping[str, Any]], history: Iterable[Interval], now: float,
           since: float, cooldown: float, exhaustions: int,
           advice: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """One pool's figures. `numbers`: dicts with enabled, holder, leased_at, lease_until;
    `history`: (start, end) of archived leases of the pool's numbers."""
    enabled = [n for n in numbers if n.get("enabled", True)]
    current = [(float(n["leased_at"]), float(n["lease_until"])) for n in numbers if n.get("leased_at")]
    leases = list(history) + current
    leased_now = sum(1 for n in enabled if n.get("holder") and float(n.get("lease_until") or 0) > now)
    peak = peak_concurrent(clipped(leases, since, now))
    peak_cool = peak_concurrent(clipped([(a, b + cooldown) for a, b in leases], since, now))
    size = len(enabled)
    return {
        "pool_id": pool_id, "size": size, "numbers": len(numbers), "leased_now": leased_now,
        "utilisation_now_pct": round(100.0 * leased_now / size, 1) if size else None,
        "peak_concurrent_leases": peak, "peak_utilisation_pct": round(100.0 * peak / size, 1) if size else None,
        "peak_with_cooldown": peak_cool, "leases_in_window": len(clipped(leases, since, now)),
        "exhaustions": exhaustions,
        **_recommendation(size, peak, peak_cool, exhaustions, advice, now),
    }


def _recommendation(size: int, peak: int, peak_cool: int, exhaustions: int, advice: Optional[Mapping[str, Any]],
                    now: float) -> Dict[str, Any]:
    rec = sizing.recommend(size, peak, peak_cool, exhaustions, dict(advice) if advice else None, now)
    fresh = rec["advice_computed_at"] is not None and now - float(rec["advice_computed_at"]) <= sizing.ADVICE_MAX_AGE
    return {"recommended_size": rec["recommended_size"], "recommendation": rec,
            "reliability": (advice or {}).get("reliability") if fresh else None}


# --- DynamoDB reads (and the one write the DNI side calls) --------------------------

def pool_ids(account: AccountView, extra: Optional[str] = None) -> List[str]:
    """Every pool the account leases from (configuration) or has numbers in (a filtered
    scan of the numbers: an admin path, never per visit)."""
    found: Set[str] = {p for p in (account.default_pool, extra) if p}
    for rule in [*account.rules, *account.geo]:
        target = rule.get("target") if isinstance(rule.get("target"), dict) else rule
        if isinstance(target, dict) and isinstance(target.get("pool"), str):
            found.add(target["pool"])
    numbers = Number.account_index.query(account.account_id, filter_condition=Number.kind == "pool")
    found |= {n.pool_id for n in numbers if n.pool_id}
    return sorted(found)


def _history(numbers: Iterable[str], since: float, until: float) -> List[Interval]:
    out: List[Interval] = []
    for number in numbers:
        for lease in Lease.query(number, Lease.started_at.between(since - LONGEST_LEASE_SECONDS, until)):
            out.append((float(lease.started_at), float(lease.until)))
    return out


def pool_health(account_id: str, days: float = DEFAULT_WINDOW_DAYS, pool: Optional[str] = None,
                clock: Clock = time.time, advice: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Every pool's figures and its one recommendation; the advisor's last answer for
    each pool is one GetItem (`advice` given: that one instead, for `pool`)."""
    account = get_account(account_id, clock)
    now = clock()
    since = now - days * 86400
    pools = []
    for pool_id in ([pool] if pool else pool_ids(account)):
        items = [n for n in Number.pool_index.query(pool_key(account_id, pool_id)) if n.account_id == account_id]
        numbers = [{"number": n.number, "enabled": n.enabled, "holder": n.holder, "leased_at": n.leased_at,
                    "lease_until": n.lease_until} for n in items]
        history = _history((n.number for n in items), since, now)
        pools.append(health(pool_id, numbers, history, now, since, account.settings.cooldown_seconds,
                            exhaustions(account_id, pool_id, since, now),
                            advice if advice is not None else sizing.stored(account_id, pool_id)))
    return {"account_id": account_id, "window_days": days, "cooldown_seconds": account.settings.cooldown_seconds,
            "pools": pools}
