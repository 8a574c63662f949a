"""Spam's pure parts: bursts, the block list, the press-a-key check, verdicts, what the
rules and the transcript say, and how a flagged call is counted and announced."""
from __future__ import annotations

import hashlib
from zoneinfo import ZoneInfo

import pytest

from chalicelib.calls import ncco, spam, state
from chalicelib.calls.outbox import COMPLETED_V2_KEYS, completed_v1
from chalicelib.integrations import webhooks
from chalicelib.reports import filters as flt
from chalicelib.reports import rollups

CFG = spam.settings_of({})
T0 = 1_780_000_000.0


def shorts(*calls):
    return [spam.short_entry(T0 + at, cid, number) for at, cid, number in calls]


def test_a_burst_needs_enough_short_calls_to_enough_numbers_inside_the_window():
    three = shorts((0, "a", "+14155550001"), (600, "b", "+14155550002"), (1200, "c", "+14155550001"))
    assert spam.burst_of(three, "c", CFG) == ["a", "b", "c"]
    assert spam.burst_of(three, "a", CFG) == ["a", "b", "c"]           # the first is part of it too
    one_number = shorts((0, "a", "+14155550001"), (600, "b", "+14155550001"), (1200, "c", "+14155550001"))
    assert spam.burst_of(one_number, "c", CFG) == []                    # min_numbers 2
    assert spam.burst_of(one_number, "c", spam.settings_of({"spam": {"burst": {"min_numbers": 1}}})) == ["a", "b", "c"]
    spread = shorts((0, "a", "+14155550001"), (3000, "b", "+14155550002"), (6000, "c", "+14155550001"))
    assert spam.burst_of(spread, "c", CFG) == []                        # never three within 60 min
    two = three[:2]
    assert spam.burst_of(two, "b", CFG) == []
    assert spam.burst_of(three, "c", spam.settings_of({"spam": {"burst": {"enabled": False}}})) == []
    # A call outside every burst window is not flagged by a burst elsewhere in the history.
    later = three + shorts((9000, "d", "+14155550003"))
    assert spam.burst_of(later, "d", CFG) == [] and spam.burst_of(later, "b", CFG) == ["a", "b", "c"]
    assert spam.burst_of(["garbage", "1|x"], "x", CFG) == []


def test_short_means_the_whole_call_from_start_to_end():
    assert spam.is_short({"duration_seconds": 10}, CFG) and not spam.is_short({"duration_seconds": 11}, CFG)
    assert not spam.is_short({"duration_seconds": None}, CFG)


def test_the_block_list_takes_numbers_or_their_hashes():
    robot = "+12025550177"
    h = hashlib.sha256(robot.encode()).hexdigest()
    assert spam.blocked({"block_list": [robot]}, robot, h)
    assert spam.blocked({"block_list": [f"hash:{h}"]}, robot, h)
    assert not spam.blocked({"block_list": [robot]}, "+12025550178", "0" * 64)
    assert not spam.blocked({"block_list": []}, robot, h) and not spam.blocked({"block_list": [robot]}, None, None)


def test_the_challenge_is_per_number_or_everywhere():
    cfg = spam.settings_of({"spam": {"challenge": {"numbers": ["+14155550001"], "digit": "7"}}})
    check = spam.challenge_of(cfg, "+14155550001")
    assert check == {"prompt": "To be connected, press 7.", "digit": "7", "timeout_seconds": 5}
    assert spam.challenge_of(cfg, "+14155550002") is None
    assert spam.challenge_of(spam.settings_of({"spam": {"challenge": {"numbers": ["*"]}}}), "+1415555") is not None
    assert spam.challenge_of(CFG, "+14155550001") is None


def test_a_persons_verdict_overrides_the_reasons():
    assert spam.reasons_of({"rules", "burst"}) == ["burst", "rules"]
    assert spam.reasons_of({"rules", "burst"}, "not_spam") == []
    assert spam.reasons_of(None, "spam") == ["operator"]
    assert spam.reasons_of(None) == []


def test_the_transcript_says_spam_through_the_rules_or_a_silent_caller():
    answered = {"status": "answered", "talk_seconds": 45}
    assert spam.transcript_reasons("spam", {**answered, "caller_words": 12}, CFG) == ["rules"]
    assert spam.transcript_reasons(None, {**answered, "caller_words": 0}, CFG) == ["silent"]
    assert spam.transcript_reasons(None, {**answered, "caller_words": None}, CFG) == []     # mono: unknown
    assert spam.transcript_reasons(None, {**answered, "talk_seconds": 20, "caller_words": 0}, CFG) == []
    assert spam.transcript_reasons(None, {"status": "voicemail", "talk_seconds": 0, "caller_words": 0}, CFG) == []
    off = spam.settings_of({"spam": {"silence_seconds": 0}})
    assert spam.transcript_reasons(None, {**answered, "caller_words": 0}, off) == []


