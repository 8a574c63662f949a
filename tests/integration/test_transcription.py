"""Vonage transcription of the call's recording: the record action asks for it (the two
sides recorded apart), and the announcement Vonage sends — at the transcription URL, or at
the recording's when it names none — is kept on the call once, however often it repeats."""
from __future__ import annotations

import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit

from chalicelib.calls.models import Call
from chalicelib.dni.models import Number
from chalicelib.geo.phone import digits
from tests.integration.calls_support import event_queue, received, send

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


# --- reading the transcript: fetched from a stand-in speaking Vonage's file format -------

import json  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402

import pytest  # noqa: E402


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def _entry(text: str, start_ms: int, sentiment: float = 0.0) -> dict:
    return {"sentence": text, "raw_sentence": text.lower(), "timestamp": start_ms, "duration": 2500,
            "sentiment": sentiment, "words": [{"word": w, "start_time": start_ms, "end_time": start_ms + 300,
                                               "confidence": 0.9} for w in text.split()[:3]]}


FILE = {"ver": "2.1.0", "request_id": str(uuid.uuid4()), "channels": [
    {"transcript": [_entry("Hi, my boiler stopped working, can you send someone today?", 4000, 0.2),
                    _entry("How much is the call out? My card is 4242 4242 4242 4242.", 12000),
                    _entry("Call me back on 650 555 0178 if you're late.", 20000)], "duration": 40},
    {"transcript": [_entry("Acme Plumbing, how can I help?", 0),
                    _entry("It's a hundred and twenty nine, I can book you today at three.", 8000, 0.5),
                    _entry("Our office line is 415 555 0199.", 16000)], "duration": 40}]}


