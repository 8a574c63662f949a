"""Which number is leased next: least recently released first; cool-down soft or hard."""
from chalicelib.dni.pool import PoolNumber, candidates

NOW = 1_000_000.0


def n(number, until, holder="s"):
    return PoolNumber(number, holder if until else None, until - 60 if until else 0, until)


def test_never_used_then_least_recently_released_first_and_live_leases_skipped():
    pool = [n("+1", NOW - 700), n("+2", NOW - 3000), n("+3", 0), n("+4", NOW + 100)]
    assert [c.number for c in candidates(pool, NOW, cooldown=600)] == ["+3", "+2", "+1"]


def test_soft_cooldown_reuses_a_resting_number_rather_than_refusing():
    pool = [n("+1", NOW - 100), n("+2", NOW - 50), n("+3", NOW + 100)]
    assert [c.number for c in candidates(pool, NOW, cooldown=600, mode="soft")] == ["+1", "+2"]


def test_hard_cooldown_never_hands_out_a_resting_number():
    pool = [n("+1", NOW - 100), n("+2", NOW - 900)]
    assert [c.number for c in candidates(pool, NOW, cooldown=600, mode="hard")] == ["+2"]


def test_disabled_numbers_are_never_leased():
    pool = [PoolNumber("+1", None, 0, 0, enabled=False), n("+2", 0)]
    assert [c.number for c in candidates(pool, NOW, cooldown=600)] == ["+2"]


def test_soft_cooldown_hands_on_a_resting_number_only_after_min_rest():
    pool = [n("+1", NOW - 100), n("+2", NOW - 400), n("+3", NOW + 100)]
    assert [c.number for c in candidates(pool, NOW, cooldown=600, min_rest=300)] == ["+2"]
    assert [c.number for c in candidates(pool, NOW, cooldown=600, min_rest=0)] == ["+2", "+1"]


def test_min_rest_never_exceeds_the_cooldown():
    pool = [n("+1", NOW - 150), n("+2", NOW - 50)]
    assert [c.number for c in candidates(pool, NOW, cooldown=0, min_rest=300)] == ["+1", "+2"]
    assert [c.number for c in candidates(pool, NOW, cooldown=120, min_rest=300)] == ["+1"]


def test_a_number_whose_holder_called_goes_first_cooldown_or_not():
    called = PoolNumber("+1", "s", NOW - 160, NOW - 100, called=True)       # released 100 s ago, caller done
    pool = [n("+2", NOW - 3000), called, n("+3", NOW - 50)]
    assert [c.number for c in candidates(pool, NOW, cooldown=600, min_rest=300)] == ["+1", "+2"]
    assert [c.number for c in candidates(pool, NOW, cooldown=600, mode="hard")] == ["+1", "+2"]


def test_a_holder_that_called_keeps_the_number_while_the_lease_lasts():
    live = PoolNumber("+1", "s", NOW - 60, NOW + 100, called=True)
    assert candidates([live, n("+2", NOW - 50)], NOW, cooldown=600, min_rest=300) == []
