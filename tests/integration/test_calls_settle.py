"""The settlement sweep against the emulator: calls whose last webhook never came are
settled by `sweeper.sweep` once overdue, announced once on the real bus (observed through an
SQS queue subscribed to it), and corrected when the real webhook turns up after all."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict

import pytest

from chalicelib.calls import api as calls_api
from chalicelib.calls import state, store, sweeper
from chalicelib.calls.models import UNSETTLED, Call
from chalicelib.dni.models import Number
from chalicelib.geo.phone import digits
from tests.events.loader import load
from tests.integration.calls_support import answer, event_queue, received, replay

DAY = 86400.0
TALK_BOUND = state.CONNECT_LIMIT_SECONDS + state.SETTLE_MARGIN_SECONDS


def tracking_of(account_id: str) -> str:
    return digits(sorted(n.number for n in Number.pool_index.query(f"{account_id}#main"))[0])


def completed_queue(account_id: str) -> str:
    """An SQS queue receiving the account's `Call Completed` events from the bus."""
    return event_queue(account_id, "Call Completed")


def at(text: str) -> float:
    return state.epoch(text)


@pytest.fixture()
def inbound(client, account, monkeypatch):
    """A fresh account set up for the named canned scenario, its queue, and the scenario."""

    def make(name: str, caller: str = "14155550160", acc=None, later_by: float = 0.0):
        sc = load(name)
        if acc is None:
            acc = account(extra_config={"routing": sc["routing"]}, settings=sc["settings"])
        sc = load(name, TO=tracking_of(acc.account_id), FROM=caller, DEST="14155550199")
        monkeypatch.setattr(calls_api, "clock", lambda: sc["clock"] + later_by)
        answer(client, sc["answer"])
        return acc, sc

    return make


def unsettled_ids() -> set:
    return {c.call_id for c in Call.unsettled_index.query(UNSETTLED)}


def test_an_answered_call_whose_end_never_came_is_settled_once_then_corrected(client, inbound):
    acc, sc = inbound("answered")
    queue = completed_queue(acc.account_id)
    call_id = sc["values"]["CONV"]
    until_answered = [w for w in sc["webhooks"] if w["body"]["status"] in ("started", "ringing", "answered")]
    replay(client, until_answered)
    assert store.get_call(acc.account_id, call_id)["status"] == "in_progress"
    assert call_id in unsettled_ids()
    answered_at = max(at(w["body"]["timestamp"]) for w in until_answered if w["query"].get("leg") == "agent")

    sweeper.sweep(now=answered_at + TALK_BOUND - 1)            # the agent may still be talking
    assert store.get_call(acc.account_id, call_id)["status"] == "in_progress"
    for _ in range(2):                                         # the next runs find nothing new to do
        sweeper.sweep(now=answered_at + TALK_BOUND)
    call = store.get_call(acc.account_id, call_id)
    assert call["status"] == "answered" and call["talk_seconds"] == 0 and call["classification"]["unique"]
    assert call_id not in unsettled_ids()
    (announced,) = received(queue)
    assert announced["call_id"] == call_id and announced["status"] == "answered"

    # The real end turns up after all (Vonage's retry, our endpoint back): the real facts win.
    replay(client, [w for w in sc["webhooks"] if w not in until_answered])
    call = store.get_call(acc.account_id, call_id)
    assert (call["status"], call["talk_seconds"], call["duration_seconds"]) == (
        "answered", sc["expect"]["talk_seconds"], sc["expect"]["duration_seconds"])
    (corrected,) = received(queue)                             # the corrected record, announced once
    assert corrected["talk_seconds"] == sc["expect"]["talk_seconds"] and corrected["classification"]["target"]
    replay(client, sc["webhooks"])                             # Vonage retrying everything: nothing new
    sweeper.sweep(now=answered_at + 2 * TALK_BOUND)
    assert received(queue) == [] and call_id not in unsettled_ids()


