"""The outbound guard: no delivery, save or connection ever reaches an internal address."""
from __future__ import annotations

import pytest

from chalicelib.integrations import outbound
from chalicelib.integrations.errors import PermanentError

PUBLIC = "93.184.215.14"


@pytest.fixture()
def production(monkeypatch):
    monkeypatch.setenv("CALLTRACK_STAGE", "prod")


@pytest.fixture()
def names(monkeypatch):
    """A resolver the test controls (no DNS here): name → addresses."""
    table = {"hooks.example.com": [PUBLIC], "internal.example.com": ["10.1.2.3"],
             "mixed.example.com": [PUBLIC, "192.168.0.7"], "v6.example.com": ["2606:2800:220:1:248:1893:25c8:1946"],
             "mapped.example.com": ["::ffff:169.254.169.254"], "localhost": ["127.0.0.1", "::1"]}

    def resolve(host, port):
        if host in table:
            return table[host]
        return [host]   # an IP literal resolves to itself

    monkeypatch.setattr(outbound, "resolver", resolve)
    return table


@pytest.mark.parametrize("url, why", [
    ("https://169.254.169.254/latest/meta-data/", "link-local"),
    ("https://10.0.0.5/hook", "private"),
    ("https://192.168.1.1/hook", "private"),
    ("https://172.16.4.4/hook", "private"),
    ("https://[fd00::1]/hook", "private"),
    ("https://[fd00:ec2::254]/latest/meta-data/", "private"),
    ("https://localhost:9001/hook", "loopback"),
    ("https://127.0.0.1/hook", "loopback"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("https://100.100.100.200/latest/meta-data/", "not globally routable"),
    ("https://224.0.0.1/hook", "multicast"),
    ("https://240.0.0.1/hook", "reserved"),
    ("https://[::ffff:10.0.0.1]/hook", "private"),
    ("https://internal.example.com/hook", "10.1.2.3"),
    ("https://mixed.example.com/hook", "192.168.0.7"),
    ("https://mapped.example.com/hook", "link-local"),
    ("https://[2002:a9fe:a9fe::1]/hook", "link-local"),          # 6to4 carrying 169.254.169.254
    ("https://[fec0::1]/hook", "site-local"),
])
def test_internal_addresses_are_refused_in_production(production, names, url, why):
    with pytest.raises(outbound.UnsafeTarget, match=why.replace(".", r"\.")):
        outbound.check_target(url)


def test_public_https_passes(production, names):
    for url in ("https://hooks.example.com/h", f"https://{PUBLIC}/h", "https://v6.example.com/h",
                "https://hooks.example.com:8443/x?y=1"):
        outbound.check_target(url)


@pytest.mark.parametrize("url, hint", [
    ("https://user:pass@hooks.example.com/h", "signing secret|signed with"),
    ("https://token@hooks.example.com/h", "header secret"),
    ("http://hooks.example.com/h", "https is required"),
    ("ftp://hooks.example.com/h", "https is required"),
])
def test_credentials_and_plain_http_are_refused_with_a_way_out(production, names, url, hint):
    with pytest.raises(outbound.UnsafeTarget, match=hint) as err:
        outbound.check_target(url)
    assert "pass" not in str(err.value)                  # never echoes the password


def test_the_local_stage_allows_this_machine_and_nothing_else(names):
    outbound.check_target("http://127.0.0.1:9001/hook")
    outbound.check_target("http://localhost:9001/hook")
    outbound.check_target("https://127.0.0.1:9443/hook")
    for url in ("http://192.168.1.1/hook", "https://10.0.0.5/hook", "https://169.254.169.254/",
                "http://hooks.example.com/h"):
        with pytest.raises(outbound.UnsafeTarget):
            outbound.check_target(url)


def test_a_refusal_is_permanent_and_logs_show_no_credentials_or_query():
    assert issubclass(outbound.UnsafeTarget, PermanentError)
    assert outbound.where("https://u:p@hooks.example.com:8443/a/b?_k=secret") == "https://hooks.example.com:8443/a/b"
    assert outbound.reason(404) == "HTTP 404 Not Found"


def test_the_connection_goes_to_the_checked_address_not_a_second_lookup(production, monkeypatch):
    """DNS rebinding: the name resolves to a public address once, to an internal one next.
    The guarded connection resolves once and connects to that address (refusing it if it is
    internal), so no second lookup can swap the target."""
    answers = iter([["10.9.9.9"]])
    monkeypatch.setattr(outbound, "resolver", lambda host, port: next(answers))
    connected = []
    monkeypatch.setattr(outbound.socket, "create_connection", lambda *a, **k: connected.append(a) or 1 / 0)
    with pytest.raises(outbound.UnsafeTarget, match="10.9.9.9"):
        outbound.post("https://rebind.example.com/hook", b"{}", {})
    assert connected == []                                 # never even opened a socket


def test_a_malformed_url_is_refused_not_a_crash(production):
    with pytest.raises(outbound.UnsafeTarget, match="malformed"):
        outbound.check_target("https://[abc/x")
