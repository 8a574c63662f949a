"""User agents (bots, device/browser/OS), countries and number formats."""
import pytest

from chalicelib.dni.sessions import SessionId
from chalicelib.dni.useragent import is_bot, parse
from chalicelib.errors import UnknownSession, ValidationFailed
from chalicelib.geo import countries, phone

CHROME_ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/126.0 Mobile Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.5 Mobile/15E148 Safari/604.1")
EDGE_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/126.0 Safari/537.36 Edg/126.0")


@pytest.mark.parametrize("ua", [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0)", "facebookexternalhit/1.1",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0 Safari/537.36",
    "python-requests/2.32", "curl/8.5.0", "", "Mozilla/5.0 (compatible; AhrefsBot/7.0)",
])
def test_bots_are_recognised(ua):
    assert is_bot(ua)


@pytest.mark.parametrize("ua, device, browser, os", [
    (CHROME_ANDROID, "mobile", "Chrome", "Android"),
    (SAFARI_IPHONE, "mobile", "Safari", "iOS"),
    (EDGE_WINDOWS, "desktop", "Edge", "Windows"),
])
def test_people_are_not_bots_and_are_described(ua, device, browser, os):
    assert not is_bot(ua)
    agent = parse(ua)
    assert (agent.device, agent.browser, agent.os) == (device, browser, os)


def test_country_override_beats_cloudfront_and_unknowns_are_ignored():
    assert countries.resolve_country("US", "de") == "DE"
    assert countries.resolve_country("FR", None) == "FR"
    assert countries.resolve_country("XX", None) is None
    assert countries.resolve_country("USA", "1") is None


def test_numbers_normalise_to_e164_and_display_nationally():
    assert phone.to_e164("14155550123") == "+14155550123"
    assert phone.to_e164("+44 20 7946 0958") == "+442079460958"
    assert phone.display("+442079460958") == "020 7946 0958"
    assert phone.display("+14155550123") == "(415) 555-0123"
    with pytest.raises(ValidationFailed):
        phone.to_e164("hello")


def test_session_ids_name_their_lease_and_reject_garbage():
    sid = SessionId.new("demo", "main", "+14155550131")
    parsed = SessionId.parse(str(sid))
    assert (parsed.account, parsed.pool, parsed.number, parsed.leased) == ("demo", "main", "+14155550131", True)
    assert not SessionId.parse(str(SessionId.new("demo", None, "+14155550123"))).leased
    for bad in ("", "a.b.c", "demo.main.notdigits.tok", "a..1.x"):
        with pytest.raises(UnknownSession):
            SessionId.parse(bad)
