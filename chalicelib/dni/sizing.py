"""One pool-size recommendation, shared by pool health, the advisor, the CLI and the
dashboard.

- **replay** (the advisor, chalicelib/dni/advisor.py): the smallest pool whose replay of
  the pool's own recorded sessions — their real arrival times, bursts included, and the
  visitors refused a number — gets `accuracy` of the calls during the visit or within
  10 minutes after right. It needs at least advisor.MIN_SESSIONS sessions; the daily
  schedule (and an admin asking for advice at the defaults) keeps it in `PoolAdvice`, so
  reading it is one GetItem. When there is a fresh replay it decides, never below the
  window's peak of leases held at once (a pool cannot serve fewer at its busiest moment).
- **peak** (pool health), when there is no replay: the most leases held at once with
  each number's cool-down counted as occupied, plus a quarter headroom; a pool that ran
  out needs at least half again its size. It ignores that a soft cool-down lends resting
  numbers under pressure, so it errs large (on bursty traffic about twice the replay's
  size, docs/accuracy.md).

The answer says which measure decided (`basis`), the expected accuracy at the
recommended size (from the replay) and warns when refusals came in bursts (most of the
window's fallback sessions inside a few hours: a daily average hides what those hours
need).
"""
from __future__ import annotations

import math
from typing import Any, Dict, Iterable, Optional

from chalicelib.dni.models import PoolAdvice

HEADROOM = 1.25
DEFAULT_ACCURACY = 0.99
DEFAULT_DAYS = 14.0
ADVICE_MAX_AGE = 3 * 86400.0        # older stored advice is reported, not used
BURST_HOURS_SHARE = 0.05            # refusals in at most this share of the window's hours …
BURST_REFUSALS_SHARE = 0.5          # … that hold at least this share of them: a burst


def peak_need(size: int, peak_with_cooldown: int, exhaustions: int) -> int:
    """Enough numbers for the busiest moment with each number resting after its lease,
    plus a quarter headroom; a pool that ran out needs at least half again its size."""
    need = math.ceil(peak_with_cooldown * HEADROOM)
    if exhaustions:
        need = max(need, math.ceil(size * 1.5), size + 1)
    return max(need, 2)


def key(account_id: str, pool_id: str) -> str:
    return f"{account_id}#{pool_id}"


def stored(account_id: str, pool_id: str) -> Optional[Dict[str, Any]]:
    """The pool's last advice (one GetItem), with `computed_at`."""
    try:
        item = PoolAdvice.get(key(account_id, pool_id))
    except PoolAdvice.DoesNotExist:
        return None
    return {**(item.advice or {}), "computed_at": float(item.computed_at)}


def store(account_id: str, pool_id: str, advice: Dict[str, Any], now: float) -> None:
    PoolAdvice(key(account_id, pool_id), computed_at=now, advice=advice).save()


def burst_warning(refusal_hours: Iterable[float], window_hours: float) -> Optional[str]:
    """A sentence when the window's refusals (start times of sessions given the fallback
    number, as epoch seconds) are concentrated in few hours; None otherwise."""
    by_hour: Dict[int, int] = {}
    for t in refusal_hours:
        by_hour[int(t // 3600)] = by_hour.get(int(t // 3600), 0) + 1
    total = sum(by_hour.values())
    if total < 5 or window_hours <= 0:
        return None
    top = sorted(by_hour.values(), reverse=True)
    hours = max(1, math.floor(window_hours * BURST_HOURS_SHARE))
    inside = sum(top[:hours])
    if inside < BURST_REFUSALS_SHARE * total:
        return None
    return (f"{inside} of {total} refused visitors came in the {min(hours, len(top))} busiest hour(s): the pool "
            f"runs out in bursts, which a daily average hides; size for the bursts")


def recommend(size: int, peak: int, peak_with_cooldown: int, exhaustions: int,
              advice: Optional[Dict[str, Any]], now: float) -> Dict[str, Any]:
    """The one recommendation: the fresh replay's size (at least `peak`, the most leases
    held at once), else the peak measure."""
    by_peak = peak_need(size, peak_with_cooldown, exhaustions)
    out: Dict[str, Any] = {"recommended_size": by_peak, "basis": "peak", "peak_need": by_peak,
                           "simulated_need": None, "expected_accuracy": None, "advice_computed_at": None,
                           "warning": None}
    if not advice:
        return out
    fresh = now - float(advice.get("computed_at") or 0) <= ADVICE_MAX_AGE
    out["advice_computed_at"] = advice.get("computed_at")
    out["warning"] = advice.get("burst_warning")
    simulated = advice.get("recommended")
    if fresh and simulated:
        out.update(simulated_need=int(simulated), recommended_size=max(int(simulated), peak, 2), basis="simulated")
    accuracy = _accuracy_at(advice, out["recommended_size"]) if fresh else None
    out["expected_accuracy"] = accuracy
    if fresh and not simulated and advice.get("sessions", 0) and advice.get("sizes"):
        out["warning"] = out["warning"] or "no pool up to the advisor's limit reaches the accuracy asked"
    return out


def _accuracy_at(advice: Dict[str, Any], size: int) -> Optional[float]:
    """The replay's near-call accuracy at the largest measured size not above `size`;
    None when `size` is beyond every measured size (the replay cannot say)."""
    rows = [r for r in advice.get("sizes") or [] if r.get("size", 0) <= size]
    if not rows or size > max(r["size"] for r in advice.get("sizes") or []):
        return None
    return max(rows, key=lambda r: r["size"])["right_near"]