def test_a_voicemail_without_its_recording_settles_missed_once_under_concurrent_sweeps(client, inbound):
    acc, sc = inbound("voicemail", caller="14155550161")
    queue = completed_queue(acc.account_id)
    call_id = sc["values"]["CONV"]
    recording = [w for w in sc["webhooks"] if w["path"] == "/vonage/recording"]
    replay(client, [w for w in sc["webhooks"] if w not in recording])
    assert call_id in unsettled_ids() and received(queue) == []    # waiting for the recording
    end = max(at(w["body"]["timestamp"]) for w in sc["webhooks"] if w not in recording)

    sweeper.sweep(now=end + state.AFTER_END_SECONDS - 1)
    assert received(queue) == [] and call_id in unsettled_ids()
    with ThreadPoolExecutor(4) as pool:                        # overlapping runs of the schedule
        list(pool.map(lambda _: sweeper.sweep(now=end + state.AFTER_END_SECONDS), range(4)))
    call = store.get_call(acc.account_id, call_id)
    assert call["status"] == "missed" and call["recording_url"] is None
    assert [d["status"] for d in received(queue)] == ["missed"]

    replay(client, recording)                                  # the recording lands after all
    call = store.get_call(acc.account_id, call_id)
    assert call["status"] == "voicemail" and call["recording_url"]
    assert [d["status"] for d in received(queue)] == ["voicemail"]


def test_the_scheduled_handler_settles_with_its_clock(client, inbound, monkeypatch):
    acc, sc = inbound("missed", caller="14155550162")
    call_id = sc["values"]["CONV"]
    caller_legs = [w for w in sc["webhooks"] if not w["query"].get("leg") and w["body"]["status"] in (
        "started", "ringing", "answered")]
    replay(client, caller_legs)
    last = max(at(w["body"]["timestamp"]) for w in caller_legs)
    monkeypatch.setattr(sweeper, "clock", lambda: last + state.QUIET_SECONDS)
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                            resources=["arn:aws:events:us-east-1:123456789012:rule/sweep"])
    counts = client.lambda_.invoke("settle_overdue_calls", event).payload
    assert counts["settled"] >= 1 and counts["failed"] == 0
    assert store.get_call(acc.account_id, call_id)["status"] == "missed"


def test_a_call_reclassified_by_a_late_earlier_call_is_announced_again_without_a_webhook(client, inbound):
    acc, earlier = inbound("answered", caller="14155550163")
    queue = completed_queue(acc.account_id)
    _, later = inbound("answered", caller="14155550163", acc=acc, later_by=DAY)   # the caller again next day
    replay(client, later["webhooks"])                          # the later call completes first…
    (first,) = received(queue)
    assert first["call_id"] == later["values"]["CONV"] and first["classification"]["unique_target"]
    replay(client, earlier["webhooks"])                        # …then the earlier one
    by_call = {d["call_id"]: d for d in received(queue)}
    assert by_call[earlier["values"]["CONV"]]["classification"]["unique_target"]
    again = by_call[later["values"]["CONV"]]                   # re-announced with its new classes
    assert again["classification"]["repeated"] and not again["classification"]["unique"]
    assert store.get_call(acc.account_id, later["values"]["CONV"])["classification"] == again["classification"]
    assert not {earlier["values"]["CONV"], later["values"]["CONV"]} & unsettled_ids()   # settled calls leave the index


def vonage_leg(uuid_: str, conv: str, status: str, direction: str, to: str, start: str, end: str = None,
               duration: str = None) -> Dict[str, Any]:
    """A call-detail body as Vonage's GET /v1/calls/{uuid} documents it (times without zone)."""
    body = {"uuid": uuid_, "conversation_uuid": conv, "status": status, "direction": direction,
            "to": {"type": "phone", "number": to}, "from": {"type": "phone", "number": "14155550164"},
            "start_time": start, "network": "310260"}
    if end:
        body.update(end_time=end, duration=duration, rate="0.00450000", price="0.00360000")
    return body


@pytest.fixture()
def vonage(tmp_path):
    from tests.integration.calls_support import vonage_stub

    with vonage_stub(tmp_path) as stub:
        yield stub


