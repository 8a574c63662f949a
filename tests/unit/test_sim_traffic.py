"""The simulated traffic has the shape its documentation promises."""
from __future__ import annotations

import statistics

from chalicelib.sim import traffic

DAYS = 7
VISITS = traffic.generate(traffic.TrafficModel(), DAYS, seed=11)


def hour(t: float) -> float:
    return (t % traffic.DAY) / 3600


def test_volume_and_daily_cycle():
    assert abs(len(VISITS) - 1200 * DAYS) < 0.05 * 1200 * DAYS
    afternoon = sum(12 <= hour(v.segments[0][0]) < 16 for v in VISITS)
    night = sum(0 <= hour(v.segments[0][0]) < 4 for v in VISITS)
    assert afternoon > 2.5 * night                     # peak 1.6x mean, trough 0.4x mean


def test_session_lengths_are_heavy_tailed_with_the_documented_mean():
    lengths = [v.segments[0][1] - v.segments[0][0] for v in VISITS if not v.bot and not v.extra]
    mean, median = statistics.mean(lengths), statistics.median(lengths)
    assert 120 < mean < 180
    assert median < 0.6 * mean                          # Weibull shape < 1: mean far above median
    assert max(lengths) > 20 * median


def test_bots_never_call_and_calls_are_timed_as_documented():
    bots = [v for v in VISITS if v.bot]
    assert bots and all(v.call_at is None for v in bots)
    assert 0.07 < len(bots) / len(VISITS) < 0.13
    calls = [v for v in VISITS if v.call_at is not None]
    kinds = {k: sum(v.call_kind == k for v in calls) / len(calls) for k in ("during", "soon", "late")}
    assert abs(kinds["during"] - 0.6) < 0.06 and abs(kinds["late"] - 0.1) < 0.04
    for v in calls:
        start, end = v.segments[-1]
        visible_end = end if not v.extra else None
        if v.call_kind == "during":
            assert start <= v.call_at <= end
        elif visible_end is not None:
            lag = v.call_at - visible_end
            assert (0 <= lag <= 600) if v.call_kind == "soon" else lag > 600


def test_phone_visitors_call_at_the_end_of_the_visit_and_only_desktop_tabs_stay_in_the_background():
    mobile_during = [v for v in VISITS if v.mobile and v.call_kind == "during"]
    assert mobile_during and all(v.call_at == v.segments[-1][1] for v in mobile_during)
    assert not any(v.mobile and v.extra.get("background") for v in VISITS)
    assert any(v.extra.get("background") for v in VISITS)


def test_overrides_are_checked_and_the_same_seed_gives_the_same_traffic():
    assert traffic.TrafficModel().with_overrides({"visits_per_day": "600"}).visits_per_day == 600.0
    try:
        traffic.TrafficModel().with_overrides({"nope": "1"})
    except ValueError as err:
        assert "nope" in str(err)
    else:
        raise AssertionError("unknown parameter accepted")
    again = traffic.generate(traffic.TrafficModel(), DAYS, seed=11)
    assert [v.segments for v in again] == [v.segments for v in VISITS]
    assert [v.segments for v in traffic.generate(traffic.TrafficModel(), DAYS, seed=12)] != [v.segments for v in VISITS]