PLAN = {"action": "connect", "language": "en-US", "greeting": None, "ivr": None, "destination": "+14155550199",
        "ring_seconds": 20, "record": False, "whisper": False, "steps": True, "voicemail": None}
LINKS = ncco.Links("https://calltrack.example")


def test_the_blocked_and_challenge_nccos():
    blocked = {**PLAN, "action": "blocked", "blocked_ncco": spam.blocked_ncco(
        {"blocked_ncco": [{"action": "stream", "streamUrl": ["https://example.com/no.mp3"]}]}, "en-GB")}
    assert ncco.answer(blocked, LINKS, "c", "+14155550001", None) == [
        {"action": "stream", "streamUrl": ["https://example.com/no.mp3"]}]
    assert spam.blocked_ncco(CFG, "de-DE") == [{"action": "talk", "text": "Sorry, this call cannot be completed.",
                                                "language": "de-DE"}]
    checked = {**PLAN, "challenge": {"prompt": "Press 1.", "digit": "1", "timeout_seconds": 4}}
    talk, key = ncco.answer(checked, LINKS, "c", "+14155550001", None)
    assert talk == {"action": "talk", "text": "Press 1.", "language": "en-US", "bargeIn": True}
    assert key["eventUrl"] == ["https://calltrack.example/vonage/challenge?call=c"]
    assert key["dtmf"] == {"maxDigits": 1, "timeOut": 4}
    assert ncco.answer(checked, LINKS, "c", "+14155550001", None, checked=True)[-1]["action"] == "connect"


def _facts(*inputs):
    return [{"k": "input", "p": "challenge", "d": d, "x": d == "", "t": T0 + 3, "u": "leg"} for d in inputs]


def test_refusal_reads_the_plan_and_the_keys_pressed():
    assert state.refusal({**PLAN, "action": "blocked"}, []) == "blocked"
    checked = {**PLAN, "challenge": {"digit": "1"}}
    assert state.refusal(checked, _facts("1")) is None
    assert state.refusal(checked, _facts("9")) == "challenge"
    assert state.refusal(checked, _facts("")) == "challenge"
    assert state.refusal(checked, []) == "unchecked"
    assert state.refusal(PLAN, []) is None


def test_spam_calls_leave_every_cube_and_stay_among_the_call_facts():
    tz = ZoneInfo("UTC")
    calls = [{"started_at": T0, "status": "answered", "source": "google"},
             {"started_at": T0 + 60, "status": "rejected", "source": "google", "spam": True}]
    facts = [rollups.call_fact(c) for c in calls]
    assert "spam" not in facts[0] and facts[1]["spam"] is True
    cubes = rollups.day_cubes([], facts, tz)
    assert cubes["total"][""][1] == 1 and set(cubes["status"]) == {"answered"}
    assert [c["status"] for c in cubes["calls"]["calls"]] == ["answered", "rejected"]
    for mode, want in (("exclude", ["answered"]), ("include", ["answered", "rejected"]), ("only", ["rejected"])):
        f = flt.parse({"spam": mode} if mode != "exclude" else {}, T0 + 3600)
        assert [c["status"] for c in facts if f.call_matches(c)] == want
        assert rollups.call_filtered(f) is (mode != "exclude") and rollups.simple(f, "source", None) is (
            mode == "exclude")
    with pytest.raises(Exception, match="spam: use exclude, include, only"):
        flt.parse({"spam": "all"}, T0)


def test_webhook_subscriptions_leave_spam_out_unless_asked_and_can_pin_version_1():
    sub = {"id": "s", "url": "https://crm.example", "events": ["call_completed"]}
    spammy, clean = {"status": "answered", "spam": True}, {"status": "answered", "spam": False}
    assert not webhooks.matches(sub, "call_completed", spammy) and webhooks.matches(sub, "call_completed", clean)
    assert webhooks.matches({**sub, "filters": {"spam": "include"}}, "call_completed", spammy)
    only = {**sub, "filters": {"spam": "only"}}
    assert webhooks.matches(only, "call_completed", spammy) and not webhooks.matches(only, "call_completed", clean)
    detail = {"call_id": "c", **{k: None for k in COMPLETED_V2_KEYS}, "schema_version": 2}
    assert completed_v1(detail) == {"call_id": "c", "schema_version": 1}


def test_a_listed_call_filters_by_score_band_like_its_fact():
    from chalicelib.calls.models import Call
    from chalicelib.calls.store import to_api

    item = Call("c-1", account_id="a", rec={"started_at": "2026-05-28T10:00:00Z", "status": "answered"},
                analysis={"score": 80, "lead": "qualified", "tags": []}, analysis_url="https://x/1")
    call = to_api(item)
    assert (call["lead"], call["lead_score"], call["score_band"]) == ("qualified", 80, "75-100")
    f = flt.parse({"score_band": "75-100", "lead": "qualified"}, flt.epoch("2026-05-29T00:00:00Z"))
    assert f.call_matches(call) and f.call_matches(rollups.call_fact(call))
