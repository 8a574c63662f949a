"""Source detection: UTM tags, click ids, referrer groups — what every report groups by."""
import pytest

from chalicelib.dni.sources import detect


@pytest.mark.parametrize("url, referrer, source, medium, group", [
    ("https://shop.example/?utm_source=newsletter&utm_medium=email&utm_campaign=nov", None, "newsletter", "email", "email"),
    ("https://shop.example/?gclid=abc123", "https://www.google.com/", "google", "cpc", "paid"),
    ("https://shop.example/?msclkid=x", None, "bing", "cpc", "paid"),
    ("https://shop.example/?fbclid=x", "https://m.facebook.com/", "facebook", "paid_social", "paid_social"),
    ("https://shop.example/?ttclid=x", None, "tiktok", "paid_social", "paid_social"),
    ("https://shop.example/?yclid=1", None, "yandex", "cpc", "paid"),
    ("https://shop.example/?li_fat_id=1", None, "linkedin", "paid_social", "paid_social"),
    ("https://shop.example/", "https://www.google.co.uk/", "google", "organic", "organic"),
    ("https://shop.example/", "https://duckduckgo.com/", "duckduckgo", "organic", "organic"),
    ("https://shop.example/", "https://www.bing.com/search?q=plumber", "bing", "organic", "organic"),
    ("https://shop.example/", "https://yandex.ru/search", "yandex", "organic", "organic"),
    ("https://shop.example/", "https://www.ecosia.org/", "ecosia", "organic", "organic"),
    ("https://shop.example/", "https://l.instagram.com/", "instagram", "social", "social"),
    ("https://shop.example/", "https://t.co/abc", "twitter", "social", "social"),
    ("https://shop.example/", "https://www.reddit.com/r/diy", "reddit", "social", "social"),
    ("https://shop.example/", "https://blog.partner.org/post", "blog.partner.org", "referral", "referral"),
    ("https://shop.example/", None, "(direct)", "(none)", "direct"),
    ("https://shop.example/b", "https://shop.example/a", "(direct)", "(none)", "direct"),
])
def test_detects_source_medium_and_group(url, referrer, source, medium, group):
    visit = detect(url, referrer)
    assert (visit.source, visit.medium, visit.group) == (source, medium, group)


def test_utm_tags_beat_the_click_id_and_keep_the_click_id():
    visit = detect("https://s.example/?gclid=G1&utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=plumber+nyc",
                   "https://www.google.com/")
    assert (visit.source, visit.medium, visit.campaign, visit.keyword) == ("google", "cpc", "brand", "plumber nyc")
    assert visit.click_ids == {"gclid": "G1"}


def test_utm_medium_alone_regroups_referrer_traffic():
    visit = detect("https://s.example/?utm_medium=email", "https://mail.example.net/")
    assert visit.group == "email" and visit.medium == "email"


def test_lookalike_hosts_are_not_search_engines():
    assert detect("https://s.example/", "https://notgoogle.com/").group == "referral"


def test_broken_urls_do_not_raise():
    assert detect("https://[::1/", "http://[bad").source == "(direct)"