def test_the_lost_ends_are_read_from_vonage_before_settling_on_known_facts(client, inbound, vonage):
    acc, sc = inbound("answered", caller="14155550164")
    queue = completed_queue(acc.account_id)
    v, call_id = sc["values"], sc["values"]["CONV"]
    until_answered = [w for w in sc["webhooks"] if w["body"]["status"] in ("started", "ringing", "answered")]
    replay(client, until_answered)
    answered_at = max(at(w["body"]["timestamp"]) for w in until_answered if w["query"].get("leg") == "agent")
    vonage.legs[v["CALLER_UUID"]] = vonage_leg(v["CALLER_UUID"], call_id, "answered", "inbound", v["TO"],
                                               "2026-01-05 10:00:00")
    vonage.legs[v["AGENT_UUID"]] = vonage_leg(v["AGENT_UUID"], call_id, "answered", "outbound", "14155550199",
                                              "2026-01-05 10:00:05")
    sweeper.sweep(now=answered_at + TALK_BOUND)                # Vonage says the call is still up: wait
    assert call_id in unsettled_ids() and received(queue) == []
    assert {r["path"] for r in vonage.requests if r["method"] == "GET"} == {
        f"/v1/calls/{v['CALLER_UUID']}", f"/v1/calls/{v['AGENT_UUID']}"}

    vonage.legs[v["CALLER_UUID"]] = vonage_leg(v["CALLER_UUID"], call_id, "completed", "inbound", v["TO"],
                                               "2026-01-05 10:00:00", "2026-01-05 10:00:50", "50")
    vonage.legs[v["AGENT_UUID"]] = vonage_leg(v["AGENT_UUID"], call_id, "completed", "outbound", "14155550199",
                                              "2026-01-05 10:00:05", "2026-01-05 10:00:50", "45")
    sweeper.sweep(now=answered_at + TALK_BOUND + 300)          # the next run: Vonage knows how it ended
    call = store.get_call(acc.account_id, call_id)
    assert (call["status"], call["talk_seconds"], call["duration_seconds"], call["ended_at"]) == (
        "answered", 44, 50, "2026-01-05T10:00:50Z")            # 45 s agent leg less the ~1 s whisper
    assert not any('"k":"sweep"' in f for f in Call.get(call_id).evs)   # settled on real facts alone
    (announced,) = received(queue)
    assert announced["talk_seconds"] == 44 and announced["classification"]["target"]
    replay(client, [w for w in sc["webhooks"] if w not in until_answered])   # the webhooks after all
    assert received(queue) == [] and store.get_call(acc.account_id, call_id)["talk_seconds"] == 44


def test_a_leg_vonage_does_not_know_is_settled_on_known_facts(client, inbound, vonage):
    acc, sc = inbound("missed", caller="14155550165")
    call_id = sc["values"]["CONV"]
    caller_legs = [w for w in sc["webhooks"] if not w["query"].get("leg") and w["body"]["status"] in (
        "started", "ringing", "answered")]
    replay(client, caller_legs)
    last = max(at(w["body"]["timestamp"]) for w in caller_legs)
    sweeper.sweep(now=last + state.QUIET_SECONDS)              # 404 from Vonage
    assert [r["path"] for r in vonage.requests if r["method"] == "GET"] == [f"/v1/calls/{sc['values']['CALLER_UUID']}"]
    assert store.get_call(acc.account_id, call_id)["status"] == "missed"
    assert call_id not in unsettled_ids()


def test_a_call_whose_facts_were_stored_but_never_derived_is_settled_by_the_next_sweep(client, inbound):
    from chalicelib.calls import lifecycle
    from tests.unit.test_calls_state import fact

    acc, sc = inbound("busy", caller="14155550166")
    queue = completed_queue(acc.account_id)
    call_id = sc["values"]["CONV"]
    for webhook in sc["webhooks"]:                 # each webhook's Lambda died after storing its fact
        lifecycle.add_fact(call_id, fact(webhook))
    assert store.get_call(acc.account_id, call_id)["status"] == "in_progress" and call_id in unsettled_ids()
    end = max(at(w["body"]["timestamp"]) for w in sc["webhooks"])
    counts = sweeper.sweep(now=end + state.AFTER_END_SECONDS)
    assert counts["refreshed"] >= 1
    assert store.get_call(acc.account_id, call_id)["status"] == sc["expect"]["status"]
    assert [d["status"] for d in received(queue)] == [sc["expect"]["status"]] and call_id not in unsettled_ids()
