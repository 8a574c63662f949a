"""Vonage transcription of the call's recording: the record action asks for it (the two
sides recorded apart), and the announcement Vonage sends — at the transcription URL, or at
the recording's when it names none — is kept on the call once, however often it repeats."""
from __future__ import annotations

import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit

from chalicelib.calls.models import Call
from chalicelib.dni.models import Number
from chalicelib.geo.phone import digits
from tests.integration.calls_support import send

ALWAYS_OPEN = {day: ["00:00", "24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _answered(client, account, transcription):
    acc = account(extra_config={"routing": {"destination": "+14155550199",
                                            "record": {"enabled": True, "transcription": transcription}}},
                  settings={"working_hours": ALWAYS_OPEN})
    tracking = sorted(n.number for n in Number.pool_index.query(f"{acc.account_id}#main"))[0]
    params = {"to": digits(tracking), "from": "14155550142", "uuid": str(uuid.uuid4()),
              "conversation_uuid": "CON-" + str(uuid.uuid4())}
    r = client.http.get("/vonage/answer?" + urlencode(params))
    assert r.status_code == 200, r.body
    return params["conversation_uuid"], r.json_body


def test_the_record_action_asks_for_a_two_channel_transcript(client, account):
    conv, ncco = _answered(client, account, {"language": "es-ES", "sentiment": True})
    [record] = [a for a in ncco if a["action"] == "record"]
    assert (record["split"], record["channels"]) == ("conversation", 2)
    t = record["transcription"]
    assert (t["language"], t["sentimentAnalysis"], t["eventMethod"]) == ("es-ES", True, "POST")
    path = urlsplit(t["eventUrl"][0])
    assert path.path.endswith("/vonage/transcription") and dict(parse_qsl(path.query))["call"] == conv
    _, plain = _answered(client, account, None)
    [record] = [a for a in plain if a["action"] == "record"]
    assert "transcription" not in record and "split" not in record


def test_the_announcement_is_kept_once(client, account):
    conv, ncco = _answered(client, account, {})
    [record] = [a for a in ncco if a["action"] == "record"]
    query = dict(parse_qsl(urlsplit(record["transcription"]["eventUrl"][0]).query))
    body = {"conversation_uuid": conv, "recording_uuid": str(uuid.uuid4()), "status": "transcribed",
            "transcription_url": "https://api.nexmo.com/v1/files/" + str(uuid.uuid4()), "type": "record"}
    for _ in range(3):                                              # Vonage retries
        assert send(client, "/vonage/transcription", query, body).status_code == 204
    note = Call.get(conv).transcript
    assert (note["url"], note["recording_uuid"], note["engine"]) == (body["transcription_url"],
                                                                    body["recording_uuid"], "vonage")
    again = {**body, "transcription_url": "https://api.nexmo.com/v1/files/other"}
    send(client, "/vonage/recording", {"call": conv, "kind": "call"}, again)   # at the recording's URL
    assert Call.get(conv).transcript["url"] == body["transcription_url"]      # the first one stays


def test_an_announcement_that_is_not_usable_is_answered_and_dropped(client, account):
    conv, _ = _answered(client, account, {})
    send(client, "/vonage/transcription", {"call": conv}, {"conversation_uuid": conv, "status": "failed",
                                                           "type": "record"})
    assert Call.get(conv).transcript is None
