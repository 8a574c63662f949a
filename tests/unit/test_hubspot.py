"""The HubSpot adapter against the in-process HubSpot stub (no sockets)."""
from __future__ import annotations

import pytest

from chalicelib.integrations import hubspot
from chalicelib.integrations.transport import DeliveryFailed
from sample_calls import CALLER, completed_call
from stub_hubspot import HubSpotStub

TOKEN = "pat-na1-unit-token"


@pytest.fixture()
def stub() -> HubSpotStub:
    hubspot._ensured.clear()
    return HubSpotStub(token=TOKEN)


def run(stub: HubSpotStub, call: dict, **cfg) -> hubspot.Outcome:
    config = hubspot.HubSpotConfig(token=TOKEN, base_url="https://api.hubapi.test",
                                   owners={"alice": "101"}, default_owner_id="102", **cfg)
    api = hubspot.HubSpotApi(TOKEN, config.base_url, stub.transport)
    return hubspot.sync_call(call, config, api, clock=lambda: 1_700_000_000.0)


def test_answered_call_from_new_caller_creates_contact_and_deal_owned_by_the_agent(stub):
    out = run(stub, completed_call())
    assert out.action == "deal_created" and "contact" in out.created
    [contact] = stub.all("contacts")
    assert contact["properties"]["phone"] == CALLER
    [deal] = stub.all("deals")
    props = deal["properties"]
    assert props["hubspot_owner_id"] == "101"                      # alice → owner 101
    assert props["calltrack_utm_source"] == "google" and props["calltrack_utm_medium"] == "cpc"
    assert props["calltrack_utm_campaign"] == "winter-boilers" and props["calltrack_utm_term"] == "boiler repair"
    assert props["calltrack_gclid"] == "Cj0abc" and props["calltrack_call_id"] == "call-0001"
    assert props["dealstage"] == "appointmentscheduled" and props["pipeline"] == "default"
    assert float(props["amount"]) == 120.0 and "deal_currency_code" not in props
    assert stub.associated("deals", deal["id"], "contacts") == [contact["id"]]
    assert "calltrack_gclid" in stub.custom_properties["deals"]    # created through the properties API


def test_two_calls_from_a_new_caller_before_search_catches_up_make_one_contact(stub):
    stub.search_lag = True                      # HubSpot's search trails its writes by seconds
    first = run(stub, completed_call(call_id="call-a"))
    second = run(stub, completed_call(call_id="call-b", status="missed", talk_seconds=0))
    [contact] = stub.all("contacts")
    assert contact["properties"]["calltrack_caller"] == CALLER and contact["properties"]["phone"] == CALLER
    assert "contact" in first.created and "contact" not in second.created
    assert first.contact_id == second.contact_id == contact["id"]
    assert "calltrack_caller" in stub.unique_properties["contacts"]       # created as a unique property


def test_a_retry_before_search_catches_up_reuses_the_deal_it_made(stub):
    stub.search_lag = True
    first = run(stub, completed_call(call_id="call-r"))
    again = run(stub, completed_call(call_id="call-r"))          # redelivered after a partial failure
    [deal] = stub.all("deals")
    assert first.action == "deal_created" and again.action == "already_synced"
    assert first.deal_id == again.deal_id == deal["id"] and deal["properties"]["calltrack_deal_key"] == "call-r"
    assert stub.associated("deals", deal["id"], "contacts") == [first.contact_id]


def test_a_contact_found_by_search_is_used_as_it_is(stub):
    contact = stub.seed("contacts", {"phone": CALLER, "firstname": "Dana", "lifecyclestage": "customer"})
    out = run(stub, completed_call())
    assert out.contact_id == contact and "contact" not in out.created
    props = stub.all("contacts")[0]["properties"]
    assert props["lifecyclestage"] == "customer" and "calltrack_caller" not in props


def test_answered_call_with_an_open_deal_adds_a_note_instead_of_a_deal(stub):
    contact = stub.seed("contacts", {"phone": CALLER, "firstname": "Dana"})
    deal = stub.seed("deals", {"dealname": "Boiler", "dealstage": "qualifiedtobuy", "pipeline": "default"},
                     {"contacts": [contact]})
    out = run(stub, completed_call())
    assert out.action == "note_on_open_deal" and out.deal_id == deal
    assert len(stub.all("deals")) == 1 and len(stub.all("contacts")) == 1
    [note] = stub.all("notes")
    assert stub.associated("notes", note["id"], "deals") == [deal]
    assert stub.associated("notes", note["id"], "contacts") == [contact]
    assert "google / cpc" in note["properties"]["hs_note_body"]
    assert CALLER not in note["properties"]["hs_note_body"]         # the contact carries the number


