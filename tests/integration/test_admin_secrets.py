"""Secrets in account configuration are write-only: reads mask them, a PUT of the mask keeps them."""
import json

from chalicelib.dni.models import Account

KEY = {"Authorization": "Bearer demo-secret-key", "Content-Type": "application/json"}
GA4_SECRET = "s3cr3t-ga4-api-secret-XYZW"
HOOK_SECRET = "whsec-0123456789abcdef-LAST"


def put(client, section, value):
    return client.http.put(f"/v1/accounts/demo/config/{section}", headers=KEY, body=json.dumps({"value": value}))


def get(client, path):
    return client.http.get(path, headers=KEY).json_body


def stored(section):
    return Account.get("demo").config[section]


def test_secrets_are_masked_on_read_and_kept_when_the_mask_is_sent_back(client, demo_account):
    assert put(client, "ga4", {"measurement_id": "G-ABC123", "api_secret": GA4_SECRET}).status_code == 200
    shown = get(client, "/v1/accounts/demo/config/ga4")["value"]
    assert shown["api_secret"] == "••••XYZW" and GA4_SECRET not in json.dumps(get(client, "/v1/accounts/demo/config"))
    # The dashboard edits what it read and sends it back: the secret survives.
    shown["measurement_id"] = "G-NEW999"
    assert put(client, "ga4", shown).status_code == 200
    assert stored("ga4") == {"measurement_id": "G-NEW999", "api_secret": GA4_SECRET}
    # A new value replaces it.
    assert put(client, "ga4", {"measurement_id": "G-NEW999", "api_secret": "another-secret-1234"}).status_code == 200
    assert stored("ga4")["api_secret"] == "another-secret-1234"


def test_list_items_keep_their_own_secrets(client, demo_account, monkeypatch):
    from chalicelib.integrations import outbound

    monkeypatch.setattr(outbound, "resolver", lambda host, port: ["93.184.215.14"])   # no DNS here
    hooks = [{"id": "crm", "url": "https://crm.example/hook", "events": ["call_completed"], "secret": HOOK_SECRET}]
    response = put(client, "webhooks", hooks)
    assert response.status_code == 200, response.json_body
    shown = get(client, "/v1/accounts/demo/config/webhooks")["value"]
    assert shown[0]["secret"] == "••••LAST"
    assert put(client, "webhooks", shown).status_code == 200
    assert stored("webhooks")[0]["secret"] == HOOK_SECRET


def test_a_mask_that_matches_no_stored_secret_is_not_accepted_as_one(client, demo_account):
    put(client, "ga4", {"measurement_id": "G-ABC123", "api_secret": GA4_SECRET})
    put(client, "ga4", {"measurement_id": "G-ABC123", "api_secret": "••••NOPE"})
    assert stored("ga4")["api_secret"] == "••••NOPE", "an unknown mask is taken literally, never guessed"
