"""The recordings archive's pure parts: retention classes, the bucket's lifecycle as
deployed, the call's archived entries, audio sniffing, and which writes announce
`Call Recorded`."""
from __future__ import annotations

import json
from pathlib import Path

from chalicelib.calls import outbox, state
from chalicelib.calls.models import Call
from chalicelib.reports import archive, recordings

ROOT = Path(__file__).resolve().parents[2]


def test_a_retention_rounds_up_to_the_class_that_keeps_it_long_enough():
    assert [archive.retention_class(d) for d in (1, 30, 31, 90, 200, 366, 2555, 3650, 9999)] == [
        30, 30, 90, 90, 365, 730, 2555, 3650, 3650]


def test_the_deployed_bucket_expires_every_class_by_its_tag():
    assert (ROOT / "infra" / "recordings.json").read_text() == archive.infra_text(), \
        "stale: run python -m chalicelib.reports.archive --write-infra"
    rules = json.loads(archive.infra_text())["Resources"]["CalltrackRecordingsBucket"]["Properties"][
        "LifecycleConfiguration"]["Rules"]
    by_tag = {r["TagFilters"][0]["Value"]: r["ExpirationInDays"] for r in rules if "TagFilters" in r}
    assert by_tag == {str(d): d for d in archive.RETENTION_CLASSES}
    assert archive.SCHEMA["properties"]["retention_days"]["enum"][:-1] == list(archive.RETENTION_CLASSES)


def test_entries_keep_the_first_copy_of_each_recording_and_pick_the_one_the_call_names():
    first = {"u": "https://api.nexmo.com/v1/files/a", "kind": "call", "key": "k1", "at": 10}
    again = {**first, "key": "k1-again", "at": 20}
    voicemail = {"u": "https://api.nexmo.com/v1/files/b", "kind": "voicemail", "key": "k2", "at": 5}
    stored = {json.dumps(e) for e in (again, first, voicemail)}
    found = archive.entries(stored)
    assert found[first["u"]]["key"] == "k1" and len(found) == 2
    assert archive.pick(stored, voicemail["u"])["key"] == "k2"
    assert archive.pick(stored, None)["key"] == "k1"            # the conversation before a voicemail
    assert archive.pick(None, first["u"]) is None


def test_audio_is_told_from_its_first_bytes():
    assert recordings.sniff(b"RIFF\x00\x00\x00\x00WAVEfmt ") == "audio/wav"
    assert recordings.sniff(b"OggS\x00\x02") == "audio/ogg"
    assert recordings.sniff(b"ID3\x04\x00") == "audio/mpeg"
    assert recordings.sniff(b"\xff\xfb\x90\x64") == "audio/mpeg"
    assert recordings.sniff(b"\x00\x00\x00\x20ftypM4A ") == "audio/mp4"
    assert recordings.sniff(b"<html>", "audio/wav") == "audio/wav"


def _call(facts, ctx=True) -> Call:
    item = Call("CON-1", account_id="acme", started_at=1000.0, evs={state.encode(f) for f in facts} or None)
    item.ctx = {"call_id": "CON-1", "account_id": "acme"} if ctx else None
    return item


REC = {"k": "record", "kind": "call", "url": "https://api.nexmo.com/v1/files/a", "rid": "r-1", "st": 1000.0,
       "et": 1300.0}
VM = {"k": "record", "kind": "voicemail", "url": "https://api.nexmo.com/v1/files/b", "rid": None, "st": 1400.0,
      "et": 1430.0}


def test_each_new_recording_is_announced_once_and_never_with_vonages_url():
    leg = {"k": "leg", "r": "caller", "a": 1, "u": "u", "s": "answered", "t": 999.0}
    [(kind, detail)] = outbox.recorded_events(_call([leg]), _call([leg, REC]))
    assert kind == "Call Recorded" and detail["recording_uuid"] == "r-1" and detail["kind"] == "call"
    assert "nexmo" not in json.dumps(detail) and detail["started_at"] == "1970-01-01T00:16:40Z"
    assert outbox.recorded_events(_call([leg, REC]), _call([leg, REC])) == []          # a repeat
    assert [d["kind"] for _, d in outbox.recorded_events(_call([REC]), _call([REC, VM]))] == ["voicemail"]
    # A recording kept before the call's context: announced when the context arrives.
    assert len(outbox.recorded_events(_call([REC], ctx=False), _call([REC]))) == 1
    assert outbox.events_of(None, _call([REC], ctx=False), 0) == []
