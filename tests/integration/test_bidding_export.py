"""Bid management end to end on the emulator: the consumer records conversions, the export
endpoint renders Google Ads / Microsoft Ads upload files, bid tools poll the feed."""
from __future__ import annotations

import csv
import io
import json
import time
import uuid

import pytest

from chalicelib.integrations import bidding
from sample_calls import completed_call, event_of, iso_ago, store_call

KEY = "bid-" + uuid.uuid4().hex


@pytest.fixture()
def acc(account):
    made = account(api_key=KEY, extra_config={
        "google_ads": {"enabled": True, "timezone": "Europe/Berlin"},
        "microsoft_ads": {"enabled": True},
    })
    return made.account_id


def call_for(acc, call_id, hours_ago, **kw):
    now = time.time()
    return store_call(completed_call(account_id=acc, call_id=call_id, started_at=iso_ago(now, hours_ago * 3600),
                                     ended_at=iso_ago(now, hours_ago * 3600 - 200), **kw))


def settled():
    """A consumer clock a minute back: the feed only serves writes older than SETTLE_SECONDS."""
    return time.time() - 60


def auth(key=KEY):
    return {"Authorization": f"Bearer {key}"}


def csv_lines(body):
    return list(csv.reader(io.StringIO(body.decode() if isinstance(body, bytes) else body)))


def test_consumer_records_each_conversion_once_and_revisions_reach_the_feed(acc, client):
    call = call_for(acc, "c-click", 30)
    assert bidding.handle(event_of(call), clock=settled) == {"created": 1}
    assert bidding.handle(event_of(call), clock=settled) == {"unchanged": 1}            # redelivery: nothing new
    first = client.http.get(f"/v1/accounts/{acc}/feeds/conversions", headers=auth()).json_body
    assert first["count"] == 1
    [item] = first["conversions"]
    assert item["gclid"] == "Cj0abc" and item["kind"] == "click" and item["value"] == 120.0
    assert "caller" not in item                                          # pii_policy hash by default
    idle = client.http.get(f"/v1/accounts/{acc}/feeds/conversions?after={first['next']}", headers=auth()).json_body
    assert idle["conversions"] == [] and idle["next"] == first["next"]
    store_call({**call, "value": 480.0, "tags": [{"category": "sale", "value": "boiler"}]})
    assert bidding.handle(event_of(call, "Call Tagged"), clock=settled) == {"revised": 1}
    later = client.http.get(f"/v1/accounts/{acc}/feeds/conversions?after={first['next']}", headers=auth()).json_body
    assert [(c["value"], c["revision"]) for c in later["conversions"]] == [(480.0, 2)]


def test_the_feed_waits_for_fresh_writes_to_settle(acc, client):
    bidding.handle(event_of(call_for(acc, "fresh", 1)))                  # recorded now
    assert client.http.get(f"/v1/accounts/{acc}/feeds/conversions", headers=auth()).json_body["count"] == 0
    later = bidding.conversion_feed(acc, None, 10, None, clock=lambda: time.time() + 11)
    assert later["count"] == 1


def test_google_click_export_is_the_upload_template(acc, client):
    bidding.handle(event_of(call_for(acc, "c1", 30)))
    bidding.handle(event_of(call_for(acc, "c2", 20, click_ids={"gclid": "G-2"}, value=None)))
    answer = client.http.get(f"/v1/accounts/{acc}/exports/google-ads.csv?kind=click", headers=auth())
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv")
    lines = csv_lines(answer.body)
    assert lines[0] == ["Parameters:TimeZone=Europe/Berlin"]
    assert lines[1] == bidding.GOOGLE_CLICK_COLUMNS
    assert sorted(r[0] for r in lines[2:]) == ["Cj0abc", "G-2"]
    assert all(r[2][-6:] in ("+01:00", "+02:00") and len(r[2]) == 25 for r in lines[2:])
    assert {r[3] for r in lines[2:]} == {"120.00", "0.00"}


def test_google_call_export_holds_back_calls_younger_than_twelve_hours(acc, client):
    bidding.handle(event_of(call_for(acc, "old", 13, click_ids={}, caller="+14155550177")))
    bidding.handle(event_of(call_for(acc, "young", 2, click_ids={}, caller="+14155550178")))
    answer = client.http.get(f"/v1/accounts/{acc}/exports/google-ads.csv?kind=call", headers=auth())
    lines = csv_lines(answer.body)
    assert lines[1] == bidding.GOOGLE_CALL_COLUMNS
    assert [r[0] for r in lines[2:]] == ["+14155550177"]
    assert answer.headers["X-Calltrack-Held-Back"] == "1" and answer.headers["X-Calltrack-Rows"] == "1"


