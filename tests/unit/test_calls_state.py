"""The final-status reducer on Vonage's canned webhook sequences (tests/events): every
sequence gives its documented status, and the same record in order, duplicated, shuffled."""
from __future__ import annotations

import itertools
from typing import Any, Dict, List

import pytest

from chalicelib.calls import attribution, callbacks, lifecycle, routing, state
from chalicelib.settings import Settings
from tests.events.loader import load, names, variants

NAMES = names()


def context(scenario: Dict[str, Any]) -> Dict[str, Any]:
    rules = routing.routing_of({"routing": scenario["routing"]})
    callback = "callback" in scenario
    return {
        "account_id": "acc", "call_id": "call-1", "started_at": scenario["clock"], "caller": "+14155550100",
        "direction": "callback" if callback else "inbound", "attribution": dict(attribution.EMPTY),
        "plan": callbacks.plan_of(rules) if callback else routing.plan(rules, True),
        "settings": lifecycle.settings_snapshot(Settings.from_map(scenario["settings"])),
    }


def fact(webhook: Dict[str, Any]) -> state.Fact:
    """What the routes do with each webhook path."""
    q, body = webhook["query"], webhook["body"]
    if webhook["path"] == "/vonage/ivr":
        return state.fact_of(body, "input", purpose="ivr")
    if webhook["path"] == "/vonage/recording":
        return state.fact_of(body, "record", purpose=q.get("kind"))
    if webhook["path"] == "/vonage/notify":
        return state.notify_fact(body, q.get("step"), None)
    return state.fact_of(body, "event", leg=q.get("leg"), attempt=int(q["attempt"]) if "attempt" in q else None)


def replay(scenario: Dict[str, Any], webhooks: List[Dict[str, Any]]) -> Dict[str, Any]:
    facts = set()
    for webhook in webhooks:
        f = fact(webhook)
        if f is not None:
            facts.add(state.encode(f))
    return state.derive(context(scenario), facts)


def scenario(name: str) -> Dict[str, Any]:
    return load(name, TO="14155550131", FROM="14155550100", DEST="14155550199", CALL="call-1")


@pytest.mark.parametrize("name", NAMES)
def test_each_sequence_gives_its_status_whatever_the_delivery(name):
    sc = scenario(name)
    results = {label: replay(sc, hooks) for label, hooks in variants(sc["webhooks"]).items()}
    first = results["in_order"]
    assert first["settled"], name
    assert first["status"] == sc["expect"]["status"]
    for key in ("talk_seconds", "wait_seconds", "duration_seconds", "ivr_path", "department",
                "suspected_false_conversion"):
        if key in sc["expect"]:
            assert first[key] == sc["expect"][key], key
    assert bool(first["recording_url"]) == sc["expect"]["recording"]
    assert results["duplicated"] == first
    assert results["shuffled"] == first


def test_every_order_of_the_call_end_gives_one_record():
    """The call's end (agent timeout, caller hang-up, late recording, a retried event) in all 24 orders."""
    sc = scenario("voicemail")
    head, tail = sc["webhooks"][:-4], sc["webhooks"][-4:]
    records = {repr(sorted(replay(sc, head + list(p)).items())) for p in itertools.permutations(tail)}
    assert len(records) == 1


def test_every_final_status_of_the_design_has_a_sequence():
    statuses = {scenario(n)["expect"]["status"] for n in NAMES}
    assert set(state.FINAL_STATUSES) <= statuses


def test_call_is_not_settled_before_the_caller_leg_ends():
    sc = scenario("answered")
    partial = replay(sc, sc["webhooks"][:-1])
    assert partial["status"] == "in_progress" and not partial["settled"]


def test_voicemail_waits_for_its_recording_then_settles():
    sc = scenario("voicemail")
    without = replay(sc, [w for w in sc["webhooks"] if w["path"] != "/vonage/recording"])
    assert not without["settled"]
    assert replay(sc, sc["webhooks"])["settled"]


def test_recorded_answered_call_waits_for_the_recording():
    sc = scenario("answered_ivr_recorded")
    without = replay(sc, [w for w in sc["webhooks"] if w["path"] != "/vonage/recording"])
    assert without["status"] == "answered" and not without["settled"]


def test_callback_retry_is_due_only_after_the_attempt_ends():
    sc = scenario("callback_agent_no_answer")
    ctx = context(sc)
    first_two = {state.encode(fact(w)) for w in sc["webhooks"][:2]}
    assert state.next_callback_attempt(ctx, first_two) is None
    first_attempt = {state.encode(fact(w)) for w in sc["webhooks"][:3]}
    assert state.next_callback_attempt(ctx, first_attempt) == 2
    everything = {state.encode(fact(w)) for w in sc["webhooks"]}
    assert state.next_callback_attempt(ctx, everything) is None  # retries exhausted


def test_vonage_sends_durations_as_strings_or_numbers():
    sc = scenario("answered")
    hooks = sc["webhooks"]
    as_numbers = [dict(w, body={**w["body"], **({"duration": int(w["body"]["duration"])}
                                                if "duration" in w["body"] else {})}) for w in hooks]
    assert replay(sc, as_numbers)["talk_seconds"] == replay(sc, hooks)["talk_seconds"] == 45


