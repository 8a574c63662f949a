"""Simulated website traffic: who visits, for how long, whether and when they call.

Every default below names where it comes from. Where no public figure exists the
default is marked ASSUMPTION and the simulator's `--set name=value` lets anyone try
another value; docs/accuracy.md shows how the results move with the important ones.
Nothing here is tuned to flatter the result: these values were fixed before the
lease and attribution policy was tuned.

The traffic is generated once per seed, independent of any policy, so every pool
size and both policies see exactly the same visitors (common random numbers).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, fields, replace
from typing import Dict, List, Optional, Tuple

DAY = 86400.0
MINUTE = 60.0


@dataclass(frozen=True)
class TrafficModel:
    # Issue 7: "default 1,200 visits/day".
    visits_per_day: float = 1200.0
    # Daily cycle: rate(t) = mean * (1 + amplitude * cos(2π (t - peak)/24h)). ASSUMPTION, in
    # line with hourly traffic curves of local-business sites: busiest mid-afternoon, a
    # night trough at 0.4x the mean, the afternoon peak at 1.6x.
    daily_amplitude: float = 0.6
    peak_hour: float = 14.0
    # Time on site: Weibull with shape < 1 (heavy tail). Liu, White & Dumais, "Understanding
    # web browsing behaviors through Weibull analysis of dwell time" (SIGIR 2010) found
    # shape < 1 for ~99% of pages; shape 0.6 and a 2.5-minute mean (the commonly reported
    # average session duration of 2-3 minutes) are ASSUMPTIONS within that finding.
    session_shape: float = 0.6
    session_mean_s: float = 150.0
    # Share of visits from phones: ~60% (StatCounter platform market share, 2023-2024).
    # On a phone, tapping the number leaves the browser: the page stops beating at the call.
    mobile_share: float = 0.6
    # Desktop visits whose tab stays open and visible after the visitor is done (another
    # window in front, a second screen): the snippet keeps beating, so the number stays
    # held. A tab switched away from is hidden and the snippet pauses its heartbeat (its
    # number goes after the hold), which is the visit's end here: counting every
    # left-open tab as still beating is the pessimistic reading for pool occupancy.
    # Share and length: ASSUMPTIONS (15%; lognormal, median 30 min, sigma 1 — a few stay
    # open for many hours).
    background_share: float = 0.15
    background_median_s: float = 1800.0
    background_sigma: float = 1.0
    # A left-open tab's visitor who calls after the snippet went idle comes back to the
    # tab to read the number: this share of them does it with an input (a click to bring
    # the window forward, a scroll, a touch) 15 s before dialling, which wakes the snippet
    # (resume or a new lease). ASSUMPTION: half; the rest read it without touching.
    wake_share: float = 0.5
    # Visitors who come back to the same tab/site later (back button, another page after a
    # break): the snippet resumes with its session_id. ASSUMPTION: 20% return once, after an
    # exponential gap with a 20-minute mean.
    return_share: float = 0.2
    return_gap_mean_s: float = 1200.0
    # Bots that run JavaScript and pass the user-agent check, so they take a lease. Imperva's
    # Bad Bot Report 2024 puts automated traffic at ~50% of all traffic; most is filtered by
    # the user-agent check or never runs the script. ASSUMPTION: 10% of visits reach a lease.
    # They stay 5-60 s, beat at most once, never call.
    bot_share: float = 0.10
    # Calls. Human visits that call: ASSUMPTION 10% (call-heavy local services). The share
    # only changes how many calls are measured, not the lease traffic.
    call_share: float = 0.10
    # When: during the visit, soon after it (within 10 min), or late. ASSUMPTIONS: 60%
    # during, 30% soon after (exponential, 3-minute mean, cut at 10 min), 10% late
    # (lognormal, median 2 h, sigma 1, at least 10 min after the visit).
    during_share: float = 0.60
    soon_share: float = 0.30
    soon_mean_s: float = 180.0
    late_median_s: float = 7200.0
    late_sigma: float = 1.0
    # --- Harder traffic (all off by default; the scenarios in chalicelib/sim/scenarios.py
    # switch them on). Advertising bursts: `bursts_per_day` stretches of `burst_minutes`
    # at `burst_factor` times the hour's rate, starting at random between 08:00 and 21:00.
    bursts_per_day: float = 0.0
    burst_factor: float = 5.0
    burst_minutes: float = 30.0
    # Saturday and Sunday traffic relative to weekdays (day 0 of a run is a Monday).
    weekend_factor: float = 1.0
    # Phones call this many times as often as desktops (click-to-call); a phone's call
    # during the visit is the tap that ends it.
    mobile_call_factor: float = 1.0
    # Late calls with a long tail: this share of the late calls is drawn uniformly
    # between `long_late_min_s` and `long_late_max_s` after the visit (1-72 h).
    long_late_share: float = 0.0
    long_late_min_s: float = 3600.0
    long_late_max_s: float = 259200.0
    # Repeat callers: this share of callers phones the same number again, lognormal
    # `repeat_median_s` later (sigma 1). The right answer is the first call's visit.
    repeat_share: float = 0.0
    repeat_median_s: float = 172800.0

    def with_overrides(self, overrides: Dict[str, str]) -> "TrafficModel":
        kinds = {f.name: f.type for f in fields(self)}
        unknown = set(overrides) - set(kinds)
        if unknown:
            raise ValueError(f"unknown traffic parameter(s): {', '.join(sorted(unknown))}")
        return replace(self, **{k: float(v) for k, v in overrides.items()})

    def describe(self) -> Dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class Visit:
    """One visitor. `segments` are the stretches the page is open and beating:
    (start, end); a second segment is a return with the same session id."""
    vid: int
    bot: bool
    mobile: bool
    segments: List[Tuple[float, float]]
    call_at: Optional[float] = None
    call_kind: Optional[str] = None          # during | soon | late
    extra: Dict[str, float] = field(default_factory=dict)
    # When the visitor last touched the page (the active visit's end): a visible tab
    # left open keeps beating until `idle_seconds` after it (Settings), then stops.
    active_end: Optional[float] = None
    repeat_at: Optional[float] = None        # the same caller phones the same number again

    @property
    def call_delay(self) -> Optional[float]:
        """Seconds between the visit's active end and the call (0 during the visit)."""
        if self.call_at is None:
            return None
        end = self.active_end if self.active_end is not None else self.segments[-1][1]
        return max(0.0, self.call_at - end)


