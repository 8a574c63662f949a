"""Bid management logic: which calls become which conversions, and the upload templates."""
from __future__ import annotations

import csv
import io

import pytest

from chalicelib.integrations import bidding
from sample_calls import CALLER, completed_call

GOOGLE_ON = {"enabled": True}
NOW = 1_764_000_000.0      # 2025-11-24T16:00:00Z


def rows(call, platform=bidding.GOOGLE, section=None):
    return bidding.conversion_rows(call, platform, section or GOOGLE_ON, 10.0, "EUR")


def test_a_call_from_a_gclid_visit_is_a_click_conversion():
    [row] = rows(completed_call())
    assert row["kind"] == "click" and row["click_id"] == "Cj0abc"
    assert row["conversion_name"] == "Calltrack target call"
    assert row["conversion_at"] == bidding.epoch("2026-11-20T14:04:12Z")      # when the call ended
    assert row["value"] == 120.0 and row["currency"] == "USD"


def test_without_gclid_google_gets_a_call_conversion_by_caller_id():
    [row] = rows(completed_call(click_ids={}))
    assert row["kind"] == "call" and row["click_id"] is None
    assert row["call_started_at"] == bidding.epoch("2026-11-20T14:00:00Z")


def test_no_gclid_and_no_caller_id_or_call_conversions_off_gives_nothing():
    assert rows(completed_call(click_ids={}, caller=None)) == []
    assert rows(completed_call(click_ids={}), section={"enabled": True, "call_conversions": False}) == []


def test_microsoft_needs_an_msclkid():
    assert rows(completed_call(), bidding.MICROSOFT, {"enabled": True}) == []
    [row] = rows(completed_call(click_ids={"msclkid": "ms-1"}), bidding.MICROSOFT, {"enabled": True})
    assert row["kind"] == "click" and row["click_id"] == "ms-1" and row["key"].startswith("microsoft_ads#")


def test_disabled_sections_calls_in_progress_and_outbound_calls_give_nothing():
    assert rows(completed_call(), section={"enabled": False}) == []
    assert rows(completed_call(status="in_progress")) == []
    assert rows(completed_call(direction="outbound")) == []
    assert len(rows(completed_call(direction="callback"))) == 1


def test_conversion_actions_pick_calls_by_class_answer_or_tag():
    section = {"enabled": True, "conversion_actions": [
        {"name": "Target", "when": "target"},
        {"name": "Answered 60s", "when": "answered", "min_talk_seconds": 60},
        {"name": "Sale", "when": "tagged", "tag_category": "sale", "value": 500},
    ]}
    short_untagged = completed_call(talk_seconds=20, classification={c: False for c in bidding.CLASSES})
    assert rows(short_untagged, section=section) == []
    sale = completed_call(tags=[{"category": "sale", "value": "boiler"}], value=None)
    names = {r["conversion_name"]: r for r in rows(sale, section=section)}
    assert set(names) == {"Target", "Answered 60s", "Sale"}
    assert names["Sale"]["value"] == 500 and names["Target"]["value"] == 10.0     # action value, then default
    assert len({r["key"] for r in names.values()}) == 3


def test_suspected_false_conversions_are_left_out_unless_asked_for():
    call = completed_call(suspected_false_conversion=True)
    assert rows(call) == []
    assert len(rows(call, section={"enabled": True, "include_suspected_false": True})) == 1


@pytest.mark.parametrize("tz,expected", [
    ("UTC", "2026-11-20 14:04:12+00:00"),
    ("Europe/Berlin", "2026-11-20 15:04:12+01:00"),
    ("America/New_York", "2026-11-20 09:04:12-05:00"),
    ("Asia/Kolkata", "2026-11-20 19:34:12+05:30"),
])
def test_times_use_google_format_with_the_zone_offset(tz, expected):
    assert bidding.platform_time(bidding.epoch("2026-11-20T14:04:12Z"), bidding.zone(tz)) == expected


def as_items(calls, platform=bidding.GOOGLE, section=GOOGLE_ON):
    items = []
    for call in calls:
        for r in bidding.conversion_rows(call, platform, section, 0.0, "USD"):
            items.append({**r, "revision": 1, "recorded_at": NOW})
    return items


def parse(text):
    return list(csv.reader(io.StringIO(text)))


def test_google_click_template():
    items = as_items([completed_call(call_id="a", click_ids={"gclid": "G-1"}),
                      completed_call(call_id="b", click_ids={})])
    out = bidding.google_ads_csv(items, bidding.zone("Europe/Berlin"), "click", NOW, lambda *_: None)
    lines = parse(out.text)
    assert lines[0] == ["Parameters:TimeZone=Europe/Berlin"]
    assert lines[1] == ["Google Click ID", "Conversion Name", "Conversion Time", "Conversion Value",
                        "Conversion Currency"]
    assert lines[2:] == [["G-1", "Calltrack target call", "2026-11-20 15:04:12+01:00", "120.00", "USD"]]
    assert out.rows == 1 and out.text.endswith("\r\n")


def test_google_call_template_holds_back_calls_younger_than_twelve_hours():
    now = bidding.epoch("2026-11-21T01:30:00Z")
    old = completed_call(call_id="old", click_ids={}, started_at="2026-11-20T13:00:00Z", ended_at="2026-11-20T13:05:00Z")
    young = completed_call(call_id="young", click_ids={}, started_at="2026-11-20T14:00:00Z")
    callers = {"old": "+442079460001", "young": CALLER}
    out = bidding.google_ads_csv(as_items([old, young]), bidding.zone("UTC"), "call", now,
                                 lambda _acc, call_id: callers[call_id])
    lines = parse(out.text)
    assert lines[0] == ["Parameters:TimeZone=+0000"]
    assert lines[1] == ["Caller's Phone Number", "Call Start Time", "Conversion Name", "Conversion Time",
                        "Conversion Value", "Conversion Currency"]
    assert lines[2:] == [["+442079460001", "2026-11-20 13:00:00+00:00", "Calltrack target call",
                          "2026-11-20 13:05:00+00:00", "120.00", "USD"]]
    assert (out.rows, out.held_back, out.skipped) == (1, 1, 0)


def test_call_conversions_whose_caller_is_gone_are_skipped_not_blank():
    items = as_items([completed_call(click_ids={})])
    out = bidding.google_ads_csv(items, bidding.zone("UTC"), "call", NOW + 10 ** 8, lambda *_: None)
    assert (out.rows, out.skipped) == (0, 1) and len(parse(out.text)) == 2


def test_microsoft_template_and_csv_quoting():
    section = {"enabled": True, "conversion_actions": [{"name": "Call, qualified", "when": "answered"}]}
    items = as_items([completed_call(click_ids={"msclkid": "ms-9"})], bidding.MICROSOFT, section)
    out = bidding.microsoft_ads_csv(items)
    assert out.text.splitlines()[0] == "Parameters:TimeZone=+0000"
    assert out.text.splitlines()[1] == "Microsoft Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency"
    assert out.text.splitlines()[2] == 'ms-9,"Call, qualified",2026-11-20 14:04:12,120.00,USD'


def test_export_window_validation():
    assert bidding.window(None, None, NOW) == (NOW - 30 * 86400, NOW)
    assert bidding.window("2026-11-01T00:00:00Z", "2026-11-02", NOW)[0] == bidding.epoch("2026-11-01T00:00:00Z")
    for since, until in (("2026-11-05", "2026-11-01"), ("2026-01-01", "2026-11-01"), ("yesterday", None)):
        with pytest.raises(bidding.BadRequest):
            bidding.window(since, until, NOW)
