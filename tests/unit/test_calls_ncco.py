"""NCCOs as Vonage's NCCO reference shapes them, and the routing plan behind them."""
from __future__ import annotations

from datetime import datetime, timezone

from chalicelib.calls import ncco, routing
from chalicelib.settings import Settings

LINKS = ncco.Links("https://calls.example.com/v1")


def plan(in_hours: bool = True, **section):
    return routing.plan(routing.routing_of({"routing": {"destination": "+14155550199", **section}}), in_hours)


def test_plain_connect_rings_the_destination_with_the_tracking_number_as_caller_id():
    actions = ncco.answer(plan(), LINKS, "CON-1", "+14155550131", "google")
    assert [a["action"] for a in actions] == ["connect"]
    connect = actions[0]
    assert connect["from"] == "14155550131" and connect["endpoint"] == [{"type": "phone", "number": "14155550199"}]
    assert connect["eventType"] == "synchronous" and connect["timeout"] == 25
    assert connect["eventUrl"] == ["https://calls.example.com/v1/vonage/events?call=CON-1&leg=agent"]


def test_greeting_menu_and_recording_with_consent_and_whisper():
    p = plan(greeting="Hello", whisper=True, record={"enabled": True, "consent": "Recorded."},
             ivr={"prompt": "Press 1", "options": {"1": {"department": "Sales"}}})
    actions = ncco.answer(p, LINKS, "CON-1", "+14155550131", "google")
    assert [a["action"] for a in actions] == ["talk", "talk", "input"]
    assert actions[2]["dtmf"] == {"maxDigits": 1, "timeOut": 5} and actions[2]["type"] == ["dtmf"]
    after = ncco.connect(p, LINKS, "CON-1", "+14155550131", "+14155550199", "google", "Sales")
    assert [a["action"] for a in after] == ["talk", "record", "connect"]
    assert after[1]["eventUrl"][0].endswith("/vonage/recording?call=CON-1&kind=call")
    assert after[2]["endpoint"][0]["onAnswer"]["url"].startswith("https://calls.example.com/v1/vonage/whisper?")
    assert "call=CON-1" in after[2]["endpoint"][0]["onAnswer"]["url"]
    # A voicemail box answering the business's phone is detected (and is no answer).
    assert after[2]["advancedMachineDetection"] == {"behavior": "continue", "mode": "detect"}
    whisper = ncco.whisper("google", "Sales", "en-US", LINKS, "CON-1")
    assert [a["action"] for a in whisper] == ["talk", "notify"]
    assert whisper[1]["eventUrl"] == ["https://calls.example.com/v1/vonage/notify?call=CON-1&step=bridged"]


def test_out_of_hours_goes_to_voicemail_or_a_message():
    voicemail = ncco.answer(plan(False), LINKS, "C", "+14155550131", None)
    assert [a["action"] for a in voicemail] == ["talk", "notify", "record"]
    # The notify reports the caller reached the recording (Vonage posts `payload` there, then goes on).
    assert voicemail[1] == {"action": "notify", "payload": {"step": "voicemail"},
                            "eventUrl": ["https://calls.example.com/v1/vonage/notify?call=C&step=voicemail"]}
    msg = plan(False, out_of_hours={"action": "message", "message": "Closed."})
    assert ncco.answer(msg, LINKS, "C", "+14155550131", None) == [{"action": "talk", "text": "Closed.",
                                                                   "language": "en-US"}]


def test_unknown_number_gets_a_valid_short_ncco():
    assert ncco.unknown_number() == [{"action": "talk", "text": ncco.UNKNOWN_NUMBER_TEXT, "language": "en-US"}]


def test_working_hours_follow_the_account_timezone():
    settings = Settings(timezone="America/New_York", working_hours={"mon": ["09:00", "18:00"]})
    monday_8am_ny = datetime(2026, 1, 5, 13, 0, tzinfo=timezone.utc).timestamp()
    monday_10am_ny = datetime(2026, 1, 5, 15, 0, tzinfo=timezone.utc).timestamp()
    assert not routing.within_working_hours(settings, monday_8am_ny)
    assert routing.within_working_hours(settings, monday_10am_ny)
    sunday = datetime(2026, 1, 4, 15, 0, tzinfo=timezone.utc).timestamp()
    assert not routing.within_working_hours(settings, sunday)


def test_sdk_accepts_our_nccos():
    from chalicelib.calls.vonage_client import sdk_ncco

    p = plan(greeting="Hi", whisper=True, record={"enabled": True, "consent": "Recorded."})
    actions = ncco.connect(p, LINKS, "C", "+14155550131", "+14155550199", "google") + ncco.voicemail(p, LINKS, "C")
    actions += ncco.tag_category(LINKS, "C", "en-US", 5)
    dumped = [a.model_dump(by_alias=True, exclude_none=True, mode="json") for a in sdk_ncco(actions)]
    assert [d["action"] for d in dumped] == [a["action"] for a in actions]
    assert dumped[2]["from"] == "14155550131"


def test_the_demo_routing_is_a_valid_routing_section():
    from chalicelib import demo, web

    web.validate(demo.DEMO_ROUTING, routing.ROUTING_SCHEMA)
    p = routing.plan(routing.routing_of({"routing": demo.DEMO_ROUTING}), True)
    assert p["greeting"] and p["tagging"] and p["voicemail"]["enabled"]
