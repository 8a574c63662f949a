"""Bad input gets a clear 4xx with {"error", "message"} — never a 500."""
import json

import pytest

BROWSER = {"Content-Type": "text/plain", "User-Agent": "Mozilla/5.0 Chrome/126.0"}


@pytest.mark.parametrize("body, status, code", [
    ("{not json", 400, "invalid_json"),
    ("", 400, "invalid_json"),
    ("[]", 400, "validation_failed"),
    (json.dumps({"account": "demo"}), 400, "validation_failed"),
    (json.dumps({"account": 5, "url": "http://localhost/"}), 400, "validation_failed"),
    (json.dumps({"account": "demo", "url": "javascript:alert(1)"}), 400, "validation_failed"),
    (json.dumps({"account": "demo", "url": "http://localhost/", "country": "Germany"}), 400, "validation_failed"),
    (json.dumps({"account": "demo", "url": "http://localhost/", "ga_client_id": {"x": 1}}), 400, "validation_failed"),
    (json.dumps({"account": "nobody-here", "url": "http://localhost/"}), 404, "unknown_account"),
    (json.dumps({"account": "demo", "url": "http://localhost/" + "a" * 20000}), 413, "payload_too_large"),
    ("\xff\xfe", 400, "invalid_json"),
])
def test_session_requests(client, demo_account, body, status, code):
    response = client.http.post("/v1/sessions", headers=BROWSER, body=body)
    assert response.status_code == status
    assert response.json_body["error"] == code and response.json_body["message"]


@pytest.mark.parametrize("session_id, body, status", [
    ("garbage", "{}", 404),
    ("demo.main.14155550131.not-the-holder", "{}", 410),
    ("demo.main.19999999999.nobody", "{}", 410),
    ("nobody.main.14155550131.x", "{}", 404),
    ("demo.main.14155550131.x", "{bad", 400),
    ("demo.main.14155550131.x", json.dumps({"url": 12}), 400),
])
def test_heartbeats(client, demo_account, session_id, body, status):
    response = client.http.post(f"/v1/sessions/{session_id}/heartbeat", headers=BROWSER, body=body)
    assert response.status_code == status
    assert set(response.json_body) == {"error", "message"}


def test_errors_on_browser_routes_carry_cors_so_the_snippet_can_read_them(client, demo_account):
    gone = client.http.post("/v1/sessions/demo.main.14155550131.stale/heartbeat", headers=BROWSER, body="{}")
    bad = client.http.post("/v1/sessions", headers=BROWSER, body="{")
    assert gone.status_code == 410 and gone.headers["Access-Control-Allow-Origin"] == "*"
    assert bad.status_code == 400 and bad.headers["Access-Control-Allow-Origin"] == "*"


def test_a_wrong_method_or_content_type_answers_in_the_contract_shape(client, demo_account):
    wrong_method = client.http.put("/v1/sessions", headers=BROWSER, body="{}")
    wrong_type = client.http.post("/v1/accounts/demo/keys", body="<a/>",
                                  headers={"Content-Type": "application/xml", "Authorization": "Bearer demo-secret-key"})
    assert (wrong_method.status_code, wrong_method.json_body["error"]) == (405, "method_not_allowed")
    assert wrong_method.headers["Allow"] == "POST" and wrong_method.json_body["message"]
    assert (wrong_type.status_code, wrong_type.json_body["error"]) == (415, "unsupported_media_type")


def test_database_down_answers_503_in_the_contract_shape_and_the_snippet_can_read_it(client, account, monkeypatch):
    import socket

    from chalicelib import accounts
    from chalicelib.dni.models import Account, Number, Session

    acc = account()
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    for model in (Account, Number, Session):
        monkeypatch.setattr(model.Meta, "host", dead)
        monkeypatch.setattr(model, "_connection", None)
    accounts.invalidate(acc.account_id)
    response = client.http.post("/v1/sessions", headers=BROWSER,
                                body=json.dumps({"account": acc.account_id, "url": "http://localhost/"}))
    for model in (Account, Number, Session):
        model._connection = None  # reconnect to the emulator for the tests after this one
    assert response.status_code == 503
    assert response.json_body["error"] == "unavailable"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_an_unknown_route_answers_in_the_error_shape(api_server):
    """As API Gateway does with the gateway responses of infra/gateway.json."""
    import requests

    for method, path in (("GET", "/v1/nope"), ("POST", "/v1/accounts/demo/nothing-here"),
                         ("GET", "/v1/sessions/extra/segments")):
        response = requests.request(method, api_server + path, headers={"Authorization": "Bearer x"}, timeout=10)
        assert response.status_code == 404, (path, response.text)
        body = response.json()
        assert set(body) == {"error", "message"} and body["error"] == "not_found" and path in body["message"]