def test_microsoft_export_by_msclkid(acc, client):
    bidding.handle(event_of(call_for(acc, "m1", 5, click_ids={"msclkid": "ms-77"})))
    lines = csv_lines(client.http.get(f"/v1/accounts/{acc}/exports/microsoft-ads.csv", headers=auth()).body)
    assert lines[0] == ["Parameters:TimeZone=+0000"] and lines[1] == bidding.MICROSOFT_CLICK_COLUMNS
    assert [r[0] for r in lines[2:]] == ["ms-77"]


def test_feed_pages_with_its_cursor_and_filters_by_platform(acc, client):
    for n in range(3):
        bidding.handle(event_of(call_for(acc, f"p{n}", 10 + n, click_ids={"gclid": f"G{n}", "msclkid": f"M{n}"})),
                       clock=settled)
    seen, cursor = [], None
    for _ in range(10):
        path = f"/v1/accounts/{acc}/feeds/conversions?limit=2&platform=google_ads" + (f"&after={cursor}" if cursor else "")
        page = client.http.get(path, headers=auth()).json_body
        if not page["conversions"]:
            break
        seen += [c["gclid"] for c in page["conversions"]]
        cursor = page["next"]
    assert sorted(seen) == ["G0", "G1", "G2"]


def test_exports_need_the_accounts_key(acc, client):
    assert client.http.get(f"/v1/accounts/{acc}/exports/google-ads.csv").status_code == 401
    assert client.http.get("/v1/accounts/demo/feeds/conversions", headers=auth()).status_code == 403
    bad = client.http.get(f"/v1/accounts/{acc}/exports/google-ads.csv?kind=sale", headers=auth())
    assert bad.status_code == 400 and bad.json_body["error"] == "bad_request"
    assert client.http.get(f"/v1/accounts/{acc}/feeds/conversions?limit=0", headers=auth()).status_code == 400
    assert client.http.get(f"/v1/accounts/{acc}/feeds/conversions?after=zzz", headers=auth()).status_code == 400


def test_call_completed_on_the_bus_reaches_the_export(acc, client, moto_endpoint):
    from chalicelib import aws
    from chalicelib.integrations import bus, events, worker

    aws.reset_clients()
    bus.bootstrap()
    call = call_for(acc, "via-bus", 26, click_ids={"gclid": "G-BUS"})
    events.publish("Call Completed", event_of(call)["detail"])
    assert worker.drain(["bidding"], rounds=30)["bidding"][1] == 0
    lines = csv_lines(client.http.get(f"/v1/accounts/{acc}/exports/google-ads.csv", headers=auth()).body)
    assert [r[0] for r in lines[2:]] == ["G-BUS"]


@pytest.mark.parametrize("section,good,bad", [
    ("google_ads", {"enabled": True, "conversion_actions": [{"name": "Call", "when": "target"}]},
     {"enabled": True, "conversion_actions": [{"name": "Call", "when": "sometimes"}]}),
    ("microsoft_ads", {"enabled": True}, {"enabled": True, "timezone": "Europe/Berlin"}),
    ("hubspot", {"enabled": True, "token_ssm_parameter": "/calltrack/hubspot/x", "owners": {"alice": "101"}},
     {"enabled": True, "owners": {"alice": "not-an-id"}}),
    ("bi", {"enabled": True, "bucket": "calltrack-bi-1"}, {"enabled": True}),
    ("analytics", {"enabled": True, "format": "woopra", "project": "plumbing.example"},
     {"enabled": True, "format": "segment"}),
])
def test_integration_sections_are_validated_by_the_admin_api(acc, client, section, good, bad):
    path = f"/v1/accounts/{acc}/config/{section}"
    headers = {**auth(), "Content-Type": "application/json"}
    put = client.http.put(path, headers=headers, body=json.dumps({"value": good}))
    assert put.status_code == 200 and put.json_body["value"] == good
    refused = client.http.put(path, headers=headers, body=json.dumps({"value": bad}))
    assert refused.status_code == 400 and refused.json_body["error"] == "validation_failed"
