"""Repeat callers and the called mark, through the real webhook and lease code against the
emulator: a pool of one number changes hands between two visitors; the first visitor's
caller phones again and still goes to the first visitor's session, while the second
visitor's own caller goes to the second."""
from __future__ import annotations

import time

import pytest

from chalicelib.calls import api as calls_api
from chalicelib.dni import sessions
from chalicelib.dni.models import Number
from tests.events.loader import answered_call
from tests.integration.calls_support import answer, read_call, send

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
KEY = "repeat-callers-key"
ALWAYS_OPEN = {day: ["00:00", "24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def visit(account_id: str, at: float, url: str) -> sessions.Assignment:
    return sessions.start(sessions.SessionRequest(account=account_id, url=url, user_agent=BROWSER), lambda: at)


def phone(client, monkeypatch, tracking: str, caller: str, at: float) -> str:
    monkeypatch.setattr(calls_api, "clock", lambda: at)
    params, events = answered_call(tracking, caller, at, talk=40)
    answer(client, params)
    for query, body in events:
        send(client, "/vonage/events", query, body)
    return params["conversation_uuid"]


@pytest.fixture()
def one_number(account):
    def make(number: str, **settings):
        return account(api_key=KEY, pool=[number], settings={"working_hours": ALWAYS_OPEN, **settings})
    return make


def test_a_repeat_caller_goes_to_their_first_session_after_the_number_changed_hands(client, one_number,
                                                                                    monkeypatch):
    number = "+14155557491"
    acc = one_number(number)
    t0 = time.time()
    first = visit(acc.account_id, t0, "http://localhost/a?utm_source=google&utm_medium=cpc&utm_campaign=winter")
    assert first.number == number
    a = phone(client, monkeypatch, number, "+14155550171", t0 + 30)
    item = Number.get(number)
    assert item.called_by == first.session_id                     # the holder called: handed on first
    assert len(item.callers.as_dict()) == 1 and first.session_id in next(iter(item.callers.as_dict().values()))

    # The first visitor left at once; with the number marked called it goes to the next
    # visitor as soon as the lease ends (t0 + 300), without the 10-minute cool-down.
    second = visit(acc.account_id, t0 + 320, "http://localhost/b?utm_source=bing&utm_medium=cpc")
    assert second.number == number and second.session_id != first.session_id

    b = phone(client, monkeypatch, number, "+14155550172", t0 + 400)    # the second visitor's caller
    again = phone(client, monkeypatch, number, "+14155550171", t0 + 450)  # the first caller, again
    rec_a, rec_b, rec_again = (read_call(client, acc.account_id, c, KEY) for c in (a, b, again))
    assert (rec_a["session_id"], rec_a["source"]) == (first.session_id, "google")
    assert (rec_b["session_id"], rec_b["source"]) == (second.session_id, "bing")
    assert (rec_again["session_id"], rec_again["source"], rec_again["campaign"]) == \
        (first.session_id, "google", "winter")
    assert rec_again["attribution_confidence"] == rec_a["attribution_confidence"]
    assert rec_again["classification"]["repeated"] and not rec_again["classification"]["unique"]


def test_with_repeat_callers_off_the_number_answers_for_its_holder(client, one_number, monkeypatch):
    number = "+14155557492"
    acc = one_number(number, repeat_caller_days=0)
    t0 = time.time()
    first = visit(acc.account_id, t0, "http://localhost/a?utm_source=google&utm_medium=cpc")
    phone(client, monkeypatch, number, "+14155550173", t0 + 30)
    assert Number.get(number).callers is None
    second = visit(acc.account_id, t0 + 320, "http://localhost/b?utm_source=bing&utm_medium=cpc")
    again = phone(client, monkeypatch, number, "+14155550173", t0 + 400)
    assert read_call(client, acc.account_id, again, KEY)["session_id"] == second.session_id != first.session_id


def test_a_caller_is_remembered_even_when_the_number_changed_hands_while_the_call_was_answered(one_number):
    from chalicelib.dni import leases

    number = "+14155557493"
    acc = one_number(number)
    t0 = time.time()
    first = visit(acc.account_id, t0, "http://localhost/a")
    stale = Number.get(number)                       # what the answer webhook read
    Number(number).update(actions=[Number.holder.set("someone-else"), Number.lease_count.add(1)])
    assert leases.note_call(stale, first.session_id, t0 + 30, 1.0, "caller-hash-1", 86400.0)
    fresh = Number.get(number)
    assert fresh.called_by is None                   # not the holder any more: no called mark
    assert leases.remembered(fresh, "caller-hash-1", t0 + 60, 86400.0).session_id == first.session_id


def test_a_first_call_that_matched_nobody_keeps_the_callers_repeat_from_the_next_holder(client, one_number,
                                                                                        monkeypatch):
    # The caller phones a number nobody held (a late caller whose visit is out of history):
    # no session. Days later a visitor holds the number; the same caller again is still
    # nobody's, not the new visitor's (they are almost never the same person).
    number = "+14155557497"
    acc = one_number(number)
    t0 = time.time()
    first = phone(client, monkeypatch, number, "+14155550174", t0)
    assert read_call(client, acc.account_id, first, KEY)["session_id"] is None
    assert len(Number.get(number).callers.as_dict()) == 1          # remembered, as nobody
    holder = visit(acc.account_id, t0 + 3600, "http://localhost/c?utm_source=google&utm_medium=cpc")
    assert holder.number == number
    again = phone(client, monkeypatch, number, "+14155550174", t0 + 3630)
    rec = read_call(client, acc.account_id, again, KEY)
    assert rec["session_id"] is None and rec["source"] is None
    other = phone(client, monkeypatch, number, "+14155550175", t0 + 3660)   # a new caller: the holder
    assert read_call(client, acc.account_id, other, KEY)["session_id"] == holder.session_id