def test_unknown_statuses_and_payloads_are_ignored():
    assert state.fact_of({"status": "transfer", "uuid": "u"}) is None
    assert state.fact_of({"recording_uuid": "r"}, "record") is None


def test_hanging_up_during_the_voicemail_prompt_is_missed_without_waiting_for_a_recording():
    sc = scenario("voicemail")
    hooks = [w for w in sc["webhooks"] if w["path"] != "/vonage/recording"]
    caller_end = hooks[-1]
    early = dict(caller_end, body={**caller_end["body"], "end_time": "2026-01-05T10:00:23.500Z",
                                   "timestamp": "2026-01-05T10:00:23.500Z", "duration": "23"})
    outcome = replay(sc, hooks[:-1] + [early])
    assert outcome["settled"] and outcome["status"] == "missed"


@pytest.mark.parametrize("raw", [1e20, -5, float("nan"), "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00Z",
                                 True, "not a time"])
def test_times_outside_any_real_call_are_dropped(raw):
    assert state.epoch(raw) is None


def test_real_times_and_durations_are_read():
    assert state.epoch("2026-11-26T10:00:01.500Z") == 1795687201.5
    assert state.fact_of({"uuid": "u", "status": "completed", "direction": "inbound", "duration": "45",
                          "timestamp": "2026-11-26T10:00:00Z"})["d"] == 45


@pytest.mark.parametrize("raw", ["inf", "nan", "1e300", "-1e9"])
def test_garbage_durations_are_dropped(raw):
    fact = state.fact_of({"uuid": "u", "status": "completed", "direction": "inbound", "duration": raw,
                          "timestamp": "2026-11-26T10:00:00Z"})
    # The leg's status still counts; only the unusable duration is dropped.
    assert (fact["k"], fact["s"], fact["t"]) == ("leg", "completed", 1795687200.0)
    assert fact["d"] is None


def test_a_disconnected_event_without_direction_is_no_leg_of_ours():
    """Vonage documents `disconnected` for WebSocket legs without a `direction`: on the
    application's event URL it must not be taken for the agent's leg."""
    websocket = {"from": "442079460000", "to": "wss://example.com/socket", "uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
                 "conversation_uuid": "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "status": "disconnected",
                 "timestamp": "2020-03-31T12:00:00.000Z", "headers": {"caller-id": "447700900123"}}
    assert state.fact_of(websocket, "event") is None
    assert state.fact_of({**websocket, "direction": "outbound"}, "event")["r"] == "agent"
    assert state.fact_of(websocket, "event", leg="agent")["r"] == "agent"      # our URL names the leg


def test_both_input_shapes_give_the_digits():
    current = {"speech": {"error": "Speech was not enabled"}, "dtmf": {"digits": "2", "timed_out": True},
               "uuid": "u", "conversation_uuid": "CON-1", "timestamp": "2020-07-29T19:20:33.015Z"}
    legacy = {"uuid": "u", "conversation_uuid": "CON-1", "timed_out": True, "dtmf": "2",
              "timestamp": "2020-07-29T19:20:33.015Z"}
    assert state.fact_of(current, "input") == state.fact_of(legacy, "input")
    assert (state.fact_of(legacy, "input")["d"], state.fact_of(legacy, "input")["x"]) == ("2", True)
    assert state.fact_of({"dtmf": {"digits": None, "timed_out": False}}, "input")["d"] == ""


def test_a_notify_names_its_step_from_our_url_or_its_payload():
    body = {"payload": {"step": "voicemail"}, "conversation_uuid": "CON-1", "timestamp": "2020-07-29T17:32:26.628Z"}
    fact = state.notify_fact(body, None, None)
    assert (fact["k"], fact["s"], fact["t"]) == ("step", "voicemail", state.epoch(body["timestamp"]))
    assert state.notify_fact({"payload": {}, "conversation_uuid": "CON-1"}, "bridged", 1_800_000_000.0)["t"] == 1_800_000_000.0
    assert state.notify_fact({"payload": {"step": "anything"}}, None, None) is None


@pytest.mark.parametrize("language, ok", [("ar", True), ("en-GB-WLS", True), ("cmn-CN", True), ("en-US", True),
                                          ("zz-ZZ", False), ("en-us", False), ("", False)])
def test_routing_languages_are_vonages_text_to_speech_codes(language, ok):
    import jsonschema

    valid = jsonschema.Draft7Validator(routing.ROUTING_SCHEMA).is_valid({"language": language})
    assert valid is ok


def test_a_machine_answering_is_no_answer_and_a_human_one_is():
    sc = scenario("machine_business")
    out = replay(sc, sc["webhooks"])
    assert (out["status"], out["talk_seconds"], out["answered_at"], out["agent"]) == ("missed", 0, None, None)
    human = [w if w["body"].get("status") != "machine" else {**w, "body": {**w["body"], "status": "human"}}
             for w in sc["webhooks"]]
    assert replay(sc, human)["status"] == "answered"
    # Beep detection sends another machine event (`sub_state`): still a machine, still no answer.
    beep = [w for w in sc["webhooks"] if w["body"].get("status") == "machine"][0]
    beeped = sc["webhooks"] + [{**beep, "body": {**beep["body"], "sub_state": "beep_start",
                                                 "timestamp": "2026-01-05T10:00:12.000Z"}}]
    assert replay(sc, beeped)["status"] == "missed"
