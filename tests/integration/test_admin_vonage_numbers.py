"""Buying numbers through Vonage's Numbers API (SDK) against a local HTTPS stub that
answers as rest.nexmo.com does: search, buy, then link to the application, then the
number is the account's. Off unless CALLTRACK_NUMBER_PURCHASES is on."""
from __future__ import annotations

import base64
import json
import ssl
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from tests.integration.vonage_stub import _free_port, self_signed

API_KEY, API_SECRET, APP_ID = "abcd1234", "s3cr3t-not-real", "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
OK = {"error-code": "200", "error-code-label": "success"}


class NumbersStub:
    """GET /number/search, POST /number/buy, POST /number/update (form bodies, basic auth)."""

    def __init__(self, directory, offer):
        self.offer, self.sold_out, self.requests = offer, set(), []
        self.port = _free_port()
        self.cert, key = self_signed(directory)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _record(self, params):
                stub.requests.append({"method": self.command, "path": urlparse(self.path).path, "params": params,
                                      "authorization": self.headers.get("Authorization")})

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlparse(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                self._record(params)
                wanted = params.get("pattern", "")
                found = [n for n in stub.offer if n["country"] == params.get("country") and wanted in n["msisdn"]]
                self._send(200, {"count": len(found), "numbers": found[: int(params.get("size", 100))]})

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                params = {k: v[0] for k, v in parse_qs(raw).items()}
                self._record(params)
                if params.get("msisdn") in stub.sold_out:
                    return self._send(420, {"error-code": "420", "error-code-label": "method failed"})
                self._send(200, OK)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert), str(key))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def offer():
    base = uuid.uuid4().int % 9000
    return [{"country": "US", "msisdn": f"1332{base:04d}{i:03d}", "type": "landline", "cost": "0.90",
             "features": ["VOICE", "SMS"]} for i in range(3)]


@pytest.fixture()
def vonage(tmp_path, monkeypatch, offer):
    from chalicelib.admin import purchases

    stub = NumbersStub(tmp_path, offer)
    for name, value in {"CALLTRACK_NUMBER_PURCHASES": "on", "VONAGE_API_KEY": API_KEY, "VONAGE_API_SECRET": API_SECRET,
                        "VONAGE_REST_HOST": f"127.0.0.1:{stub.port}", "VONAGE_APPLICATION_ID": APP_ID,
                        "REQUESTS_CA_BUNDLE": str(stub.cert)}.items():
        monkeypatch.setenv(name, value)
    purchases.client.cache_clear()
    yield stub
    stub.close()
    purchases.client.cache_clear()


@pytest.fixture()
def owned(account):
    key = "vn-" + uuid.uuid4().hex
    pool = [f"+1628{uuid.uuid4().int % 10 ** 7:07d}" for _ in range(5)]
    return account(api_key=key, pool=pool).account_id, key


def call(client, method, path, key, body=None):
    r = client.http.request(method, path, headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                            body=json.dumps(body) if body is not None else b"")
    return r.status_code, json.loads(r.body)


def test_switched_off_by_default(client, owned, monkeypatch):
    monkeypatch.delenv("CALLTRACK_NUMBER_PURCHASES", raising=False)
    account_id, key = owned
    status, body = call(client, "GET", f"/v1/accounts/{account_id}/vonage/numbers?country=US", key)
    assert status == 404 and "CALLTRACK_NUMBER_PURCHASES" in body["message"]
    status, _ = call(client, "POST", f"/v1/accounts/{account_id}/vonage/numbers", key,
                     {"number": "+13325550100", "country": "US", "pool_id": "main"})
    assert status == 404


def test_search_asks_vonage_for_voice_numbers(client, owned, vonage, offer):
    account_id, key = owned
    pattern = offer[1]["msisdn"][-3:]
    status, body = call(client, "GET", f"/v1/accounts/{account_id}/vonage/numbers?country=US&pattern={pattern}&size=5", key)
    assert status == 200 and [n["number"] for n in body["numbers"]] == ["+" + offer[1]["msisdn"]]
    assert body["numbers"][0]["monthly_cost_eur"] == "0.90"
    (req,) = vonage.requests
    assert req["path"] == "/number/search" and req["params"]["features"] == "VOICE"
    assert req["params"]["search_pattern"] == "1" and req["params"]["pattern"] == pattern
    assert req["authorization"] == "Basic " + base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()
    assert call(client, "GET", f"/v1/accounts/{account_id}/vonage/numbers?country=usa", key)[0] == 400


def test_buy_links_to_the_application_and_adds_to_the_pool(client, owned, vonage, offer):
    account_id, key = owned
    number = "+" + offer[0]["msisdn"]
    status, body = call(client, "POST", f"/v1/accounts/{account_id}/vonage/numbers", key,
                        {"number": number, "country": "US", "pool_id": "main"})
    assert status == 201 and body["bought"] is True and body["pool_id"] == "main"
    buy, link = vonage.requests
    assert (buy["path"], buy["params"]) == ("/number/buy", {"country": "US", "msisdn": offer[0]["msisdn"]})
    assert link["path"] == "/number/update" and link["params"]["app_id"] == APP_ID
    _, pool = call(client, "GET", f"/v1/accounts/{account_id}/pools/main", key)
    assert number in [n["number"] for n in pool["numbers"]] and pool["size"] == 6


def test_a_refused_purchase_adds_nothing(client, owned, vonage, offer):
    account_id, key = owned
    vonage.sold_out.add(offer[2]["msisdn"])
    status, body = call(client, "POST", f"/v1/accounts/{account_id}/vonage/numbers", key,
                        {"number": "+" + offer[2]["msisdn"], "country": "US", "kind": "static", "source": "radio"})
    assert status == 502 and body["error"] == "vonage_error"
    assert [r["path"] for r in vonage.requests] == ["/number/buy"]     # never linked
    assert call(client, "GET", f"/v1/accounts/{account_id}/numbers/+{offer[2]['msisdn']}", key)[0] == 404


def test_another_accounts_number_is_never_bought(client, owned, vonage):
    account_id, key = owned
    status, _ = call(client, "POST", f"/v1/accounts/{account_id}/vonage/numbers", key,
                     {"number": "+14155550131", "country": "US", "pool_id": "main"})   # the demo account's
    assert status == 409 and vonage.requests == []
