"""GA4 payloads: shape, limits and privacy, checked property-style over generated calls.

The checks below are written independently of ga4.py's own validator (their own reserved
lists, patterns and PII probes), so a builder bug is not hidden by the same bug twice."""
from __future__ import annotations

import json
import random
import re
import string

import pytest

from chalicelib.integrations import ga4

RESERVED_EVENTS = {"ad_impression", "app_remove", "app_store_refund", "app_store_subscription_cancel",
                   "app_store_subscription_renew", "click", "error", "file_download", "first_open", "first_visit",
                   "form_start", "form_submit", "in_app_purchase", "page_view", "scroll", "session_start",
                   "user_engagement", "view_complete", "video_progress", "video_start", "view_search_results",
                   "screen_view", "notification_open", "app_update", "os_update"}
RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")
STATUSES = ["answered", "missed", "busy", "voicemail", "ivr_no_input", "ivr_abandoned", "abandoned_in_greeting",
            "failed", "rejected", "callback_agent_no_answer", "callback_client_no_answer"]


def phone_variants(rng: random.Random):
    national = "".join(rng.choice(string.digits) for _ in range(9))
    e164 = "+44" + national
    spaced = f"0{national[:3]} {national[3:6]} {national[6:]}"
    dashed = f"(0{national[:3]}) {national[3:6]}-{national[6:]}"
    return e164, [e164, e164[1:], spaced, dashed, "tel:" + e164, "0" + national], national


def text(rng: random.Random, pii: list) -> str:
    words = ["boiler", "repair", "winter_sale_2024", "cpc", "Zürich", "ÄÖÜ", "x" * rng.randint(1, 150), "%40",
             "campaign-7", "utm", "/path/to/page"]
    parts = [rng.choice(words) for _ in range(rng.randint(0, 4))]
    if pii and rng.random() < 0.5:
        parts.insert(rng.randint(0, len(parts)), rng.choice(pii))
    return " ".join(parts)


def generated_call(rng: random.Random):
    caller, phones, national = phone_variants(rng)
    email = f"{rng.choice(['jo', 'a.b', 'sales+x'])}@{rng.choice(['example.com', 'mail.co.uk'])}"
    pii = phones + [email, email.replace("@", "%40")]
    url = f"https://shop.example/{rng.choice(['p', 'contact'])}?email={email}&phone={phones[0]}#{national}"
    call = {
        "account_id": "acc", "call_id": "c-" + "".join(rng.choice("0123456789abcdef") for _ in range(12)),
        "caller": caller if rng.random() < 0.5 else None, "caller_hash": "a" * 64,
        "status": rng.choice(STATUSES), "direction": rng.choice(["inbound", "outbound", "callback"]),
        "started_at": "2026-11-26T10:%02d:%02dZ" % (rng.randint(0, 59), rng.randint(0, 59)),
        "talk_seconds": rng.choice([None, 0, rng.randint(0, 5000)]), "wait_seconds": rng.randint(0, 60),
        "duration_seconds": rng.randint(0, 6000), "within_working_hours": rng.choice([True, False, None]),
        "session_id": rng.choice([None, "s-" + str(rng.randint(0, 10**9))]),
        "method": rng.choice(["dynamic", "static", "default", "none"]),
        "source": text(rng, pii), "medium": text(rng, pii), "campaign": text(rng, pii), "keyword": text(rng, pii),
        "content": text(rng, pii), "landing_page": rng.choice([url, None, text(rng, pii)]),
        "referrer": url, "department": text(rng, pii), "agent": "Anna Smith", "country": rng.choice(["GB", None]),
        "ga_client_id": rng.choice([None, "GA1.1.%d.%d" % (rng.randint(1, 10**10), rng.randint(1, 10**10)),
                                    "garbage", caller]),
        "classification": {k: rng.random() < 0.5 for k in ["unique", "target", "repeated", "first_target",
                                                            "unique_target"]},
        "tags": [{"category": text(rng, pii)[:20], "value": text(rng, pii)} for _ in range(rng.randint(0, 3))],
        "value": rng.choice([None, round(rng.uniform(0, 1000), 2)]), "currency": rng.choice([None, "EUR"]),
        "destination": caller, "recording_url": url,
    }
    return call, pii, national


def string_values(payload):
    for event in payload["events"]:
        for value in event["params"].values():
            if isinstance(value, str):
                yield value


def test_generated_payloads_respect_limits_and_carry_no_pii():
    rng = random.Random(20261126)
    for _ in range(600):
        call, pii, national = generated_call(rng)
        payload = ga4.build_payload(call, "GBP")
        ga4.validate_payload(payload, caller=call["caller"])   # the builder's output always passes
        raw = json.dumps(payload, ensure_ascii=False)

        assert 1 <= len(payload["events"]) <= 25
        assert re.fullmatch(r"\d+\.\d+", payload["client_id"])
        for event in payload["events"]:
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,39}", event["name"])
            assert event["name"] not in RESERVED_EVENTS and not event["name"].startswith(RESERVED_PREFIXES)
            assert len(event["params"]) <= 25
            for key, value in event["params"].items():
                assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,39}", key)
                assert not key.startswith(RESERVED_PREFIXES) and key not in {"gclid", "session_number"}
                assert isinstance(value, (str, int, float)) and not isinstance(value, bool)
                assert not isinstance(value, str) or len(value) <= 100
        assert "@" not in raw
        assert not any(p in raw for p in pii if "@" in p or "%40" in p)
        for value in string_values(payload):
            digits = re.sub(r"\D", "", value)
            assert national[-7:] not in digits, (value, national)
            for run in re.findall(r"(?<![A-Za-z_])[+(]?\d[\d\s().\-/]*\d", value):
                assert len(re.sub(r"\D", "", run)) < 7, (run, value)
        assert "Anna" not in raw and call["caller_hash"] not in raw