def _weibull_scale(shape: float, mean: float) -> float:
    return mean / math.gamma(1.0 + 1.0 / shape)


def bursts(m: TrafficModel, days: float, rng: random.Random) -> List[Tuple[float, float]]:
    """(start, end) of every advertising burst of the run."""
    out: List[Tuple[float, float]] = []
    for day in range(int(math.ceil(days))):
        whole, part = divmod(m.bursts_per_day, 1.0)
        count = int(whole) + (1 if rng.random() < part else 0)
        for _ in range(count):
            start = day * DAY + rng.uniform(8.0, 21.0) * 3600.0
            out.append((start, start + m.burst_minutes * MINUTE))
    return sorted(out)


def rate_factor(m: TrafficModel, t: float, burst_spans: List[Tuple[float, float]]) -> float:
    """The arrival rate at `t` relative to the mean: daily cycle, weekend, bursts."""
    phase = 2 * math.pi * (t / DAY - m.peak_hour / 24.0)
    f = 1.0 + m.daily_amplitude * math.cos(phase)
    if int(t // DAY) % 7 in (5, 6):
        f *= m.weekend_factor
    if any(a <= t < b for a, b in burst_spans):
        f *= m.burst_factor
    return f


def arrivals(m: TrafficModel, days: float, rng: random.Random) -> List[float]:
    """Non-homogeneous Poisson arrivals by thinning."""
    mean_rate = m.visits_per_day / DAY
    spans = bursts(m, days, rng) if m.bursts_per_day > 0 else []
    top = (1.0 + abs(m.daily_amplitude)) * max(1.0, m.weekend_factor) * (max(1.0, m.burst_factor) if spans else 1.0)
    peak_rate = mean_rate * top
    out: List[float] = []
    t, end = 0.0, days * DAY
    while True:
        t += rng.expovariate(peak_rate)
        if t >= end:
            return out
        if rng.random() * top <= rate_factor(m, t, spans):
            out.append(t)


def _human(m: TrafficModel, vid: int, t0: float, rng: random.Random) -> Visit:
    scale = _weibull_scale(m.session_shape, m.session_mean_s)
    mobile = rng.random() < m.mobile_share
    length = rng.weibullvariate(scale, m.session_shape)
    segments = [(t0, t0 + length)]
    if rng.random() < m.return_share:
        back = segments[-1][1] + rng.expovariate(1.0 / m.return_gap_mean_s)
        segments.append((back, back + rng.weibullvariate(scale, m.session_shape)))
    visit = Visit(vid, False, mobile, segments)
    visit.active_end = segments[-1][1]
    if rng.random() < m.call_share * (m.mobile_call_factor if mobile else 1.0):
        place_call(m, visit, rng)
        if m.repeat_share > 0 and rng.random() < m.repeat_share:
            visit.repeat_at = visit.call_at + rng.lognormvariate(math.log(m.repeat_median_s), 1.0)
    if not mobile and rng.random() < m.background_share:
        start, end = visit.segments[-1]
        last_end = max(end, visit.call_at or end)
        visit.segments[-1] = (start, last_end + rng.lognormvariate(math.log(m.background_median_s),
                                                                  m.background_sigma))
        visit.extra["background"] = 1.0
        if visit.call_at is not None and visit.call_at > end and _own(vid).random() < m.wake_share:
            visit.extra["wake"] = max(end, visit.call_at - 15.0)
    return visit


def _own(vid: int) -> random.Random:
    """A visit's own draws, kept off the shared stream so traffic of the older options
    stays identical."""
    return random.Random(vid * 7919 + 17)


def place_call(m: TrafficModel, v: Visit, rng: random.Random) -> None:
    start, end = v.segments[-1]
    u = rng.random()
    if u < m.during_share:
        v.call_kind = "during"
        # On a phone the tap on the number is the end of the visit; on a desktop the
        # visitor dials from another phone while reading the page.
        v.call_at = end if v.mobile else rng.uniform(start, end)
    elif u < m.during_share + m.soon_share:
        v.call_kind = "soon"
        lag = rng.expovariate(1.0 / m.soon_mean_s)
        while lag > 10 * MINUTE:
            lag = rng.expovariate(1.0 / m.soon_mean_s)
        v.call_at = end + lag
    else:
        v.call_kind = "late"
        lag = 0.0
        if m.long_late_share > 0 and rng.random() < m.long_late_share:
            lag = rng.uniform(m.long_late_min_s, m.long_late_max_s)
        while lag <= 10 * MINUTE:
            lag = rng.lognormvariate(math.log(m.late_median_s), m.late_sigma)
        v.call_at = end + lag


def _bot(vid: int, t0: float, rng: random.Random) -> Visit:
    return Visit(vid, True, False, [(t0, t0 + rng.uniform(5.0, 60.0))])


def generate(m: TrafficModel, days: float, seed: int) -> List[Visit]:
    """All visits of `days` days, sorted by arrival."""
    rng = random.Random(seed)
    visits = []
    for vid, t0 in enumerate(arrivals(m, days, rng)):
        visits.append(_bot(vid, t0, rng) if rng.random() < m.bot_share else _human(m, vid, t0, rng))
    return visits
