"""The attribution policy (chalicelib/dni/history.py) the simulator tuned."""
from __future__ import annotations

from chalicelib.dni import history
from chalicelib.dni.history import Holding

GRACE = 1200.0


def h(sid, start, last_seen, until):
    return Holding(sid, start, last_seen, until)


def test_the_only_holder_on_the_page_is_near_certain_but_never_certain():
    # Nobody else in the history: the 0.70-0.90 band (0.8 stands for p ~ 0.99,
    # docs/accuracy.md), at most MAX_CONFIDENCE: a caller the history cannot see is never ruled out.
    m = history.best([h("a", 0, 100, 400)], at=200, grace=GRACE)
    assert m.session_id == "a" and 0.75 <= m.confidence <= history.MAX_CONFIDENCE < 1.0


def test_a_visitor_on_the_page_beats_one_who_left_and_the_one_who_left_fades_fast():
    gone, here = h("a", 0, 100, 400), h("b", 500, 500, 800)
    soon = history.best([gone, here], at=520, grace=GRACE)
    assert soon.session_id == "b" and 0.2 < soon.confidence < 0.7      # the one who left 2 min ago may call
    later = history.best([gone, h("b", 1300, 1300, 1600)], at=1320, grace=GRACE)
    assert later.session_id == "b" and later.confidence > soon.confidence


def test_past_grace_an_idle_numbers_last_holder_keeps_only_a_weak_claim_for_a_while():
    last = h("a", 0, 100, 400)
    weak = history.best([last], at=400 + GRACE + 1, grace=GRACE)
    assert weak.session_id == "a" and 0 < weak.confidence <= 0.5
    assert history.best([last], at=400 + history.LATE_CLAIM + 1, grace=GRACE).holding is None


def test_past_grace_nobody_is_the_answer_when_the_number_was_busy_before():
    # the last holder's late weight does not dominate that of the holders just before
    busy = [h("c", 2000, 2100, 2400), h("b", 1500, 1600, 1900), h("a", 1000, 1100, 1400)]
    assert history.best(busy, at=2400 + GRACE + 60, grace=GRACE).holding is None


def test_a_call_in_the_first_minutes_of_a_visit_is_less_likely_someone_elses_late_call():
    earlier = h("a", 0, 100, 400)
    fresh = history.best([h("b", 3000, 3000, 3300), earlier], at=3000 + 60, grace=GRACE)
    later = history.best([h("b", 3000, 3600, 3900), earlier], at=3000 + 600, grace=GRACE)
    assert fresh.session_id == later.session_id == "b"
    assert fresh.confidence > later.confidence


def test_recent_earlier_holders_lower_the_confidence_of_a_new_one():
    here = h("c", 10_000, 10_000, 10_300)
    alone = history.best([here], at=10_100, grace=GRACE)
    after_churn = history.best([here, h("b", 7000, 7200, 7500), h("a", 5000, 5100, 5400)], at=10_100, grace=GRACE)
    long_ago = history.best([here, h("a", 0, 100, 400)], at=10_100 + 86_400, grace=GRACE)
    assert alone.confidence >= 0.75
    assert after_churn.session_id == "c" and after_churn.confidence < alone.confidence
    assert long_ago.holding is None or long_ago.session_id == "c"


def test_a_tab_open_for_hours_weighs_less_than_a_fresh_visitor():
    fresh = history.weight(h("a", 0, 60, 360), at=120, grace=GRACE)
    stale = history.weight(h("a", 0, 4 * 3600, 4 * 3600 + 300), at=4 * 3600, grace=GRACE)
    assert fresh == 1.0 and stale < 0.2


def test_gather_drops_the_archived_copy_of_the_current_lease():
    cur = h("b", 500, 600, 900)
    assert [x.session_id for x in history.gather(cur, [cur, h("a", 0, 100, 400)])] == ["b", "a"]
