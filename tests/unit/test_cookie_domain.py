"""Where the snippet keeps its session cookie: the account's broadest domain the page is
on (www. and shop. share one session), the page's own host when asked, nothing for hosts
a cookie domain cannot name."""
from __future__ import annotations

import jsonschema
import pytest

from chalicelib.accounts import AccountView
from chalicelib.sections import COOKIE_DOMAIN_SCHEMA
from chalicelib.settings import Settings


def view(domains, **config):
    return AccountView(account_id="a", name="", domains=tuple(domains), default_number="+14155550100",
                       settings=Settings.from_map(None), config=config)


@pytest.mark.parametrize("host, expected", [
    ("www.acme.com", "acme.com"),
    ("shop.acme.com", "acme.com"),
    ("acme.com", "acme.com"),
    ("deep.shop.acme.com", "acme.com"),
    ("WWW.ACME.COM", "acme.com"),
    ("notacme.com", None),        # a suffix match must be on a dot
    ("acme.com.evil.net", None),
    ("localhost", None),
    ("127.0.0.1", None),
    ("[::1]", None),
    ("::ffff:10.0.0.1", None),    # an IPv6 hostname (with dots in it)
    ("", None),
    (None, None),
])
def test_the_broadest_listed_domain_the_host_is_on(host, expected):
    assert view(["shop.acme.com", "acme.com"]).cookie_domain(host) == expected


def test_host_keeps_the_cookie_on_the_page_host():
    assert view(["acme.com"], cookie_domain="host").cookie_domain("www.acme.com") is None


def test_an_explicit_domain_is_used_only_for_hosts_on_it():
    v = view(["acme.com", "acme.co.uk"], cookie_domain="shop.acme.com")
    assert v.cookie_domain("eu.shop.acme.com") == "shop.acme.com"
    assert v.cookie_domain("www.acme.com") is None
    assert v.cookie_domain("www.acme.co.uk") is None
    www = view(["acme.com"], cookie_domain="www.acme.com")       # the page's own www host
    assert www.cookie_domain("www.acme.com") == "www.acme.com"


def test_a_setting_outside_the_accounts_domains_is_not_used():
    """`co.uk` (a public suffix: browsers drop a cookie set on it) or another site's domain."""
    assert view(["acme.co.uk"], cookie_domain="co.uk").cookie_domain("www.acme.co.uk") is None
    assert view(["acme.com"], cookie_domain="other.com").cookie_domain("www.acme.com") is None


def test_single_label_listed_domains_are_never_a_cookie_domain():
    assert view(["intranet"]).cookie_domain("www.intranet") is None


@pytest.mark.parametrize("value", ["host", "acme.com", "shop.acme.co.uk", None])
def test_the_config_section_accepts(value):
    jsonschema.validate(value, COOKIE_DOMAIN_SCHEMA)


@pytest.mark.parametrize("value", ["localhost", ".acme.com", "acme.com/", "ACME.COM", "*.acme.com", 7, "a" * 254])
def test_the_config_section_refuses(value):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(value, COOKIE_DOMAIN_SCHEMA)
