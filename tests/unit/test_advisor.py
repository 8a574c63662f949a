"""Pool sizing advisor: the smallest pool reaching the accuracy on the recorded traffic."""
from __future__ import annotations

import pytest

from chalicelib.dni import advisor
from chalicelib.settings import Settings
from chalicelib.sim import traffic


def recorded(days: float = 2, per_day: float = 1200, seed: int = 5):
    visits = traffic.generate(traffic.TrafficModel(visits_per_day=per_day), days, seed)
    return [advisor.Recorded(v.segments[0][0], v.segments[0][1] - v.segments[0][0]) for v in visits if not v.bot]


def test_the_advice_is_the_smallest_pool_reaching_the_accuracy():
    sessions = recorded()
    advice = advisor.advise(sessions, 0.97, Settings())
    size = advice.recommended
    assert size is not None and 5 < size < 60
    visits = advisor.trace(sessions)
    assert advisor.score(visits, size, Settings()).near_right >= 0.97
    assert advisor.score(visits, size - 1, Settings()).near_right < 0.97
    assert advice.sessions == len(sessions) and 1.5 < advice.days < 2.5
    assert any(row["size"] == size for row in advice.as_dict()["sizes"])


def test_more_traffic_needs_a_bigger_pool():
    low = advisor.advise(recorded(per_day=300), 0.97, Settings()).recommended
    high = advisor.advise(recorded(per_day=1200), 0.97, Settings()).recommended
    assert low < high


def test_too_few_sessions_is_said_plainly():
    with pytest.raises(advisor.NotEnoughData):
        advisor.advise(recorded()[:10], 0.99, Settings())


def test_unknown_durations_are_drawn_from_the_known_ones():
    known = [advisor.Recorded(i * 100.0, 42.0) for i in range(40)]
    unknown = [advisor.Recorded(5000.0 + i, None) for i in range(10)]
    visits = advisor.trace(known + unknown)
    assert all(v.segments[0][1] - v.segments[0][0] == 42.0 for v in visits)
    assert all(v.call_at is not None for v in visits)                  # every visitor gets one call


def test_the_advisors_probe_calls_do_not_free_numbers_early():
    # Every recorded visitor gets a probe call; if those marked numbers called, every number
    # would skip its cool-down and the advice would count on capacity real traffic lacks.
    visits = advisor.trace(recorded(days=1))
    probed = advisor.score(visits, 10, Settings())
    marking = advisor.sweep.summarise(advisor.engine.run(advisor.engine.CalltrackPolicy(10, Settings()), visits))
    assert probed.exhaustion > marking.exhaustion
