"""The simulator: in-memory store semantics (leases.py), the event replay, scoring."""
from __future__ import annotations

import pytest


from chalicelib.settings import Settings
from chalicelib.sim import engine, sweep
from chalicelib.sim.store import MemoryStore, StaleRead
from chalicelib.sim.traffic import Visit


def test_store_claim_archives_the_previous_holder_and_checks_what_was_read():
    store = MemoryStore(["+1"])
    first = store.read_pool()[0]
    store.claim("+1", first, "a", 100.0, 400.0)
    with pytest.raises(StaleRead):
        store.claim("+1", first, "b", 150.0, 450.0)       # read before "a" took it
    assert store.extend("+1", "a", 300.0, 600.0)              # heartbeat while live
    store.claim("+1", store.read_pool()[0], "b", 700.0, 1000.0)
    current, older = store.holdings("+1", 800.0)
    assert current.session_id == "b"
    assert [(h.session_id, h.started_at, h.last_seen, h.lease_until) for h in older] == [("a", 100.0, 300.0, 600.0)]
    assert store.holdings("+1", 50.0)[1] == []                 # nothing had started by then


def test_store_heartbeat_needs_a_live_lease_but_a_return_resumes_until_someone_else_takes_it():
    store = MemoryStore(["+1"])
    store.claim("+1", store.read_pool()[0], "a", 0.0, 300.0)
    assert not store.extend("+1", "a", 400.0, 700.0)                       # expired: 410
    assert store.extend("+1", "a", 400.0, 700.0, require_live=False)       # resume
    assert not store.extend("+1", "x", 500.0, 800.0, require_live=False)   # not the holder


def visit(vid, start, end, call_at=None, kind="during", mobile=False):
    return Visit(vid, False, mobile, [(start, end)], call_at, kind if call_at is not None else None)


def test_a_call_during_the_visit_goes_to_that_session_with_high_confidence():
    policy = engine.CalltrackPolicy(2, Settings())
    result = engine.run(policy, [visit(0, 0.0, 600.0, call_at=300.0)])
    assert [c.outcome for c in result.calls] == ["right"] and result.calls[0].confidence >= 0.75


def test_heartbeats_keep_the_number_and_a_late_call_after_it_changed_hands_is_not_confident():
    policy = engine.CalltrackPolicy(1, Settings())
    visits = [visit(0, 0.0, 1800.0, call_at=1800.0 + 3 * 3600, kind="late"),   # 30-min visit, calls 3 h later
              visit(1, 1800.0 + 3600, 1800.0 + 3900),                         # two others had the number since
              visit(2, 1800.0 + 2 * 3600, 1800.0 + 4 * 3600)]
    result = engine.run(policy, visits)
    assert result.exhausted == 0                 # one number served all three: beats kept it, then it was free
    (late,) = result.calls
    assert late.outcome == "wrong" and late.confidence < 0.9


def test_exhausted_pool_gives_the_fallback_and_the_call_is_unattributed():
    policy = engine.CalltrackPolicy(1, Settings())
    result = engine.run(policy, [visit(0, 0.0, 900.0), visit(1, 60.0, 300.0, call_at=120.0)])
    assert result.exhausted == 1 and [(c.outcome, c.fallback) for c in result.calls] == [("none", True)]


def test_naive_lease_is_fixed_fifteen_minutes_without_heartbeat():
    policy = engine.NaivePolicy(1, seed=1)
    visits = [visit(0, 0.0, 3600.0), visit(1, 901.0, 1000.0, call_at=950.0)]
    result = engine.run(policy, visits)
    assert [c.outcome for c in result.calls] == ["right"]         # the first lost the number after 15 min


def test_summary_shares_and_calibration_buckets():
    res = engine.RunResult("calltrack", 3, lease_requests=10, exhausted=1, calls=[
        engine.CallResult("during", "right", 1.0, False), engine.CallResult("soon", "right", 0.95, False),
        engine.CallResult("late", "wrong", 0.92, False), engine.CallResult("late", "none", 0.0, False)])
    p = sweep.summarise(res)
    assert (p.right, p.wrong, p.unattributed, p.exhaustion) == (0.5, 0.25, 0.25, 0.1)
    assert (p.near_right, p.late_calls, p.late_confident_wrong) == (1.0, 2, 0.5)
    assert (p.confident_calls, round(p.confident_right, 3)) == (3, 0.667)
    cal = {label: (n, share) for label, n, share in p.calibration}
    assert cal["0.90-0.99"] == (2, 0.5) and cal["0.99-1.00"] == (1, 1.0) and cal["0.00-0.50"] == (0, None)


def test_ctm_rule_is_one_number_per_twenty_daily_visitors():
    assert sweep.ctm_rule(1200) == 60 and sweep.ctm_rule(10) == 1


def test_heartbeats_hold_the_number_for_the_whole_visit():
    policy = engine.CalltrackPolicy(1, Settings())
    result = engine.run(policy, [visit(0, 0.0, 1800.0), visit(1, 1200.0, 1300.0)])   # 20 min in: still held
    assert result.exhausted == 1
