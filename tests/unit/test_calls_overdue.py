"""The settlement sweep's pure decision (`state.overdue`) and what a sweep fact does to the
reducer, on Vonage's canned sequences (tests/events) cut short where a webhook got lost."""
from __future__ import annotations

from typing import Any, Dict, List, Set

import pytest

from chalicelib.calls import state
from tests.events.loader import names
from tests.unit.test_calls_state import context, fact, scenario

NAMES = names()
TALK_BOUND = state.CONNECT_LIMIT_SECONDS + state.SETTLE_MARGIN_SECONDS


def facts_of(webhooks: List[Dict[str, Any]]) -> Set[str]:
    out = set()
    for webhook in webhooks:
        f = fact(webhook)
        if f is not None:
            out.add(state.encode(f))
    return out


def caller_only(sc: Dict[str, Any], status: str) -> List[Dict[str, Any]]:
    return [w for w in sc["webhooks"] if w["path"] == "/vonage/events" and not w["query"].get("leg")
            and w["body"]["status"] == status]


def settle(ctx: Dict[str, Any], facts: Set[str], now: float) -> Dict[str, Any]:
    f = state.overdue(ctx, facts, now)
    assert f is not None
    return state.derive(ctx, facts | {state.encode(f)})


@pytest.mark.parametrize("name", NAMES)
def test_a_complete_call_is_never_overdue(name):
    sc = scenario(name)
    facts = facts_of(sc["webhooks"])
    assert state.overdue(context(sc), facts, sc["clock"] + 30 * 86400) is None


@pytest.mark.parametrize("name", NAMES)
def test_every_call_cut_short_settles_once_overdue_and_never_before(name):
    """Whatever webhook the call lost from its tail, the sweep settles it with a final status,
    not a second before its deadline; the deadline does not depend on when the sweep looks."""
    sc = scenario(name)
    ctx = context(sc)
    for cut in range(len(sc["webhooks"])):
        facts = facts_of(sc["webhooks"][:cut])
        if state.derive(ctx, facts)["settled"]:
            continue
        why, deadline = state.deadline_of(ctx, state.decode(facts))
        assert state.overdue(ctx, facts, deadline - 1) is None, (name, cut)
        first = state.overdue(ctx, facts, deadline)
        assert first == state.overdue(ctx, facts, deadline + 86400) == state.sweep_fact(why, deadline)
        out = state.derive(ctx, facts | {state.encode(first)})
        assert out["settled"] and out["status"] in state.FINAL_STATUSES, (name, cut, out["status"])
        assert state.overdue(ctx, facts | {state.encode(first)}, deadline + 86400) is None   # swept once


@pytest.mark.parametrize("name", NAMES)
def test_real_facts_arriving_after_the_sweep_win(name):
    """Every prefix swept, then the rest delivered: the record is the one the full sequence makes."""
    sc = scenario(name)
    ctx = context(sc)
    full = facts_of(sc["webhooks"])
    expected = state.derive(ctx, full)
    for cut in range(len(sc["webhooks"])):
        facts = facts_of(sc["webhooks"][:cut])
        if state.derive(ctx, facts)["settled"]:
            continue
        _, deadline = state.deadline_of(ctx, state.decode(facts))
        swept = facts | {state.encode(state.overdue(ctx, facts, deadline))}
        assert state.derive(ctx, swept | full) == expected, (name, cut)


def test_answered_call_without_its_end_waits_for_the_connect_limit():
    sc = scenario("answered")
    ctx = context(sc)
    hooks = [w for w in sc["webhooks"] if w["body"].get("status") in ("started", "ringing", "answered")]
    facts = facts_of(hooks)
    answered_at = max(state.epoch(w["body"]["timestamp"]) for w in hooks
                      if w["query"].get("leg") == "agent" and w["body"]["status"] == "answered")
    assert state.derive(ctx, facts)["status"] == "in_progress"
    assert state.overdue(ctx, facts, answered_at + TALK_BOUND - 1) is None   # may still be talking
    out = settle(ctx, facts, answered_at + TALK_BOUND)
    assert out["status"] == "answered" and out["settled"]
    assert out["ended_at"] == max(state.epoch(w["body"]["timestamp"]) for w in hooks)   # last seen alive
    assert out["talk_seconds"] == 0                                      # lower bound: nothing after the answer


def test_caller_legs_started_ringing_answered_only_settles_as_missed_after_quiet():
    sc = scenario("missed")
    ctx = context(sc)
    hooks = caller_only(sc, "started") + caller_only(sc, "ringing") + caller_only(sc, "answered")
    assert len(hooks) == 3
    facts = facts_of(hooks)
    last = max(state.epoch(w["body"]["timestamp"]) for w in hooks)
    assert state.deadline_of(ctx, state.decode(facts)) == ("quiet", last + state.QUIET_SECONDS)
    assert state.overdue(ctx, facts, last + state.QUIET_SECONDS - 1) is None
    out = settle(ctx, facts, last + state.QUIET_SECONDS)
    assert out["status"] == "missed" and out["ended_at"] == last and out["talk_seconds"] == 0