def test_a_contact_saved_with_the_national_format_is_found(stub):
    contact = stub.seed("contacts", {"mobilephone": "(415) 555-0142"})
    out = run(stub, completed_call())
    assert out.contact_id == contact and "contact" not in out.created and len(stub.all("contacts")) == 1


def test_deal_currency_is_opt_in(stub):
    run(stub, completed_call(currency="EUR"), deal_currency=True)
    assert stub.all("deals")[0]["properties"]["deal_currency_code"] == "EUR"


def test_a_closed_deal_does_not_count_as_open(stub):
    contact = stub.seed("contacts", {"phone": CALLER})
    stub.seed("deals", {"dealname": "Old", "dealstage": "closedwon", "pipeline": "default"}, {"contacts": [contact]})
    out = run(stub, completed_call())
    assert out.action == "deal_created" and len(stub.all("deals")) == 2


def test_missed_call_opens_a_call_back_task_for_the_default_owner(stub):
    out = run(stub, completed_call(status="missed", agent=None, talk_seconds=0, answered_at=None,
                                   ended_at="2026-11-20T14:00:30Z"))
    assert out.action == "task_created"
    [task] = stub.all("tasks")
    props = task["properties"]
    assert props["hs_task_status"] == "NOT_STARTED" and props["hs_task_type"] == "CALL"
    assert props["hubspot_owner_id"] == "102"
    assert props["hs_timestamp"] == "2026-11-20T15:00:30.000Z"      # due an hour after the call ended
    assert stub.associated("tasks", task["id"], "contacts") == [out.contact_id]
    assert not stub.all("deals")


def test_the_task_is_completed_when_the_caller_is_reached(stub):
    missed = run(stub, completed_call(call_id="c-missed", status="busy", agent=None, talk_seconds=0))
    reached = run(stub, completed_call(call_id="c-reached", started_at="2026-11-20T16:00:00Z"))
    assert reached.closed_tasks == [missed.task_id]
    [task] = stub.all("tasks")
    assert task["properties"]["hs_task_status"] == "COMPLETED"
    assert reached.action == "deal_created"


def test_reps_own_call_tasks_are_left_open(stub):
    contact = stub.seed("contacts", {"phone": CALLER})
    own = stub.seed("tasks", {"hs_task_subject": "Call about the quote", "hs_task_type": "CALL",
                              "hs_task_status": "NOT_STARTED", "hs_timestamp": "2026-11-21T09:00:00.000Z"},
                    {"contacts": [contact]})
    assert run(stub, completed_call()).closed_tasks == []
    assert stub.objects["tasks"][own]["properties"]["hs_task_status"] == "NOT_STARTED"


def test_an_answered_outbound_call_closes_the_task_and_notes_but_opens_no_deal(stub):
    missed = run(stub, completed_call(call_id="in-1", status="missed", agent=None))
    out = run(stub, completed_call(call_id="out-1", direction="outbound"))
    assert out.closed_tasks == [missed.task_id] and out.action == "note_on_contact" and not stub.all("deals")


def test_a_second_missed_call_notes_the_open_task_instead_of_duplicating_it(stub):
    first = run(stub, completed_call(call_id="m1", status="missed", agent=None))
    second = run(stub, completed_call(call_id="m2", status="voicemail", agent=None))
    assert second.action == "note_on_open_task" and second.task_id == first.task_id
    assert len(stub.all("tasks")) == 1 and len(stub.all("notes")) == 1


def test_the_same_call_twice_makes_one_deal(stub):
    run(stub, completed_call())
    again = run(stub, completed_call())
    assert again.action == "already_synced"
    assert len(stub.all("deals")) == 1 and len(stub.all("contacts")) == 1


def test_agent_email_is_resolved_through_the_owners_api(stub):
    run(stub, completed_call(agent="bob@example.com"))
    [deal] = stub.all("deals")
    assert deal["properties"]["hubspot_owner_id"] == "102"
    assert any(r["path"] == "/crm/v3/owners" and r["query"]["email"] == ["bob@example.com"] for r in stub.requests)


def test_existing_company_of_the_contact_gets_the_deal_too(stub):
    company = stub.seed("companies", {"domain": "acme.example", "name": "Acme"})
    stub.seed("contacts", {"phone": CALLER}, {"companies": [company]})
    out = run(stub, completed_call())
    assert out.company_id == company
    assert stub.associated("deals", out.deal_id, "companies") == [company]


def test_company_is_found_or_created_from_a_domain_hint(stub):
    out = run(stub, completed_call(company_domain="Plumbers.Example"))
    [company] = stub.all("companies")
    assert company["properties"]["domain"] == "plumbers.example"
    assert stub.associated("contacts", out.contact_id, "companies") == [company["id"]]
    assert stub.associated("deals", out.deal_id, "companies") == [company["id"]]


