"""The recordings archive end to end on the local stack: Vonage announces a recording (a
stand-in serves it, 9 MB: over what an API answer carries and past S3's multipart
threshold) → the calls stream publishes `Call Recorded` → the recordings consumer copies
it to the encrypted bucket, tagged with its retention → the account plays it by a
presigned link, also after Vonage deleted its copy."""
from __future__ import annotations

import json
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from chalicelib.calls.models import Call
from chalicelib.dni.models import Number
from chalicelib.geo.phone import digits
from tests.integration.calls_support import event_queue, received, send

ALWAYS_OPEN = {day: ["00:00", "24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
BIG = b"ID3\x04\x00\x00\x00\x00\x00\x00" + os.urandom(9 * 1024 * 1024)


@pytest.fixture(scope="module")
def vonage_files():
    """Recordings as Vonage's file store hands them out; `gone` ones answer 404 (deleted
    after Vonage's 30 days)."""
    state = {"hits": 0, "gone": set(), "files": {}}

    class Files(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            state["hits"] += 1
            body = state["files"].get(self.path)
            if body is None or self.path in state["gone"]:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")   # Vonage's, not audio/*
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def add(body: bytes) -> str:
        path = "/v1/files/" + str(uuid.uuid4())
        state["files"][path] = body
        return f"http://127.0.0.1:{server.server_port}{path}"

    state["add"] = add
    yield state
    server.shutdown()


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def _recorded_call(client, account, url: str, **account_kw):
    acc = account(extra_config={"routing": {"destination": "+14155550199", "record": {"enabled": True}},
                                **account_kw.pop("extra_config", {})},
                  settings={"working_hours": ALWAYS_OPEN, **account_kw.pop("settings", {})}, **account_kw)
    tracking = sorted(n.number for n in Number.pool_index.query(f"{acc.account_id}#main"))[0]
    conv = "CON-" + str(uuid.uuid4())
    r = client.http.get("/vonage/answer?" + urlencode({"to": digits(tracking), "from": "14155550142",
                                                       "uuid": str(uuid.uuid4()), "conversation_uuid": conv}))
    assert r.status_code == 200, r.body
    [record] = [a for a in r.json_body if a["action"] == "record"]
    query = dict(parse_qsl(urlsplit(record["eventUrl"][0]).query))
    now = time.time()
    body = {"start_time": _iso(now), "end_time": _iso(now + 300), "recording_url": url, "size": len(BIG),
            "recording_uuid": str(uuid.uuid4()), "conversation_uuid": conv, "timestamp": _iso(now + 301)}
    return acc, conv, query, body


def test_a_recording_is_archived_once_encrypted_with_its_retention_and_played_by_presigned_link(
        client, account, vonage_files):
    from chalicelib import aws
    from chalicelib.reports import archive

    key = "k-" + uuid.uuid4().hex
    url = vonage_files["add"](BIG)
    acc, conv, query, body = _recorded_call(client, account, url, api_key=key, settings={"retention_days": 200})
    queue = event_queue(acc.account_id, "Call Recorded")
    for _ in range(2):                                             # Vonage retries the webhook
        assert send(client, "/vonage/recording", query, body).status_code in (200, 204)
    [event] = received(queue)
    assert (event["call_id"], event["kind"], event["recording_uuid"]) == (conv, "call", body["recording_uuid"])
    assert url not in json.dumps(event)                            # Vonage's address stays inside
    assert event["recording_path"] == f"/v1/accounts/{acc.account_id}/calls/{conv}/recording"

    headers = {"Authorization": f"Bearer {key}"}
    link_path = f"/v1/accounts/{acc.account_id}/calls/{conv}/recording-link"
    r = client.http.get(link_path, headers=headers)
    assert r.status_code == 404 and r.json_body["error"] == "recording_not_archived"

    archive.handle({"detail-type": "Call Recorded", "detail": event})          # the consumer
    archive.handle({"detail-type": "Call Recorded", "detail": event})          # delivered again
    hits = vonage_files["hits"]
    [entry] = archive.entries(Call.get(conv).archived).values()
    assert entry["b"] == len(BIG) and entry["ct"] == "audio/mpeg" and entry["ret"] == 365   # 200 d → 365 d class
    s3 = aws.client("s3")
    head = s3.head_object(Bucket=archive.bucket(), Key=entry["key"])
    assert head["ServerSideEncryption"] == "AES256" and head["ContentLength"] == len(BIG)
    assert head["ContentType"] == "audio/mpeg"
    tags = s3.get_object_tagging(Bucket=archive.bucket(), Key=entry["key"])["TagSet"]
    assert tags == [{"Key": archive.RETENTION_TAG, "Value": "365"}]
    assert entry["key"].startswith(f"recordings/account_id={acc.account_id}/") and conv in entry["key"]

    vonage_files["gone"].add(urlsplit(url).path)                    # Vonage's 30 days are over
    r = client.http.get(link_path, headers=headers)
    assert r.status_code == 200, r.body
    link = r.json_body
    assert link["bytes"] == len(BIG) and link["content_type"] == "audio/mpeg" and "X-Amz-Signature" in link["url"]
    played = requests.get(link["url"], timeout=30)
    assert played.status_code == 200 and played.content == BIG
    redirect = client.http.get(f"/v1/accounts/{acc.account_id}/calls/{conv}/recording", headers=headers)
    assert redirect.status_code == 302 and "X-Amz-Signature" in redirect.headers["Location"]
    assert requests.get(redirect.headers["Location"], timeout=30).content == BIG
    assert vonage_files["hits"] == hits                             # played from the archive only

    assert client.http.get(link_path, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.http.get(link_path + "?expires=3600", headers=headers).status_code == 400
    r = client.http.get(f"/v1/accounts/demo/calls/{conv}/recording-link",      # another tenant's key
                        headers={"Authorization": "Bearer demo-secret-key"})
    assert r.status_code == 404


def test_an_account_that_opts_out_is_not_archived_and_plays_from_vonage(client, account, vonage_files):
    from chalicelib.reports import archive

    key = "k-" + uuid.uuid4().hex
    url = vonage_files["add"](b"ID3\x04" + b"\x00" * 2048)
    acc, conv, query, body = _recorded_call(client, account, url, api_key=key,
                                            extra_config={"recordings": {"archive": False}})
    send(client, "/vonage/recording", query, body)
    assert archive.archive_call(conv) == [] and Call.get(conv).archived is None
    headers = {"Authorization": f"Bearer {key}"}
    r = client.http.get(f"/v1/accounts/{acc.account_id}/calls/{conv}/recording-link", headers=headers)
    assert r.status_code == 404 and r.json_body["error"] == "recording_not_archived"
    r = client.http.get(f"/v1/accounts/{acc.account_id}/calls/{conv}/recording",
                        headers={**headers, "Accept": "audio/mpeg, audio/wav"})     # what the dashboard sends
    assert r.status_code == 200, r.body
    assert r.headers["Content-Type"] == "audio/mpeg" and r.body.startswith(b"ID3")


def test_a_recording_vonage_does_not_hand_out_is_retried_and_nothing_is_half_kept(client, account, vonage_files):
    from chalicelib.integrations.errors import RetryableError
    from chalicelib.reports import archive

    url = vonage_files["add"](b"ID3" + b"\x01" * 100)
    vonage_files["gone"].add(urlsplit(url).path)
    _, conv, query, body = _recorded_call(client, account, url)
    send(client, "/vonage/recording", query, body)
    with pytest.raises(RetryableError):
        archive.handle({"detail": {"call_id": conv}})
    assert Call.get(conv).archived is None
    vonage_files["gone"].discard(urlsplit(url).path)
    archive.handle({"detail": {"call_id": conv}})
    assert len(archive.entries(Call.get(conv).archived)) == 1


def test_the_recordings_section_is_validated(client, account):
    key = "k-" + uuid.uuid4().hex
    acc = account(api_key=key)
    path = f"/v1/accounts/{acc.account_id}/config/recordings"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    assert client.http.put(path, headers=headers, body=json.dumps({"value": {"archive": True, "retention_days": 730}})
                           ).status_code == 200
    for bad in ({"retention_days": 100}, {"archive": "yes"}, {"bucket": "elsewhere"}):
        r = client.http.put(path, headers=headers, body=json.dumps({"value": bad}))
        assert r.status_code == 400 and r.json_body["error"], bad
