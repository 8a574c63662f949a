"""Attribution without I/O: static and default numbers, and a held session's snapshot."""
from __future__ import annotations

from chalicelib.calls import attribution
from chalicelib.dni.history import Holding
from chalicelib.dni.models import Number


def test_a_static_number_stands_for_its_source_with_full_confidence():
    item = Number("+14155550150", account_id="a", kind="static", source="google / organic")
    out = attribution.attribute(item, 1000.0, 1800)
    assert (out["source"], out["medium"], out["method"], out["attribution_confidence"]) == \
        ("google", "organic", "static", 1.0)
    assert out["session_id"] is None


def test_a_default_number_gives_its_own_source_and_no_confidence():
    out = attribution.attribute(Number("+14155550123", account_id="a", kind="default"), 1000.0, 1800)
    assert out["method"] == "default" and out["attribution_confidence"] == 0.0 and out["source"] is None


def test_a_held_session_gives_its_snapshot_pages_and_confidence():
    snap = {"source": "bing", "medium": "cpc", "campaign": "spring", "keyword": "boiler", "device": "mobile",
            "ga_client_id": "1.2", "click_ids": {"msclkid": "abc"}, "method": "dynamic",
            "landing_page": "https://x.example/?utm_source=bing"}
    holding = Holding("s-1", 10.0, 50.0, 400.0, snap, 2)
    out = attribution.from_holding(holding, 0.66666)
    assert (out["session_id"], out["source"], out["keyword"], out["device"]) == ("s-1", "bing", "boiler", "mobile")
    assert out["click_ids"] == {"msclkid": "abc"} and out["pages_seen"] == 2
    assert out["attribution_confidence"] == 0.6667


def test_no_number_no_attribution():
    assert attribution.attribute(None, 0.0, 0)["method"] == "none"


def test_a_remembered_caller_counts_only_within_the_window():
    from chalicelib.dni import leases

    item = Number("+14155550199", account_id="a", kind="pool", callers={"h1": "acc.main.1.tok|1000|0.8500",
                                                                         "h2": "garbage"})
    found = leases.remembered(item, "h1", 1000 + 86400, 2 * 86400)
    assert (found.session_id, found.at, found.confidence) == ("acc.main.1.tok", 1000.0, 0.85)
    assert leases.remembered(item, "h1", 1000 + 3 * 86400, 2 * 86400) is None      # too long ago
    assert leases.remembered(item, "h1", 998, 2 * 86400) is None                   # before the call
    assert leases.remembered(item, "h1", 2000, 0) is None                          # switched off
    assert leases.remembered(item, "h2", 2000, 86400) is None                      # unreadable: ignored
    assert leases.remembered(item, None, 2000, 86400) is None
