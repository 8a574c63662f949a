"""Call classes from a caller's history, whatever order calls complete in."""
from __future__ import annotations

import itertools

from chalicelib.calls import classify

DAY = 86400.0
CYCLE = 7 * DAY


def history(*calls):
    """calls: (day, call_id, talk_seconds) → the stored entries (target length 30 s)."""
    return [classify.entry(day * DAY, cid, talk, 30) for day, cid, talk in calls]


def test_first_short_call_is_unique_but_not_target():
    h = history((0, "a", 10))
    assert classify.classify(h, "a", CYCLE) == {"unique": True, "target": False, "repeated": False,
                                               "first_target": False, "unique_target": False}


def test_unique_target_then_repeated_inside_cycle_then_target_after_it():
    h = history((0, "a", 45), (3, "b", 60), (5, "c", 5), (8, "d", 40))
    classes = classify.classify_all(classify.parse(h), CYCLE)
    assert classes["a"] == {"unique": True, "target": True, "repeated": False, "first_target": True,
                            "unique_target": True}
    assert classes["b"]["repeated"] and not classes["b"]["target"] and not classes["b"]["unique"]
    assert not any(classes["c"].values())          # short, not first
    assert classes["d"]["target"] and not classes["d"]["repeated"] and not classes["d"]["first_target"]


def test_the_cycle_runs_from_the_target_call_not_from_repeats():
    h = history((0, "a", 45), (6, "b", 45), (12, "c", 45))
    classes = classify.classify_all(classify.parse(h), CYCLE)
    assert [classes[c]["target"] for c in "abc"] == [True, False, True]
    assert classes["b"]["repeated"]


def test_first_target_can_come_after_a_missed_first_call():
    h = history((0, "a", 0), (1, "b", 31))
    classes = classify.classify_all(classify.parse(h), CYCLE)
    assert classes["a"]["unique"] and not classes["a"]["target"]
    assert classes["b"]["first_target"] and classes["b"]["target"] and not classes["b"]["unique_target"]


def test_completion_order_does_not_change_classes():
    calls = [(0, "a", 10), (2, "b", 40), (4, "c", 50), (10, "d", 35)]
    expected = classify.classify_all(classify.parse(history(*calls)), CYCLE)
    for order in itertools.permutations(calls):
        assert classify.classify_all(classify.parse(history(*order)), CYCLE) == expected


def test_a_late_earlier_call_reclassifies_the_later_ones():
    h = history((2, "b", 40))
    assert classify.classify(h, "b", CYCLE)["unique"]
    late = h + history((0, "a", 45))
    changed = classify.changed_by(late, "a", CYCLE)
    assert set(changed) == {"b"}
    assert changed["b"]["repeated"] and not changed["b"]["unique"]


def test_a_call_recorded_twice_counts_once():
    h = history((0, "a", 45)) + history((0, "a", 45))
    assert len(classify.parse(h)) == 1
