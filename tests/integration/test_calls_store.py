"""calls.store against the emulator: the contract reports and integrations read."""
from __future__ import annotations

import uuid

import pytest

from chalicelib.errors import NotFound


def _put(account_id: str, started_at: float, **rec):
    from chalicelib.calls.models import Call

    call_id = uuid.uuid4().hex
    record = {"call_id": call_id, "account_id": account_id, "status": rec.pop("status", "answered"),
              "direction": "inbound", "source": rec.pop("source", "google"), **rec}
    Call(call_id, account_id=account_id, started_at=started_at, rec=record, status=record["status"],
         direction="inbound", source=record["source"], classes=set(rec.get("classes", [])) or None).save()
    return call_id


def test_get_query_and_tag(moto_endpoint, account):
    from chalicelib.calls import store

    acc = account()
    first = _put(acc.account_id, 1000.0, status="missed")
    second = _put(acc.account_id, 2000.0, source="bing")
    _put("someone-else", 1500.0)

    call = store.get_call(acc.account_id, second)
    assert set(call) == set(store.CALL_KEYS) | set(store.SPAM_KEYS) | set(store.ANALYSIS_KEYS)
    assert call["source"] == "bing" and call["tags"] == []

    ids = [c["call_id"] for c in store.query_calls(acc.account_id, 0, 5000)]
    assert ids == [second, first]
    assert [c["call_id"] for c in store.query_calls(acc.account_id, 1500, 5000)] == [second]

    page, cursor = store.page_calls(acc.account_id, 0, 5000, limit=1)
    assert [c["call_id"] for c in page] == [second] and cursor
    page, cursor = store.page_calls(acc.account_id, 0, 5000, limit=1, cursor=cursor)
    assert [c["call_id"] for c in page] == [first]
    missed, _ = store.page_calls(acc.account_id, 0, 5000, status="missed")
    assert [c["call_id"] for c in missed] == [first]

    tagged = store.set_tags(acc.account_id, first, [{"category": "lead", "value": "qualified"}], 120.0)
    assert tagged["tags"] == [{"category": "lead", "value": "qualified"}] and tagged["value"] == 120.0
    assert store.get_call(acc.account_id, first)["value"] == 120.0


def test_other_accounts_calls_are_not_found(moto_endpoint, account):
    from chalicelib.calls import store

    acc = account()
    foreign = _put("someone-else", 1000.0)
    with pytest.raises(NotFound):
        store.get_call(acc.account_id, foreign)
    with pytest.raises(NotFound):
        store.set_tags(acc.account_id, foreign, [], None)
    with pytest.raises(NotFound):
        store.get_call(acc.account_id, "no-such-call")
