"""What calls announce on the bus: each event once per call however often Vonage
retries, schema-valid, and without the caller's number unless the account opted in."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from chalicelib import streams
from chalicelib.calls import api as calls_api
from chalicelib.dni.models import Number
from chalicelib.geo.phone import digits
from tests.events.loader import load, variants
from tests.integration.calls_support import answer, replay


class Outbox(list):
    """The events the calls stream's outbox published, read off the stream on every look."""

    def sync(self) -> None:
        streams.catch_up(("calls",))

    def __iter__(self):
        self.sync()
        return super().__iter__()

    def __eq__(self, other):
        self.sync()
        return list.__eq__(self, other)

    def __len__(self):
        self.sync()
        return super().__len__()


@pytest.fixture()
def published(moto_endpoint, monkeypatch):
    from chalicelib.integrations import events

    streams.catch_up(("calls",))                      # what earlier tests left goes to the real bus
    sent = Outbox()

    def record(entries, events_client=None):           # entries validated by the outbox as deployed
        for e in entries:
            list.append(sent, (e["DetailType"], json.loads(e["Detail"])))

    monkeypatch.setattr(events, "send", record)
    return sent


def tracking_of(account_id: str) -> str:
    return digits(sorted(n.number for n in Number.pool_index.query(f"{account_id}#main"))[0])


@pytest.mark.parametrize("pii_policy", ["hash", "plain"])
def test_a_retried_answered_call_is_announced_once_per_step(client, account, published, monkeypatch, pii_policy):
    sc = load("answered")
    acc = account(extra_config={"routing": sc["routing"]}, settings={**sc["settings"], "pii_policy": pii_policy})
    sc = load("answered", TO=tracking_of(acc.account_id), FROM="14155550111", DEST="14155550199")
    monkeypatch.setattr(calls_api, "clock", lambda: sc["clock"])
    answer(client, sc["answer"])
    assert published == []                              # nothing on the answer path
    replay(client, variants(sc["webhooks"])["duplicated"])
    kinds = Counter(t for t, _ in published)
    assert kinds == {"Call Started": 1, "Call Routed": 1, "Call Completed": 1}
    completed = next(d for t, d in published if t == "Call Completed")
    assert completed["status"] == "answered" and completed["talk_seconds"] == 45
    assert completed["caller_hash"] and completed["classification"]["unique"]
    assert completed["caller"] == ("+14155550111" if pii_policy == "plain" else None)
    started = next(d for t, d in published if t == "Call Started")
    assert started["call_id"] == completed["call_id"] and started["direction"] == "inbound"


def test_a_late_voicemail_recording_settles_the_call_then(client, account, published, monkeypatch):
    sc = load("voicemail")
    acc = account(extra_config={"routing": sc["routing"]}, settings=sc["settings"])
    sc = load("voicemail", TO=tracking_of(acc.account_id), FROM="14155550112", DEST="14155550199")
    monkeypatch.setattr(calls_api, "clock", lambda: sc["clock"])
    answer(client, sc["answer"])
    recording = [w for w in sc["webhooks"] if w["path"] == "/vonage/recording"]
    replay(client, [w for w in sc["webhooks"] if w not in recording])
    assert "Call Completed" not in {t for t, _ in published}
    replay(client, recording)
    completed = [d for t, d in published if t == "Call Completed"]
    assert len(completed) == 1 and completed[0]["status"] == "voicemail" and completed[0]["recording_url"]


def test_a_webhook_with_an_impossible_time_does_not_block_the_call(client, account, published, monkeypatch):
    from tests.integration.calls_support import send

    sc = load("answered")
    acc = account(extra_config={"routing": sc["routing"]}, settings=sc["settings"])
    sc = load("answered", TO=tracking_of(acc.account_id), FROM="14155550113", DEST="14155550199")
    monkeypatch.setattr(calls_api, "clock", lambda: sc["clock"])
    answer(client, sc["answer"])
    first = sc["webhooks"][0]
    for bad in (1e20, "9999-12-31T23:59:59-23:59"):
        send(client, first["path"], first["query"], {**first["body"], "timestamp": bad, "duration": "inf"})
    replay(client, sc["webhooks"])                       # every later webhook still answers 2xx
    completed = [d for t, d in published if t == "Call Completed"]
    assert len(completed) == 1 and completed[0]["status"] == "answered"
