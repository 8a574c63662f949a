"""The outbound guard through the API and at delivery: internal targets refused when saved
(a 400 naming the field), credentials never stored or echoed, and a name that resolves to a
public address when saved and to an internal one at delivery (DNS rebinding) never reached."""
from __future__ import annotations

import json
import uuid

import pytest

from chalicelib.integrations import outbound, webhooks
from chalicelib.integrations.errors import PermanentError
from chalicelib.integrations.models import WebhookDelivery
from tests.integration.integrations_stub import StubServer
from tests.integration.test_integrations_bus import call_detail

PUBLIC = "93.184.215.14"
SECRET = "whsec-guard-0123456789abcdef"


@pytest.fixture()
def names(monkeypatch):
    table = {"crm.example.com": [PUBLIC], "intranet.example.com": ["10.20.30.40"]}
    monkeypatch.setattr(outbound, "resolver", lambda host, port: table.get(host, [host]))
    return table


@pytest.fixture()
def keyed(account):
    key = "key-" + uuid.uuid4().hex
    acc = account(api_key=key)
    return acc, {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


def put(client, acc, headers, section, value):
    return client.http.put(f"/v1/accounts/{acc.account_id}/config/{section}", headers=headers,
                           body=json.dumps({"value": value}))


def hook(url):
    return [{"id": "crm", "url": url, "events": ["call_completed"], "secret": SECRET}]


@pytest.mark.parametrize("section, value, field", [
    ("webhooks", hook("https://169.254.169.254/latest/meta-data/"), "value/0/url"),
    ("webhooks", hook("https://intranet.example.com/hook"), "value/0/url"),
    ("webhooks", hook("http://192.168.1.10/hook"), "value/0/url"),
    ("webhooks", hook("https://[fd00::1]/hook"), "value/0/url"),
    ("ga4", {"measurement_id": "G-ABC123", "api_secret": "ga4-secret-123456",
             "endpoint": "https://169.254.169.254/"}, "value/endpoint"),
])
def test_internal_targets_are_refused_when_saved(client, keyed, names, section, value, field):
    acc, headers = keyed
    response = put(client, acc, headers, section, value)
    assert response.status_code == 400, response.json_body
    assert response.json_body["error"] == "validation_failed" and response.json_body["message"].startswith(field)


def test_credentials_in_a_url_are_refused_and_never_echoed(client, keyed, names):
    acc, headers = keyed
    response = put(client, acc, headers, "webhooks", hook("https://alice:hunter2pass@crm.example.com/hook"))
    assert response.status_code == 400
    assert "hunter2pass" not in response.body.decode() and "secret" in response.json_body["message"]
    assert put(client, acc, headers, "webhooks", hook("https://crm.example.com/hook")).status_code == 200
    shown = client.http.get(f"/v1/accounts/{acc.account_id}/config", headers=headers).json_body
    assert shown["sections"]["webhooks"][0]["url"] == "https://crm.example.com/hook"


def test_a_password_stored_before_the_guard_is_masked_on_read(client, account):
    key = "key-" + uuid.uuid4().hex
    acc = account(api_key=key, extra_config={"webhooks": hook("https://alice:hunter2pass@crm.example.com/hook")})
    body = client.http.get(f"/v1/accounts/{acc.account_id}/config/webhooks",
                           headers={"Authorization": f"Bearer {key}"}).body.decode()
    assert "hunter2pass" not in body and "crm.example.com/hook" in body


def test_a_name_rebound_to_an_internal_address_after_saving_is_never_reached(client, keyed, names, monkeypatch):
    acc, headers = keyed
    internal = StubServer().start()                      # an "internal service" on this machine
    try:
        url = f"https://crm.example.com:{internal.port}/hook"
        assert put(client, acc, headers, "webhooks", hook(url)).status_code == 200
        names["crm.example.com"] = ["127.0.0.1"]         # the attacker's DNS answers differently now
        monkeypatch.setenv("CALLTRACK_STAGE", "prod")    # where loopback is no stand-in
        event = {"id": "ev-" + uuid.uuid4().hex, "detail-type": "Call Completed", "time": "2026-01-05T10:00:00Z",
                 "detail": call_detail(acc.account_id)}
        with pytest.raises(PermanentError, match="127.0.0.1"):
            webhooks.deliver(event, hook(url)[0])
        assert internal.requests == []
        (entry,) = list(WebhookDelivery.query(f"{acc.account_id}#crm"))
        assert not entry.ok and "loopback" in entry.error and entry.url == url.split("?")[0]
    finally:
        internal.down()


def test_a_ga4_section_without_its_secret_names_the_missing_field(client, keyed):
    acc, headers = keyed
    response = put(client, acc, headers, "ga4", {"measurement_id": "G-ABC123"})
    assert response.status_code == 400
    assert response.json_body["message"] == "value: missing api_secret (or api_secret_parameter)"
