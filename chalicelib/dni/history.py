"""Which session held a number at a given time: the question every call asks.

Candidates are the current lease (on the Number item) and the archived leases (the
last HISTORY_DEPTH that started before the call). Each weighs how plausible it is
that the call comes from that visitor (`weight`); the answer is the heaviest, and its
confidence its share of the total weight, where the total also counts the chance
that the call is a late call from an earlier holder (`late_risk`). The shapes were
chosen on the simulator's evidence (chalicelib/sim, docs/accuracy.md):

- a visitor still holding the number (heartbeat + hold) weighs 1, less once the
  visit has lasted over LIVE_FRESH (a forgotten background tab is a poor caller);
- a visitor whose lease ended weighs 1 halving every AFTER_HALF_LIFE, until `grace`
  after the lease ended, then nothing (a call that late is more often from someone
  else: the simulator showed that keeping even the last holder's claim longer adds
  more wrong than right answers);
- every other earlier holder adds its late-call weight (LATE_WEIGHT, halving every
  LATE_HALF_LIFE, for LATE_WINDOW) to the total only: it lowers the confidence of a
  number that changed hands recently, and is never the answer itself;
- a number nobody leased since its last holder's lease ended (an idle number, which
  is most numbers of a roomy pool) keeps a low-confidence claim of that holder for
  LATE_CLAIM after the lease ended — beyond grace, as long as their late-call weight
  is at least LATE_CLAIM_DOMINANCE times everyone else's; the confidence also counts
  one LATE_WEIGHT for a caller the history does not show, so it stays at or below 0.5
  (in the simulator such answers are about three quarters right);
- that late-call risk counts FRESH_RISK times when the call comes in the first
  FRESH_CALL seconds of the answer's visit (most such calls are the visitor tapping
  the number they were just shown), in full otherwise.

Requests: one GetItem of the number (skipped when the caller has it) and one Query
of its recent history.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from chalicelib.dni.models import Lease, Number

HISTORY_DEPTH = 6
# Seconds. Chosen on the simulator's evidence (docs/accuracy.md, "What was tuned").
LIVE_FRESH = 1800.0
LIVE_HALF_LIFE = 1800.0
LIVE_FLOOR = 0.05
AFTER_HALF_LIFE = 300.0
LATE_WEIGHT = 0.15
LATE_HALF_LIFE = 7200.0
LATE_WINDOW = 86400.0
FRESH_CALL = 120.0
FRESH_RISK = 0.75
LATE_CLAIM = 5400.0
LATE_CLAIM_DOMINANCE = 2.0


@dataclass(frozen=True)
class Holding:
    session_id: str
    started_at: float
    last_seen: float
    lease_until: float
    snap: Dict[str, Any] = field(default_factory=dict)
    pages_seen: int = 1
    ga_session_id: Optional[str] = None
    pages: Tuple[str, ...] = ()            # `<epoch>|<url>` entries (leases.page_entry), when kept


@dataclass(frozen=True)
class Match:
    holding: Optional[Holding]
    confidence: float
    candidates: int

    @property
    def session_id(self) -> Optional[str]:
        return self.holding.session_id if self.holding else None


NO_MATCH = Match(None, 0.0, 0)


def weight(h: Holding, at: float, grace: float) -> float:
    """How plausible it is that `at` is a call from the visitor of holding `h`."""
    if at < h.started_at:
        return 0.0
    if at <= h.lease_until:
        stale = at - h.started_at - LIVE_FRESH
        return 1.0 if stale <= 0 else max(LIVE_FLOOR, 0.5 ** (stale / LIVE_HALF_LIFE))
    late = at - h.lease_until
    if late <= grace:
        return 0.5 ** (late / AFTER_HALF_LIFE)
    return 0.0


def late_risk(h: Holding, at: float, grace: float) -> float:
    """Weight of the chance that `at` is a late call from holder `h`, whose lease ended
    longer than `grace` ago (someone who noted the number and calls hours later)."""
    late = at - h.lease_until
    if late <= grace or late > LATE_WINDOW:
        return 0.0
    return LATE_WEIGHT * 0.5 ** ((late - grace) / LATE_HALF_LIFE)


def best(holdings: List[Holding], at: float, grace: float) -> Match:
    """Pure: the most plausible holding at `at` (`weigh`) and its calibrated confidence."""
    raw = weigh(holdings, at, grace)
    if raw.holding is None or at > raw.holding.lease_until + grace:
        return raw                # nobody, or an idle claim: its weak share stands (<= 0.5)
    return Match(raw.holding, calibrated(features(raw.holding, holdings, at, grace, raw.confidence)), raw.candidates)


def weigh(holdings: List[Holding], at: float, grace: float) -> Match:
    """Pure: the most plausible holding at `at`, with its share of the weight as confidence."""
    weighed = [(weight(h, at, grace), h) for h in holdings]
    live = [(w, h) for w, h in weighed if w > 0]
    if not live:
        return idle_claim(holdings, at, grace)
    top_w, top = max(live, key=lambda wh: (wh[0], wh[1].started_at))
    risk = sum(late_risk(h, at, grace) for w, h in weighed if w == 0)
    if at <= top.lease_until and at - top.started_at <= FRESH_CALL:
        risk *= FRESH_RISK
    total = sum(w for w, _ in live) + risk
    return Match(top, round(top_w / total, 4), len(live))


def idle_claim(holdings: List[Holding], at: float, grace: float) -> Match:
    """Pure: past grace, the last holder of a number nobody leased since keeps a weak
    claim (see the module docstring), or nobody is the answer."""
    if not holdings:
        return NO_MATCH
    last = max(holdings, key=lambda h: h.started_at)
    if not (last.lease_until + grace < at <= last.lease_until + LATE_CLAIM):
        return NO_MATCH
    mine = late_risk(last, at, grace)
    others = sum(late_risk(h, at, grace) for h in holdings if h is not last)
    if mine <= 0 or mine < LATE_CLAIM_DOMINANCE * others:
        return NO_MATCH
    return Match(last, round(mine / (mine + others + LATE_WEIGHT), 4), 1)


# --- Calibration --------------------------------------------------------------------
# The weight share above picks the answer well but ranks answers poorly as a confidence
# (on the harder scenarios right and wrong answers overlap: ROC AUC 0.63-0.85). For an
# answer inside its lease or the grace after it, the confidence is a logistic model over
# what the lease history shows at call time, fitted by scripts/fit_confidence.py on
# simulated calls of every preset traffic scenario (chalicelib/sim/scenarios.py) and
# checked on other seeds (docs/accuracy.md, "Confidence"). It is then made conservative:
# an answer whose estimated chance of being right is p gets sigmoid(logit(p) -
# CONSERVATIVE), so 0.9 stands for p = 0.995 (0.99 still left 1.0-1.7% of the >= 0.9 answers
# wrong on 8 of 10 default seeds) and the bands of the reliability table are lower bounds
# of the share right; and it never exceeds MAX_CONFIDENCE, since a caller
# the history cannot see (a number's earlier owner, an old flyer) is never ruled out.
# Idle claims keep their weight share (at most 0.5).
FEATURES = ("share", "live", "after_10min", "log_age_min", "fresh", "churn_24h", "log_rest_h", "log_span_h",
            "late_risk")
COEFFICIENTS: Dict[str, float] = {     # scripts/fit_confidence.py, 33,748 answered calls
    "intercept": 0.632, "share": -0.249, "live": 1.185, "after_10min": -3.008, "log_age_min": -0.321,
    "fresh": 0.679, "churn_24h": 1.223, "log_rest_h": 0.331, "log_span_h": 0.744, "late_risk": -0.197,
}
CONSERVATIVE = math.log(0.995 / 0.005) - math.log(0.9 / 0.1)
MAX_CONFIDENCE = 0.99


def features(top: Holding, holdings: List[Holding], at: float, grace: float, share: float) -> Dict[str, float]:
    """Pure: what the history shows about answer `top` at `at` (FEATURES)."""
    after = max(0.0, at - top.lease_until)
    others = [h for h in holdings if h is not top and h.started_at <= at]   # (a later lease saw nothing)
    earlier = [h for h in others if h.started_at < top.started_at]
    rest = (top.started_at - max(h.lease_until for h in earlier)) if earlier else LATE_WINDOW
    # How far back the other holders go (a busy number's six reach back minutes, a quiet
    # one's days); with nobody else in the history, as far as the late window.
    span = (at - min(h.started_at for h in others)) if others else LATE_WINDOW
    return {
        "share": share, "live": float(at <= top.lease_until), "after_10min": after / 600.0,
        "log_age_min": math.log1p(max(0.0, at - top.started_at) / 60.0),
        "fresh": float(at <= top.lease_until and at - top.started_at <= FRESH_CALL),
        "churn_24h": sum(1 for h in others if 0 <= at - h.lease_until <= LATE_WINDOW) / HISTORY_DEPTH,
        "log_rest_h": math.log1p(min(max(rest, 0.0), LATE_WINDOW) / 3600.0),
        "log_span_h": math.log1p(min(span, LATE_WINDOW) / 3600.0),
        "late_risk": sum(late_risk(h, at, grace) for h in others) / LATE_WEIGHT,
    }


def calibrated(f: Dict[str, float]) -> float:
    """Pure: the conservative confidence of an answer with features `f`."""
    z = COEFFICIENTS["intercept"] + sum(COEFFICIENTS[k] * f[k] for k in FEATURES) - CONSERVATIVE
    return round(min(MAX_CONFIDENCE, 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))), 4)


def current_holding(item: Number) -> Optional[Holding]:
    if not item.holder:
        return None
    return Holding(item.holder, float(item.leased_at), float(item.last_seen or item.leased_at),
                   float(item.lease_until), dict(item.snap or {}), max(1, len(item.pages or [])), item.ga_session_id,
                   tuple(item.pages or ()))


def archived(number: str, at: float) -> List[Holding]:
    leases = Lease.query(number, Lease.started_at <= at, scan_index_forward=False, limit=HISTORY_DEPTH)
    return [Holding(l.session_id, float(l.started_at), float(l.last_seen or l.started_at), float(l.until),
                    dict(l.snap or {}), max(1, int(l.pages_seen or 0), len(l.pages or [])), l.ga_session_id,
                    tuple(l.pages or ()))
            for l in leases]


def who_held(number: str, at: float, grace: float, item: Optional[Number] = None) -> Match:
    """The session that most plausibly showed `number` to the caller at time `at`."""
    if item is None:
        try:
            item = Number.get(number)
        except Number.DoesNotExist:
            return NO_MATCH
    return best(gather(current_holding(item), archived(number, at)), at, grace)


def gather(current: Optional[Holding], older: List[Holding]) -> List[Holding]:
    """Pure: the current lease (if any) and the archived ones, without duplicates.
    The simulator (chalicelib/sim) feeds this the same two inputs from memory."""
    holdings = [current] if current else []
    return holdings + [h for h in older if not holdings or h.started_at != holdings[0].started_at]
