"""The one pool-size recommendation (chalicelib/dni/sizing.py) and the simulator's harder
traffic (bursts, idle tabs, repeat callers, scenarios, AUC)."""
from __future__ import annotations

import json

import pytest

from chalicelib.dni import sizing
from chalicelib.errors import ValidationFailed
from chalicelib.settings import Settings
from chalicelib.sim import engine, scenarios, sweep, traffic

NOW = 1_800_000_000.0


def advice(recommended, sizes, age=0.0, warning=None):
    return {"recommended": recommended, "sizes": sizes, "sessions": 500, "computed_at": NOW - age,
            "burst_warning": warning}


def test_a_fresh_replay_decides_the_recommendation_and_the_peak_is_the_fallback():
    rows = [{"size": 8, "right_near": 0.9}, {"size": 16, "right_near": 0.995}, {"size": 12, "right_near": 0.97}]
    by_peak = sizing.recommend(10, 6, 8, 0, None, NOW)                     # no replay: 1.25 x 8
    assert (by_peak["recommended_size"], by_peak["basis"], by_peak["expected_accuracy"]) == (10, "peak", None)
    replay = sizing.recommend(10, 6, 8, 0, advice(16, rows), NOW)
    assert (replay["recommended_size"], replay["basis"], replay["expected_accuracy"]) == (16, "simulated", 0.995)
    assert (replay["peak_need"], replay["simulated_need"]) == (10, 16)
    # The replay asks for fewer than the cool-down peak would (a soft cool-down lends resting
    # numbers): the replay decides, but never below the most leases held at once.
    fewer = sizing.recommend(10, 6, 16, 0, advice(12, rows), NOW)
    assert (fewer["recommended_size"], fewer["basis"], fewer["expected_accuracy"]) == (12, "simulated", 0.97)
    floor = sizing.recommend(10, 14, 16, 0, advice(12, rows), NOW)
    assert (floor["recommended_size"], floor["expected_accuracy"]) == (14, 0.97)
    beyond = sizing.recommend(10, 6, 40, 0, advice(None, rows), NOW)     # no size up to the limit reaches it
    assert (beyond["recommended_size"], beyond["basis"], beyond["expected_accuracy"]) == (50, "peak", None)
    assert "no pool up to" in beyond["warning"]
    stale = sizing.recommend(10, 6, 8, 0, advice(16, rows, age=sizing.ADVICE_MAX_AGE + 1), NOW)
    assert (stale["recommended_size"], stale["basis"], stale["simulated_need"]) == (10, "peak", None)


def test_refusals_in_a_few_hours_are_a_burst_warning_and_spread_ones_are_not():
    week = 7 * 24.0
    burst = [NOW + 14 * 3600 + i for i in range(30)] + [NOW + h * 3600 for h in range(0, 160, 40)]
    assert "bursts" in sizing.burst_warning(burst, week)
    spread = [NOW + h * 3600 for h in range(0, 160, 5)]
    assert sizing.burst_warning(spread, week) is None
    assert sizing.burst_warning(burst[:3], week) is None             # too few to say


def test_auc_ranks_right_above_wrong_with_ties_counting_half():
    assert sweep.auc([(0.9, True), (0.8, True), (0.2, False)]) == 1.0
    assert sweep.auc([(0.2, True), (0.9, False)]) == 0.0
    assert sweep.auc([(0.5, True), (0.5, False)]) == 0.5
    assert sweep.auc([(0.5, True)]) is None


def test_bursts_multiply_the_arrival_rate_inside_their_windows():
    import random

    m = traffic.TrafficModel(visits_per_day=2400, bursts_per_day=2, burst_factor=5, burst_minutes=30,
                             daily_amplitude=0.0)
    spans = traffic.bursts(m, 14, random.Random(3))
    assert len(spans) == 28
    arrivals = traffic.generate(m, 14, 3)
    inside = sum(1 for v in arrivals if any(a <= v.segments[0][0] < b for a, b in spans))
    burst_hours = 28 * 0.5
    rate_in, rate_out = inside / burst_hours, (len(arrivals) - inside) / (14 * 24 - burst_hours)
    assert 4.0 < rate_in / rate_out < 6.0


def test_the_default_traffic_is_unchanged_by_the_new_options():
    plain = traffic.generate(traffic.TrafficModel(), 1, 5)
    explicit = traffic.generate(traffic.TrafficModel(bursts_per_day=0, repeat_share=0, long_late_share=0), 1, 5)
    assert [(v.segments, v.call_at) for v in plain] == [(v.segments, v.call_at) for v in explicit]


def test_idle_tabs_give_their_numbers_back_so_fewer_visitors_find_the_pool_exhausted():
    m = traffic.TrafficModel(background_share=0.5, background_median_s=6 * 3600.0)
    visits = traffic.generate(m, 2, 11)
    held = engine.run(engine.CalltrackPolicy(20, Settings(idle_seconds=0)), visits)
    freed = engine.run(engine.CalltrackPolicy(20, Settings(idle_seconds=1800)), visits)
    assert freed.exhausted < held.exhausted / 2


def test_repeat_callers_go_to_their_first_visit_in_the_simulator():
    # A repeat goes where the caller's first call went (right or wrong alike); without the
    # memory it goes to whoever holds the number by then.
    m = traffic.TrafficModel(call_share=0.5, repeat_share=1.0, repeat_median_s=86400.0)
    visits = traffic.generate(m, 3, 2)
    point = sweep.summarise(engine.run(engine.CalltrackPolicy(40, Settings()), visits))
    forgetful = sweep.summarise(engine.run(engine.CalltrackPolicy(40, Settings(repeat_caller_days=0)), visits))
    assert point.repeat_calls > 100
    assert point.repeat_right > 0.9 and point.repeat_wrong <= point.wrong + 0.01
    assert forgetful.repeat_right < 0.2 and forgetful.repeat_wrong > 2 * point.repeat_wrong + 0.1


def test_scenarios_are_presets_or_files_and_unknown_names_are_errors(tmp_path):
    assert set(scenarios.PRESETS) >= {"default", "bursts", "hard"}
    assert scenarios.load("bursts").traffic["burst_factor"] == 5.0
    own = tmp_path / "spring.json"
    own.write_text(json.dumps({"description": "spring", "traffic": {"visits_per_day": 3000},
                               "settings": {"idle_seconds": 900}}))
    got = scenarios.load(str(own))
    assert (got.name, got.traffic, got.settings) == ("spring", {"visits_per_day": 3000.0}, {"idle_seconds": 900})
    with pytest.raises(ValidationFailed):
        scenarios.load("no-such-preset")
    own.write_text(json.dumps({"trafic": {}}))
    with pytest.raises(ValidationFailed):
        scenarios.load(str(own))
