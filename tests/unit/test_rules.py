"""Tracking rules: precedence landing parameter > referrer > group > source > pool; geo first."""
from chalicelib.dni.rules import decide
from chalicelib.dni.sources import detect

RULES = [
    {"id": "src", "match": {"source": "google", "medium": "organic"}, "number": "+14155550150"},
    {"id": "grp", "match": {"group": "social"}, "pool": "social"},
    {"id": "ref", "match": {"referrer": "yelp.com"}, "number": "+14155550160"},
    {"id": "prm", "match": {"param": {"name": "utm_source", "value": "billboard"}}, "number": "+14155550170"},
]


def test_landing_parameter_beats_every_other_rule():
    plan = decide(detect("https://s.example/?utm_source=billboard", "https://www.google.com/"), RULES, "main")
    assert (plan.method, plan.number, plan.rule_id) == ("static", "+14155550170", "prm")


def test_specific_referrer_beats_group():
    plan = decide(detect("https://s.example/", "https://www.yelp.com/biz/x"), RULES, "main")
    assert plan.rule_id == "ref"


def test_group_rule_leases_from_its_pool():
    plan = decide(detect("https://s.example/", "https://www.facebook.com/"), RULES, "main")
    assert (plan.method, plan.pool_id) == ("dynamic", "social")


def test_static_source_rule():
    plan = decide(detect("https://s.example/", "https://www.google.com/"), RULES, "main")
    assert (plan.method, plan.number) == ("static", "+14155550150")


def test_everything_else_leases_from_the_default_pool_or_gets_the_default():
    assert decide(detect("https://s.example/", None), RULES, "main").pool_id == "main"
    assert decide(detect("https://s.example/", None), RULES, None).method == "default"


def test_a_pool_rule_falls_back_to_the_static_number_of_its_source():
    rules = [{"id": "paid", "match": {"group": "paid"}, "pool": "paid"},
             {"id": "g", "match": {"source": "google"}, "number": "+14155550180"}]
    plan = decide(detect("https://s.example/?gclid=1", None), rules, "main")
    assert (plan.pool_id, plan.number, plan.fallback_method) == ("paid", "+14155550180", "static")


def test_a_country_rule_overrides_source_rules():
    plan = decide(detect("https://s.example/?utm_source=billboard", None), RULES, "main",
                  geo={"country": "DE", "number": "+4930901820"})
    assert (plan.method, plan.number) == ("static", "+4930901820")