def test_one_event_per_class_plus_the_general_call_event():
    call, _, _ = generated_call(random.Random(1))
    call["classification"] = {"unique": True, "target": False, "repeated": True, "first_target": False,
                              "unique_target": False}
    names = [e["name"] for e in ga4.build_payload(call)["events"]]
    assert names == ["phone_call", "call_unique", "call_repeated"]


def test_client_id_comes_from_the_ga_cookie_else_is_generated_and_flagged():
    call, _, _ = generated_call(random.Random(2))
    call["ga_client_id"] = "GA1.1.1234567890.1699999999"
    payload = ga4.build_payload(call)
    assert payload["client_id"] == "1234567890.1699999999"
    assert payload["events"][0]["params"]["client_id_source"] == "cookie"
    call["ga_client_id"] = None
    first, again = ga4.build_payload(call), ga4.build_payload(call)
    assert first["client_id"] == again["client_id"]          # stable across retries
    assert first["events"][0]["params"]["client_id_source"] == "generated"


def test_timestamp_is_the_call_time_and_value_carries_currency():
    call, _, _ = generated_call(random.Random(3))
    call.update(started_at="2026-11-26T10:00:00Z", value=99.5, currency=None)
    payload = ga4.build_payload(call, "EUR")
    assert payload["timestamp_micros"] == 1795687200 * 1_000_000
    assert payload["events"][0]["params"]["value"] == 99.5 and payload["events"][0]["params"]["currency"] == "EUR"


def base_payload():
    return {"client_id": "1.2", "events": [{"name": "phone_call", "params": {"call_status": "answered"}}]}


@pytest.mark.parametrize("mutate, message", [
    (lambda p: p["events"][0].update(name="page_view"), "reserved"),
    (lambda p: p["events"][0].update(name="session_start"), "reserved"),
    (lambda p: p["events"][0].update(name="ga_call"), "prefix"),
    (lambda p: p["events"][0].update(name="x" * 41), "longer than 40"),
    (lambda p: p["events"][0].update(name="call-started"), "letters, digits"),
    (lambda p: p["events"][0]["params"].update(firebase_x="1"), "prefix"),
    (lambda p: p["events"][0]["params"].update(_private="1"), "starting with a letter|prefix"),
    (lambda p: p["events"][0]["params"].update(gclid="abc"), "reserved"),
    (lambda p: p["events"][0]["params"].update({f"p{i}": i for i in range(25)}), "at most 25"),
    (lambda p: p.update(events=p["events"] * 26), "1–25 events"),
    (lambda p: p["events"][0]["params"].update(note="y" * 101), "at most 100"),
    (lambda p: p["events"][0]["params"].update(note="call +44 20 7946 0000"), "phone"),
    (lambda p: p["events"][0]["params"].update(note="020-7946-0000"), "phone"),
    (lambda p: p["events"][0]["params"].update(note="write to jo@example.com"), "email"),
    (lambda p: p.update(user_properties={"user_id": {"value": "x"}}), "reserved"),
])
def test_validator_refuses_what_ga4_would_drop_or_forbids(mutate, message):
    payload = base_payload()
    mutate(payload)
    with pytest.raises(ga4.InvalidGa4Payload, match=message):
        ga4.validate_payload(payload)


def test_validator_refuses_the_callers_digits_anywhere():
    payload = base_payload()
    payload["events"][0]["params"]["note"] = "order_ab2079460000x"
    with pytest.raises(ga4.InvalidGa4Payload, match="caller"):
        ga4.validate_payload(payload, caller="+442079460000")


def test_events_older_than_72_hours_are_refused():
    payload = dict(base_payload(), timestamp_micros=1_000_000 * 1_000_000)
    with pytest.raises(ga4.InvalidGa4Payload, match="72 hours"):
        ga4.validate_payload(payload, now=1_000_000 + 73 * 3600)
    ga4.validate_payload(payload, now=1_000_000 + 71 * 3600)


def test_collect_url_uses_the_configured_endpoint():
    url = ga4.collect_url({"measurement_id": "G-ABC123", "endpoint": "https://region1.google-analytics.com/"}, "s e")
    assert url == "https://region1.google-analytics.com/mp/collect?measurement_id=G-ABC123&api_secret=s+e"


def test_a_call_without_its_own_value_carries_the_accounts_nominal_value():
    assert ga4.call_value({"value": None}, 40.0) == 40.0
    assert ga4.call_value({"value": 5}, 40.0) == 5.0          # tags win
    assert ga4.call_value({}, 0.0) is None                    # no nominal value: none sent