@pytest.fixture(scope="module")
def files():
    served = {"hits": 0}

    class Files(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            served["hits"] += 1
            body = b"<html>not a transcript</html>" if self.path.endswith("/not-json") else json.dumps(FILE).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    served["url"] = f"http://127.0.0.1:{server.server_port}/v1/files/" + str(uuid.uuid4())
    yield served
    server.shutdown()


def _settled_call(client, account):
    conv, ncco = _answered(client, account, {"sentiment": True})
    [connect] = [a for a in ncco if a["action"] == "connect"]
    query = dict(parse_qsl(urlsplit(connect["eventUrl"][0]).query))
    now = time.time()
    call = Call.get(conv)
    caller = {"from": "14155550142", "to": call.ctx["tracking_number"].lstrip("+"), "uuid": call.ctx.get("leg_uuid")
              or str(uuid.uuid4()), "conversation_uuid": conv, "direction": "inbound"}
    agent = {"from": caller["to"], "to": "14155550199", "uuid": str(uuid.uuid4()), "conversation_uuid": conv,
             "direction": "outbound"}
    send(client, "/vonage/events", query, {**agent, "status": "answered", "timestamp": _iso(now + 4)})
    send(client, "/vonage/events", query, {**agent, "status": "completed", "timestamp": _iso(now + 44),
                                           "start_time": _iso(now + 4), "end_time": _iso(now + 44), "duration": "40"})
    send(client, "/vonage/events", {}, {**caller, "status": "completed", "timestamp": _iso(now + 44.2),
                                        "start_time": _iso(now), "end_time": _iso(now + 44.2), "duration": "44"})
    return conv


def test_an_announced_transcript_is_fetched_redacted_stored_and_scored_once(client, account, files):
    from chalicelib.intelligence import analysis

    conv = _settled_call(client, account)
    with pytest.raises(analysis.NotReady):
        analysis.analyze(conv)
    send(client, "/vonage/transcription", {"call": conv},
         {"conversation_uuid": conv, "recording_uuid": str(uuid.uuid4()), "status": "transcribed",
          "transcription_url": files["url"], "type": "record"})
    before = files["hits"]
    got = analysis.analyze(conv)
    assert files["hits"] == before + 1
    assert got["lead"] == "qualified" and got["rules"] == "starter" and 0 < got["score"] <= 100
    fired = {f["rule"]: f for f in got["fired"]}
    assert {"asked-price", "needs-service", "qualified"} <= set(fired)
    [price] = [m for m in fired["asked-price"]["matches"] if m["speaker"] == "caller"]
    assert price["text"][price["span"][0]:price["span"][1]].lower() == "how much"
    assert got["redacted"] == 2 and got["caller_sentiment"] is not None
    item = Call.get(conv)
    assert item.analysis["score"] == got["score"] and item.analysis_url == files["url"]
    text = " ".join(s["text"] for s in analysis.transcript_of(item.account_id, conv))
    assert "[card]" in text and "4242" not in text and "[phone]" in text and "415 555 0199" in text  # ours stays
    speakers = [s["speaker"] for s in analysis.transcript_of(item.account_id, conv)]
    assert speakers[:2] == ["agent", "caller"]
    assert analysis.transcript_of("another-account", conv) is None
    assert analysis.analyze(conv) == item.analysis and files["hits"] == before + 1      # once
    assert "text" not in json.dumps(analysis.summary(got))


def test_the_accounts_own_rules_and_redaction_settings_apply(client, account, files):
    from chalicelib import accounts as accounts_mod
    from chalicelib.dni.models import Account
    from chalicelib.intelligence import analysis

    conv = _settled_call(client, account)
    item = Account.get(Call.get(conv).account_id)
    rules = [{"id": "boiler", "when": {"all": [{"phrase": ["boiler"], "speaker": "caller"},
                                               {"fact": "talk_seconds", "op": ">=", "value": 30}]},
              "then": {"tags": ["heating"], "score": 70, "lead": "converted", "value": {"set": 250}}}]
    item.update(actions=[Account.config.set({**(item.config or {}), "call_rules": rules,
                                             "redaction": {"phone": False}})])
    accounts_mod.invalidate(item.account_id)
    send(client, "/vonage/transcription", {"call": conv},
         {"conversation_uuid": conv, "recording_uuid": str(uuid.uuid4()), "status": "transcribed",
          "transcription_url": files["url"], "type": "record"})
    got = analysis.analyze(conv)
    assert (got["lead"], got["score"], got["tags"], got["value"], got["rules"]) == (
        "converted", 70, ["heating"], 250.0, "account")
    text = " ".join(s["text"] for s in analysis.transcript_of(item.account_id, conv))
    assert "650 555 0178" in text and "[card]" in text
    # The call carries the label and score, and the rules' tag beside its own tags.
    from chalicelib.calls import store
    from chalicelib.reports import tags as manual_tags

    call = store.get_call(item.account_id, conv)
    assert (call["lead"], call["lead_score"]) == ("converted", 70)
    assert call["tags"] == [{"category": "heating", "value": None, "by": "rules"}]
    assert manual_tags.merged(call["tags"], []) == []          # a manual PUT never stores them
    Call(conv).update(actions=[Call.tags.set([{"category": "Heating", "value": "boiler", "by": "manual"}])])
    assert store.get_call(item.account_id, conv)["tags"] == [{"category": "Heating", "value": "boiler", "by": "manual"}]


def test_from_the_announcement_to_call_analyzed_through_stream_bus_and_consumer(client, account, files):
    """The webhook only keeps the announcement; the calls stream publishes `Call Transcribed`,
    the intelligence consumer reads and scores the transcript, and the stream publishes
    `Call Analyzed` once (however often Vonage repeats), with no transcript text in it.
    The transcript is served to the account's key only."""
    from chalicelib.integrations import worker

    key = "k-" + uuid.uuid4().hex
    conv = _settled_call(client, lambda **kw: account(api_key=key, **kw))
    account_id = Call.get(conv).account_id
    queue = event_queue(account_id, "Call Analyzed")
    body = {"conversation_uuid": conv, "recording_uuid": str(uuid.uuid4()), "status": "transcribed",
            "transcription_url": files["url"], "type": "record"}
    for _ in range(2):
        send(client, "/vonage/transcription", {"call": conv}, body)
    assert received(queue) == []                          # published Call Transcribed only
    assert worker.drain(["intelligence"], rounds=30)["intelligence"][0] >= 1   # (other tests' calls too)
    assert Call.get(conv).analysis_url == files["url"]
    send(client, "/vonage/transcription", {"call": conv}, body)       # a late repeat
    [event] = received(queue)
    worker.drain(["intelligence"], rounds=5)
    assert received(queue) == []
    assert event["call_id"] == conv and event["lead"] == "qualified" and event["score"] > 0
    assert {"asked-price", "qualified"} <= {r["rule"] for r in event["rules_fired"]}
    assert "4242" not in json.dumps(event) and "boiler" not in json.dumps(event).lower()
    assert event["transcript_path"] == f"/v1/accounts/{account_id}/calls/{conv}/transcript"

    r = client.http.get(event["transcript_path"], headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.body
    assert r.json_body["analysis"]["score"] == event["score"]
    assert [s["speaker"] for s in r.json_body["segments"]][:2] == ["agent", "caller"]
    assert client.http.get(event["transcript_path"] + "?full=1",
                           headers={"Authorization": f"Bearer {key}"}).status_code == 400
    assert client.http.get(event["transcript_path"], headers={"Authorization": "Bearer nope"}).status_code == 401


def test_a_dry_run_says_which_calls_a_rule_would_tag_and_changes_nothing(client, account, files):
    from datetime import datetime, timedelta, timezone

    from chalicelib.intelligence import analysis

    key = "k-" + uuid.uuid4().hex
    make = lambda **kw: account(api_key=key, **kw)  # noqa: E731
    with_transcript = _settled_call(client, make)
    without = _settled_call(client, make)
    account_id = Call.get(with_transcript).account_id
    send(client, "/vonage/transcription", {"call": with_transcript},
         {"conversation_uuid": with_transcript, "recording_uuid": str(uuid.uuid4()), "status": "transcribed",
          "transcription_url": files["url"], "type": "record"})
    analysis.analyze(with_transcript)
    before = Call.get(with_transcript).analysis
    today = datetime.now(timezone.utc).date()
    rules = [{"id": "boiler", "when": {"phrase": ["boiler"], "speaker": "caller"}, "then": {"tags": ["heating"]}},
             {"id": "long", "when": {"fact": "talk_seconds", "op": ">=", "value": 30}, "then": {"score": 10}}]
    path = f"/v1/accounts/{account_id}/call-rules/dry-run"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    body = {"from": (today - timedelta(days=1)).isoformat(), "to": (today + timedelta(days=1)).isoformat(),
            "rules": rules}
    r = client.http.post(path, headers=headers, body=json.dumps(body))
    assert r.status_code == 200, r.body
    got = r.json_body
    assert (got["calls_read"], got["with_transcript"], got["calls_matched"]) == (2, 1, 2)
    assert got["by_rule"] == {"boiler": 1, "long": 2}
    tagged = {c["call_id"]: c for c in got["calls"]}
    assert tagged[with_transcript]["tags"] == ["heating"] and tagged[without]["tags"] == []
    assert Call.get(with_transcript).analysis == before                       # nothing changed
    saved = client.http.post(path, headers=headers, body=json.dumps({k: body[k] for k in ("from", "to")}))
    assert saved.status_code == 200 and "qualified" in saved.json_body["by_rule"]   # the starter rules
    for bad in ({**body, "rulez": []}, {**body, "from": "2026-01-01", "to": "2026-12-01"},
                {**body, "rules": [{"id": "x", "when": {"regex": "(a+)+"}, "then": {"score": 1}}]},
                {"from": "yesterday", "to": body["to"]}):
        r = client.http.post(path, headers=headers, body=json.dumps(bad))
        assert r.status_code == 400 and r.json_body["error"], bad


def test_an_announcement_for_a_call_not_stored_yet_is_refused_for_a_retry(client, moto_endpoint):
    """Answered 503 (Vonage retries) rather than kept on a stub item the call's own write
    would later fill without `Call Transcribed` ever being sent."""
    conv = "CON-" + str(uuid.uuid4())
    r = client.http.post("/vonage/transcription?call=" + conv, headers={"Content-Type": "application/json"},
                         body=json.dumps({"conversation_uuid": conv, "recording_uuid": str(uuid.uuid4()),
                                          "status": "transcribed", "type": "record",
                                          "transcription_url": "https://api.nexmo.com/v1/files/x"}))
    assert r.status_code == 503
    with pytest.raises(Call.DoesNotExist):
        Call.get(conv)


def test_with_the_database_refusing_or_stalled_the_announcement_is_a_503_for_vonage_to_retry(client, account):
    """Vonage's retry is the only copy of an announcement: a database that refuses or does
    not answer within the webhook's budget gets a 503, never a silent 204."""
    from tests.outages import database, free_closed_port, stalled

    conv, _ = _answered(client, account, {})
    body = {"conversation_uuid": conv, "recording_uuid": str(uuid.uuid4()), "status": "transcribed",
            "transcription_url": "https://api.nexmo.com/v1/files/" + str(uuid.uuid4()), "type": "record"}
    for down in (lambda: database(free_closed_port()), stalled):
        with down():
            started = time.monotonic()
            r = client.http.post(f"/vonage/transcription?call={conv}", headers={"Content-Type": "application/json"},
                                 body=json.dumps(body))
            assert r.status_code == 503 and time.monotonic() - started < 5.0
    assert Call.get(conv).transcript is None
    assert send(client, "/vonage/transcription", {"call": conv}, body).status_code == 204   # the retry
    assert Call.get(conv).transcript["url"] == body["transcription_url"]


def test_the_consumer_retries_what_may_come_back_and_dead_letters_what_cannot(client, account, files):
    """A transcript that is not JSON, or a call with nothing announced, cannot improve: the
    event goes to the DLQ at once. A transcript store that fails now may answer later: retried."""
    from chalicelib.integrations.errors import PermanentError, RetryableError
    from chalicelib.intelligence import consumer

    def event(call_id):
        return {"detail-type": "Call Transcribed", "detail": {"call_id": call_id}}

    conv, _ = _answered(client, account, {})
    with pytest.raises(PermanentError):
        consumer.handle(event(conv))                                       # nothing announced
    with pytest.raises(PermanentError):
        consumer.handle({"detail-type": "Call Transcribed", "detail": {}})
    for url, kind in ((files["url"].rsplit("/", 1)[0] + "/not-json", PermanentError),
                      ("http://127.0.0.1:9/v1/files/gone", RetryableError)):
        call = _settled_call(client, account)
        send(client, "/vonage/transcription", {"call": call},
             {"conversation_uuid": call, "recording_uuid": str(uuid.uuid4()), "status": "transcribed",
              "transcription_url": url, "type": "record"})
        with pytest.raises(kind):
            consumer.handle(event(call))
        assert Call.get(call).analysis is None


def test_two_readers_of_one_transcript_announce_it_once(client, account, files):
    """The consumer's message can be delivered twice at once: both read, one analysis is
    written, one `Call Analyzed` leaves."""
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.intelligence import analysis

    conv = _settled_call(client, account)
    queue = event_queue(Call.get(conv).account_id, "Call Analyzed")
    send(client, "/vonage/transcription", {"call": conv},
         {"conversation_uuid": conv, "recording_uuid": str(uuid.uuid4()), "status": "transcribed",
          "transcription_url": files["url"], "type": "record"})
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: analysis.analyze(conv), range(2)))
    assert all(r["score"] == results[0]["score"] for r in results)
    assert len(received(queue)) == 1
