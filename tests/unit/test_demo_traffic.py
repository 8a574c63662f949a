"""The demo month is deterministic, varied and true to the product's rules (pure)."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

from chalicelib import demo_traffic

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc).timestamp()
POOL = [f"+1415555013{i}" for i in range(1, 9)]


def month():
    return demo_traffic.generate("demo", NOW, pool=POOL)


def test_same_inputs_same_month_and_nothing_in_the_last_hour():
    a, b = month(), month()
    assert a["calls"] == b["calls"] and a["sessions"] == b["sessions"]
    assert max(c["ended_at"] for c in a["calls"]) <= NOW - 3600
    assert max(end for _, _, end, _ in a["leases"]) <= NOW - 3600
    assert len({c["call_id"] for c in a["calls"]}) == len(a["calls"])


def test_every_outcome_source_and_direction_is_there():
    m = month()
    statuses = Counter(c["status"] for c in m["calls"])
    assert {"answered", "missed", "busy", "voicemail", "abandoned_in_greeting", "ivr_abandoned"} <= set(statuses)
    assert {"google", "facebook", "bing", "billboard", "(direct)"} <= {c["source"] for c in m["calls"]}
    assert {"inbound", "outbound"} <= {c["direction"] for c in m["calls"]}
    assert {True, False} == {c["within_working_hours"] for c in m["calls"]}
    assert 150 < len(m["calls"]) < 600 and 800 < len(m["sessions"]) < 3000
    missed_share = 1 - statuses["answered"] / len(m["calls"])
    assert 0.15 < missed_share < 0.5


def test_pool_calls_carry_their_session_and_its_leased_number():
    m = month()
    sessions = {s["session_id"]: s for s in m["sessions"]}
    leased = {sid: number for number, _, _, sid in m["leases"]}
    linked = [c for c in m["calls"] if c["session_id"]]
    assert linked and all(c["method"] == "dynamic" for c in linked)
    for c in linked:
        assert leased[c["session_id"]] == c["tracking_number"] == sessions[c["session_id"]]["tracking_number"]
    # A number is never leased to two sessions at once.
    by_number = {}
    for number, start, end, _ in sorted(m["leases"], key=lambda x: x[1]):
        assert start >= by_number.get(number, 0)
        by_number[number] = end


def test_classification_follows_the_rules():
    calls = sorted(month()["calls"], key=lambda c: c["started_at"])
    seen = set()
    for c in calls:
        k = c["classification"]
        assert k["unique"] == (c["caller"] not in seen)
        seen.add(c["caller"])
        assert not (k["target"] and k["repeated"])
        if k["target"] or k["repeated"]:
            assert c["talk_seconds"] >= 30
        assert k["unique_target"] == (k["unique"] and (k["target"] or k["repeated"]))
