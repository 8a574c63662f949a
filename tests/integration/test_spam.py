"""Spam and robocalls through the app (chalice.test.Client) against the emulator: the block
list answers with the account's NCCO and never connects, a number under attack asks for a
key first, a burst of very short calls from one caller across numbers is flagged (every call
of it), a person's verdict overrides the rest; flagged calls leave reports by default and
stay visible with `spam=include|only`; `Call Completed` (version 2) carries the verdict."""
from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any, Dict, List, Tuple
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from chalicelib import streams
from chalicelib.calls import api as calls_api
from chalicelib.dni.models import Account, Number
from chalicelib.geo.phone import digits
from tests.events.loader import answered_call, iso
from tests.integration.calls_support import answer, event_queue, list_calls, read_call, received, send

KEY = "spam-tests-key"
ALWAYS_OPEN = {day: ["00:00", "24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
ROBOT = "+12025550177"
PERSON = "+12025550123"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture()
def spammed(client, account, monkeypatch):
    """An account with this `spam` section, its pool numbers, the app's clock."""
    def make(spam: Dict[str, Any]) -> Tuple[str, List[str], Dict[str, float]]:
        acc = account(api_key=KEY, settings={"working_hours": ALWAYS_OPEN},
                      extra_config={"routing": {"destination": "+14155550199"}, "spam": spam})
        numbers = sorted(n.number for n in Number.pool_index.query(f"{acc.account_id}#main"))
        clock = {"now": time.time() - 3 * 3600}   # calls in the past: reports run "up to now"
        monkeypatch.setattr(calls_api, "clock", lambda: clock["now"])
        return acc.account_id, numbers, clock
    return make


def refused_call(client, tracking: str, caller: str, at: float, clock: Dict[str, float]) -> Tuple[str, Any]:
    """A call answered at `at` (the caller's leg started; `hang_up` ends it)."""
    clock["now"] = at
    conv, leg = "CON-" + str(uuid.uuid4()), str(uuid.uuid4())
    to, frm = digits(tracking), digits(caller)
    ncco = answer(client, {"to": to, "from": frm, "uuid": leg, "conversation_uuid": conv})
    inbound = {"conversation_uuid": conv, "from": frm, "to": to, "uuid": leg, "direction": "inbound"}
    send(client, "/vonage/events", {}, {**inbound, "status": "started", "timestamp": iso(at)})
    return conv, (inbound, ncco)


def hang_up(client, inbound: Dict[str, Any], at: float, stay: int) -> None:
    send(client, "/vonage/events", {}, {**inbound, "status": "completed", "duration": str(stay),
                                        "start_time": iso(at), "end_time": iso(at + stay),
                                        "timestamp": iso(at + stay)})


def talked_call(client, tracking: str, caller: str, at: float, talk: int, clock: Dict[str, float]) -> str:
    clock["now"] = at
    params, events = answered_call(tracking, caller, at, talk)
    answer(client, params)
    for query, body in events:
        send(client, "/vonage/events", query, body)
    return params["conversation_uuid"]


def report(client, account_id: str, **params: str) -> Dict[str, Any]:
    streams.catch_up(("calls",))
    r = client.http.get(f"/v1/accounts/{account_id}/reports?" + urlencode(params), headers=AUTH)
    assert r.status_code == 200, r.body
    return r.json_body


def test_a_blocked_caller_hears_the_accounts_ncco_and_the_call_leaves_reports(client, spammed):
    account_id, numbers, clock = spammed({"block_list": [ROBOT], "blocked_ncco": [
        {"action": "talk", "text": "This line does not take your calls."}]})
    completed = event_queue(account_id, "Call Completed")
    at = clock["now"]
    conv, (inbound, ncco) = refused_call(client, numbers[0], ROBOT, at, clock)
    assert ncco == [{"action": "talk", "text": "This line does not take your calls.", "language": "en-US"}]
    hang_up(client, inbound, at, 2)
    call = read_call(client, account_id, conv, KEY)
    assert (call["status"], call["spam"], call["spam_reasons"]) == ("rejected", True, ["blocked"])
    # Everybody else is connected as before.
    other = talked_call(client, numbers[1], PERSON, at + 60, 90, clock)
    assert read_call(client, account_id, other, KEY)["spam"] is False

    [blocked, person] = sorted(received(completed), key=lambda d: d["started_at"])
    assert (blocked["schema_version"], blocked["spam"], blocked["spam_reasons"]) == (2, True, ["blocked"])
    assert (person["spam"], person["lead_score"], person["transcript_path"]) == (False, None, None)

    default = report(client, account_id, group_by="status")
    assert default["totals"]["calls"] == 1 and [r["key"] for r in default["rows"]] == ["answered"]
    both = report(client, account_id, group_by="status", spam="include")
    assert both["totals"]["calls"] == 2 and {r["key"] for r in both["rows"]} == {"answered", "rejected"}
    only = report(client, account_id, group_by="status", spam="only", include="calls")
    assert only["totals"]["calls"] == 1 and [c["call_id"] for c in only["calls"]] == [conv]
    listed = list_calls(client, account_id, KEY, since=f"{at - 60:.0f}", spam="only")["calls"]
    assert [c["call_id"] for c in listed] == [conv]
    assert {c["call_id"] for c in list_calls(client, account_id, KEY, since=f"{at - 60:.0f}")["calls"]} == {conv, other}
    assert [c["call_id"] for c in list_calls(client, account_id, KEY, since=f"{at - 60:.0f}",
                                             spam="exclude")["calls"]] == [other]
    r = client.http.get(f"/v1/accounts/{account_id}/reports?spam=maybe", headers=AUTH)
    assert r.status_code == 400 and "spam" in r.json_body["message"]


def test_a_number_under_attack_asks_for_a_key_before_connecting(client, spammed):
    account_id, numbers, clock = spammed({})
    r = client.http.put(f"/v1/accounts/{account_id}/config/spam", headers={**AUTH, "Content-Type": "application/json"},
                        body=json.dumps({"value": {"challenge": {"numbers": [numbers[0]], "digit": "5"}}}))
    assert r.status_code == 200, r.body
    at = clock["now"]
    conv, (inbound, ncco) = refused_call(client, numbers[0], PERSON, at, clock)
    talk, key = ncco
    assert talk["text"] == "To be connected, press 5." and talk["bargeIn"] is True
    url = urlsplit(key["eventUrl"][0])
    assert url.path.endswith("/vonage/challenge") and key["dtmf"]["maxDigits"] == 1
    query = dict(parse_qsl(url.query))
    pressed = send(client, "/vonage/challenge", query, {
        "uuid": inbound["uuid"], "conversation_uuid": conv, "timestamp": iso(at + 4),
        "dtmf": {"digits": "5", "timed_out": False}}).json_body
    assert pressed[-1]["action"] == "connect" and pressed[-1]["endpoint"][0]["number"] == "14155550199"
    again = send(client, "/vonage/challenge", query, {                      # Vonage retries the webhook
        "uuid": inbound["uuid"], "conversation_uuid": conv, "timestamp": iso(at + 4),
        "dtmf": {"digits": "5", "timed_out": False}}).json_body
    assert again == pressed

    # A robot presses the wrong key (or none): goodbye, and the call is spam.
    robot, (robot_leg, _) = refused_call(client, numbers[0], ROBOT, at + 30, clock)
    bye = send(client, "/vonage/challenge", {"call": robot}, {
        "uuid": robot_leg["uuid"], "conversation_uuid": robot, "timestamp": iso(at + 34),
        "dtmf": {"digits": "", "timed_out": True}}).json_body
    assert [a["action"] for a in bye] == ["talk"]
    hang_up(client, robot_leg, at + 30, 6)
    call = read_call(client, account_id, robot, KEY)
    assert (call["status"], call["spam_reasons"]) == ("rejected", ["challenge"])
    # Other numbers of the account are not under attack.
    assert answer(client, {"to": digits(numbers[1]), "from": digits(PERSON), "uuid": str(uuid.uuid4()),
                           "conversation_uuid": "CON-" + str(uuid.uuid4())})[-1]["action"] == "connect"


def test_a_burst_of_very_short_calls_across_numbers_flags_every_call_of_it(client, spammed):
    account_id, numbers, clock = spammed({})
    at = clock["now"]
    calls = []
    for i, number in enumerate([numbers[0], numbers[1], numbers[0]]):
        conv, (inbound, _) = refused_call(client, number, ROBOT, at + i * 300, clock)
        hang_up(client, inbound, at + i * 300, 4)
        calls.append(conv)
    # The settling webhook flags its own call; the burst's earlier calls are flagged from the
    # calls stream, off the webhook.
    assert read_call(client, account_id, calls[2], KEY)["spam_reasons"] == ["burst"]
    streams.catch_up(("calls",))
    flags = [read_call(client, account_id, c, KEY)["spam_reasons"] for c in calls]
    assert flags == [["burst"]] * 3
    # Short calls of a person to one number, an hour apart, are no burst; nor a long call.
    singles = []
    for i in range(3):
        conv, (inbound, _) = refused_call(client, numbers[2], PERSON, at + i * 4000, clock)
        hang_up(client, inbound, at + i * 4000, 4)
        singles.append(conv)
    singles.append(talked_call(client, numbers[3], ROBOT, at + 5000, 120, clock))
    assert [read_call(client, account_id, c, KEY)["spam"] for c in singles] == [False] * 4


def test_a_persons_verdict_overrides_and_can_block_the_caller(client, spammed):
    account_id, numbers, clock = spammed({"burst": {"enabled": False}})
    at = clock["now"]
    conv = talked_call(client, numbers[0], ROBOT, at, 40, clock)
    path = f"/v1/accounts/{account_id}/calls/{conv}/spam"
    headers = {**AUTH, "Content-Type": "application/json"}
    r = client.http.put(path, headers=headers, body='{"spam": true, "block_caller": true}')
    assert r.status_code == 200, r.body
    assert (r.json_body["spam"], r.json_body["spam_reasons"], r.json_body["spam_verdict"]) == (True, ["operator"],
                                                                                               "spam")
    listed = Account.get(account_id).config["spam"]["block_list"]
    assert listed == ["hash:" + hashlib.sha256(ROBOT.encode()).hexdigest()]       # no plain number kept
    again = answer(client, {"to": digits(numbers[1]), "from": digits(ROBOT), "uuid": str(uuid.uuid4()),
                            "conversation_uuid": "CON-" + str(uuid.uuid4())})
    assert [a["action"] for a in again] == ["talk"]                                # refused from now on
    r = client.http.put(path, headers=headers, body='{"spam": false}')
    assert (r.json_body["spam"], r.json_body["spam_reasons"], r.json_body["spam_verdict"]) == (False, [], "not_spam")

    for bad in ('{"spam": false, "block_caller": true}', '{"spam": "yes"}', '{"spam": true, "why": "x"}', "{}"):
        r = client.http.put(path, headers=headers, body=bad)
        assert r.status_code == 400 and set(r.json_body) >= {"error", "message"}, bad
    r = client.http.put(path + "?x=1", headers=headers, body='{"spam": true}')
    assert r.status_code == 400
    r = client.http.put(f"/v1/accounts/{account_id}/calls/CON-nope/spam", headers=headers, body='{"spam": true}')
    assert r.status_code == 404


def test_the_spam_section_is_validated(client, spammed):
    account_id, _, _ = spammed({})
    headers = {**AUTH, "Content-Type": "application/json"}
    for bad in ({"block_list": ["0800 SPAM"]}, {"blocked_ncco": [{"action": "connect", "endpoint": []}]},
                {"burst": {"calls": 1}}, {"challenge": {"digit": "12"}}, {"unknown": True}):
        r = client.http.put(f"/v1/accounts/{account_id}/config/spam", headers=headers,
                            body=json.dumps({"value": bad}))
        assert r.status_code == 400, (bad, r.body)


def test_late_findings_are_announced_a_burst_by_call_tagged_a_verdict_by_call_completed(client, spammed):
    account_id, numbers, clock = spammed({})
    tagged, completed = event_queue(account_id, "Call Tagged"), event_queue(account_id, "Call Completed")
    at = clock["now"]
    calls = []
    for i, number in enumerate([numbers[0], numbers[1], numbers[0], numbers[1]]):
        conv, (inbound, _) = refused_call(client, number, ROBOT, at + i * 300, clock)
        hang_up(client, inbound, at + i * 300, 4)
        calls.append(conv)
    # The two calls that settled before the burst showed are announced once each, as spam.
    late = received(tagged)
    assert sorted(d["call_id"] for d in late) == sorted(calls[:2]) and {d["tagged_by"] for d in late} == {"spam"}
    first = sorted(received(completed), key=lambda d: d["started_at"])
    assert [d["spam"] for d in first] == [False, False, True, True]      # the third found it, the fourth too
    # A person clears the first call: it is announced again, no longer spam.
    r = client.http.put(f"/v1/accounts/{account_id}/calls/{calls[0]}/spam",
                        headers={**AUTH, "Content-Type": "application/json"}, body='{"spam": false}')
    assert r.status_code == 200 and r.json_body["spam"] is False
    [again] = received(completed)
    assert (again["call_id"], again["spam"], again["spam_verdict"]) == (calls[0], False, "not_spam")


def test_with_the_database_stalled_the_key_is_judged_from_the_remembered_plan(client, spammed):
    """The press-a-key check must not drop callers when DynamoDB stalls: the container's
    remembered plan judges the key, within Vonage's wait."""
    from tests.outages import stalled

    account_id, numbers, clock = spammed({"challenge": {"numbers": ["*"], "digit": "3"}})
    at = clock["now"]
    results = {}
    for who, key in (("person", "3"), ("robot", "9")):
        conv, (inbound, ncco) = refused_call(client, numbers[0], PERSON if who == "person" else ROBOT,
                                             at, clock)
        assert ncco[-1]["action"] == "input"
        with stalled():
            started = time.monotonic()
            results[who] = send(client, "/vonage/challenge", {"call": conv}, {
                "uuid": inbound["uuid"], "conversation_uuid": conv, "timestamp": iso(at + 4),
                "dtmf": {"digits": key, "timed_out": False}}).json_body
            assert time.monotonic() - started < 5.0
    assert results["person"][-1]["action"] == "connect"
    assert [a["action"] for a in results["robot"]] == ["talk"]