def test_short_answered_calls_only_leave_a_note_when_a_minimum_is_configured(stub):
    out = run(stub, completed_call(talk_seconds=5), min_talk_seconds=30)
    assert out.action == "note_on_contact" and not stub.all("deals") and len(stub.all("notes")) == 1


@pytest.mark.parametrize("status", ["failed", "rejected", "in_progress"])
def test_calls_that_never_rang_leave_hubspot_alone(stub, status):
    assert run(stub, completed_call(status=status)).action == f"skipped_{status}"
    assert stub.requests == []


def test_anonymous_callers_are_skipped(stub):
    assert run(stub, completed_call(caller=None)).action == "skipped_no_caller"
    assert stub.requests == []


def test_rate_limits_and_outages_are_retryable_validation_errors_are_not(stub):
    stub.fail_next = [429]
    with pytest.raises(DeliveryFailed) as err:
        run(stub, completed_call())
    assert err.value.retryable and err.value.http_status == 429
    bad = hubspot.HubSpotApi("wrong-token", "https://api.hubapi.test", stub.transport)
    with pytest.raises(DeliveryFailed) as err:
        bad.search("contacts", [{"filters": [hubspot.eq("phone", CALLER)]}])
    assert not err.value.retryable and err.value.http_status == 401


def test_network_errors_are_retryable():
    def down(*_args, **_kw):
        raise ConnectionRefusedError("connection refused")

    api = hubspot.HubSpotApi(TOKEN, "https://api.hubapi.test", down)
    with pytest.raises(DeliveryFailed) as err:
        api.search("contacts", [])
    assert err.value.retryable


ANALYZED = {"account_id": "acme", "call_id": "call-0001", "score": 72, "lead": "qualified", "tags": ["quote"],
            "rules_fired": [{"rule": "asked-price", "name": "Asked for a price", "score": 20},
                            {"rule": "booked", "name": "Booked a visit", "score": 40}],
            "value": None, "caller_sentiment": 0.4, "analyzed_at": "2026-11-26T10:09:00Z",
            "transcript_path": "/v1/accounts/acme/calls/call-0001/transcript", "schema_version": 1}


def analyse(stub: HubSpotStub, call: dict, analyzed: dict) -> hubspot.Outcome:
    config = hubspot.HubSpotConfig(token=TOKEN, base_url="https://api.hubapi.test", owners={"alice": "101"})
    return hubspot.sync_analysis(call, analyzed, config, hubspot.HubSpotApi(TOKEN, config.base_url, stub.transport),
                                 clock=lambda: 1_700_000_000.0)


def test_the_scored_transcript_puts_the_score_on_the_deal_and_the_summary_in_a_note(stub):
    made = run(stub, completed_call())
    out = analyse(stub, completed_call(), ANALYZED)
    assert (out.action, out.deal_id) == ("analysis_on_deal", made.deal_id)
    [deal] = stub.all("deals")
    assert (deal["properties"]["calltrack_lead_score"], deal["properties"]["calltrack_lead"]) == ("72", "qualified")
    assert {"calltrack_lead_score", "calltrack_lead"} <= set(stub.custom_properties["deals"])
    [note] = stub.all("notes")
    body = note["properties"]["hs_note_body"]
    assert body.split("<br>")[:3] == ["Call scored 72/100: qualified", "Rule: Asked for a price (+20)",
                                      "Rule: Booked a visit (+40)"]
    assert "Caller sentiment: +0.40" in body and "transcript" not in body.lower()
    assert stub.associated("notes", note["id"], "deals") == [deal["id"]]
    assert note["properties"]["hubspot_owner_id"] == "101"


def test_a_scored_call_without_a_deal_of_its_own_notes_the_contact(stub):
    run(stub, completed_call(status="missed", talk_seconds=0))
    out = analyse(stub, completed_call(status="missed", talk_seconds=0), {**ANALYZED, "lead": None, "score": 0,
                                                                          "rules_fired": []})
    assert out.action == "analysis_note" and out.deal_id is None
    [note] = stub.all("notes")
    assert note["properties"]["hs_note_body"].startswith("Call scored 0/100<br>")
    assert stub.associated("notes", note["id"], "contacts") == [out.contact_id]
    assert analyse(stub, completed_call(caller=None), ANALYZED).action == "skipped_no_caller"


def test_a_deal_made_after_the_score_carries_it():
    lines = hubspot.summary_lines(completed_call(lead_score=64, lead="converted"))
    assert "Lead score: 64/100 (converted)" in lines
    props = hubspot.deal_properties(completed_call(lead_score=64, lead="converted"),
                                    hubspot.HubSpotConfig(token=TOKEN), None)
    assert (props["calltrack_lead_score"], props["calltrack_lead"]) == ("64", "converted")