def test_voicemail_whose_recording_never_comes_settles_missed_then_voicemail_when_it_lands():
    sc = scenario("voicemail")
    ctx = context(sc)
    recording = [w for w in sc["webhooks"] if w["path"] == "/vonage/recording"]
    facts = facts_of([w for w in sc["webhooks"] if w not in recording])
    assert state.derive(ctx, facts)["status"] == "missed" and not state.derive(ctx, facts)["settled"]
    end = max(state.epoch(w["body"]["timestamp"]) for w in caller_only(sc, "completed"))
    assert state.overdue(ctx, facts, end + state.AFTER_END_SECONDS - 1) is None
    out = settle(ctx, facts, end + state.AFTER_END_SECONDS)
    assert out["status"] == "missed" and out["recording_url"] is None and out["ended_at"] == end
    sweep = state.encode(state.overdue(ctx, facts, end + state.AFTER_END_SECONDS))
    late = state.derive(ctx, facts | {sweep} | facts_of(recording))
    assert late["status"] == "voicemail" and late["recording_url"] and late["settled"]


def test_a_call_without_any_event_is_quiet_from_its_start():
    sc = scenario("answered")
    ctx = context(sc)
    assert state.overdue(ctx, set(), ctx["started_at"] + state.QUIET_SECONDS - 1) is None
    out = settle(ctx, set(), ctx["started_at"] + state.QUIET_SECONDS)
    assert out["settled"] and out["status"] == "missed" and out["ended_at"] is None


def test_a_call_without_context_is_left_alone():
    assert state.overdue({}, set(), 10 ** 10) is None


def test_a_swept_callback_dials_no_more_attempts():
    sc = scenario("callback_client_no_answer")
    ctx = context(sc)
    first_attempt = [w for w in sc["webhooks"] if w["query"].get("attempt", "1") == "1"]
    # the business answered, the visitor's leg rang: its last event was lost
    hooks = [w for w in first_attempt if not (w["query"].get("leg") == "client"
                                              and w["body"]["status"] in state.TERMINAL)]
    facts = facts_of(hooks)
    assert not state.derive(ctx, facts)["settled"]
    why, deadline = state.deadline_of(ctx, state.decode(facts))
    assert why == "quiet"
    sweep = state.encode(state.overdue(ctx, facts, deadline))
    out = state.derive(ctx, facts | {sweep})
    assert out["settled"] and out["status"] == "callback_client_no_answer"
    assert state.next_callback_attempt(ctx, facts | {sweep} | facts_of(first_attempt)) is None
    assert state.next_callback_attempt(ctx, facts_of(first_attempt)) == 2     # unswept, it would retry


def test_vonage_call_detail_times_are_utc_whatever_their_form():
    assert state.vonage_time("2026-01-05 10:00:50") == "2026-01-05T10:00:50.000Z"
    assert state.vonage_time("2026-01-05T10:00:50.200Z") == "2026-01-05T10:00:50.200Z"
    assert state.vonage_time("2026-01-05T12:00:50+02:00") == "2026-01-05T10:00:50.000Z"
    assert state.vonage_time("yesterday") is None and state.vonage_time(None) is None


def test_a_completed_call_detail_is_the_fact_its_lost_event_would_have_been():
    sc = scenario("answered")
    completed = next(w for w in sc["webhooks"] if w["query"].get("leg") == "agent" and w["body"]["status"] == "completed")
    body = completed["body"]
    detail = {"uuid": body["uuid"], "conversation_uuid": body["conversation_uuid"], "status": "completed",
              "direction": "outbound", "to": body["to"], "duration": body["duration"],
              "start_time": body["start_time"].replace("T", " ").rstrip("Z"),
              "end_time": body["end_time"].replace("T", " ").rstrip("Z")}
    got = state.leg_fact(detail, "agent", 1)
    want = fact(completed)
    assert {k: got[k] for k in ("r", "a", "u", "s", "d", "st", "et", "to")} == {
        k: want[k] for k in ("r", "a", "u", "s", "d", "st", "et", "to")}
    assert state.leg_fact({**detail, "status": "answered"}, "agent", 1) is None     # still up


def test_the_legs_to_ask_vonage_about_are_those_without_an_end():
    sc = scenario("answered")
    ctx = {**context(sc), "caller_uuid": sc["values"]["CALLER_UUID"]}
    v = sc["values"]
    assert state.open_legs(ctx, set()) == [("caller", 1, v["CALLER_UUID"])]          # from the answer
    up = facts_of([w for w in sc["webhooks"] if w["body"]["status"] in ("started", "ringing", "answered")])
    assert state.open_legs(ctx, up) == [("agent", 1, v["AGENT_UUID"]), ("caller", 1, v["CALLER_UUID"])]
    assert state.open_legs(ctx, facts_of(sc["webhooks"])) == []
