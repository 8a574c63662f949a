"""Every error answer has the contract's shape, whatever raised it."""
from types import SimpleNamespace

from chalice import Response

from chalicelib import web
from chalicelib.errors import UnknownAccount


def test_an_unexpected_failure_becomes_a_503_in_the_contract_shape_with_cors_on_browser_routes():
    chalice_500 = Response(body={"Code": "InternalServerError", "Message": "An internal server error occurred."},
                           status_code=500)
    answer = web.error_middleware(SimpleNamespace(path="/v1/sessions"), lambda event: chalice_500)
    assert answer.status_code == 503
    assert set(answer.body) == {"error", "message"} and answer.body["error"] == "unavailable"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_domain_errors_keep_their_status_and_admin_routes_get_no_cors():
    def raises(event):
        raise UnknownAccount("no account 'x'")

    answer = web.error_middleware(SimpleNamespace(path="/v1/accounts/x/settings"), raises)
    assert (answer.status_code, answer.body) == (404, {"error": "unknown_account", "message": "no account 'x'"})
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_successful_answers_pass_through_untouched():
    ok = Response(body={"number": "+14155550131"}, status_code=200)
    assert web.error_middleware(SimpleNamespace(path="/v1/sessions"), lambda event: ok) is ok


class _Req:
    def __init__(self, forwarded=None, source="198.51.100.9"):
        self.headers = {"x-forwarded-for": forwarded} if forwarded else {}
        self.context = {"identity": {"sourceIp": source}}


def test_the_client_ip_is_api_gateways_unless_a_trusted_proxy_is_configured(monkeypatch):
    from chalicelib import web

    monkeypatch.delenv("CALLTRACK_TRUSTED_PROXIES", raising=False)
    assert web.client_ip(_Req("203.0.113.7")) == "198.51.100.9"            # a header anyone can write
    monkeypatch.setenv("CALLTRACK_TRUSTED_PROXIES", "1")
    assert web.client_ip(_Req("6.6.6.6, 203.0.113.7")) == "203.0.113.7"     # what our proxy saw, not the spoof
    assert web.client_ip(_Req()) == "198.51.100.9"
    monkeypatch.setenv("CALLTRACK_TRUSTED_PROXIES", "2")
    assert web.client_ip(_Req("203.0.113.7")) == "198.51.100.9"            # fewer hops than proxies: not believed
