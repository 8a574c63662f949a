"""Pool health figures, manual tag checks and the recording fetch rules: pure."""
from __future__ import annotations

import pytest

from chalicelib.errors import ValidationFailed
from chalicelib.reports import pools, recordings, tags

CATEGORIES = [{"name": "Sale", "code": "1", "default_value": 150},
              {"name": "Quote", "code": "2", "values": ["boiler", "leak"], "default_value": 40}]


def test_peak_concurrency_counts_overlaps_and_not_touching_ends():
    assert pools.peak_concurrent([(0, 10), (5, 15), (9, 20), (20, 30)]) == 3
    assert pools.peak_concurrent([(0, 10), (10, 20)]) == 1
    assert pools.peak_concurrent([]) == 0


def test_health_counts_cooldown_as_occupied_and_recommends_headroom():
    now, since = 10_000.0, 0.0
    numbers = [{"enabled": True, "holder": "s9", "leased_at": now - 100, "lease_until": now + 200},
               *({"enabled": True, "holder": None, "leased_at": 0, "lease_until": 0} for _ in range(4))]
    # Back-to-back leases never overlap, but each number rests 600 s after its lease.
    history = [(1000.0 + i * 300, 1300.0 + i * 300) for i in range(4)]
    h = pools.health("main", numbers, history, now, since, cooldown=600, exhaustions=0)
    assert (h["size"], h["leased_now"], h["peak_concurrent_leases"]) == (5, 1, 1)
    assert h["peak_with_cooldown"] == 3 and h["recommended_size"] == 4
    assert h["utilisation_now_pct"] == 20.0


def test_a_pool_that_ran_out_is_told_to_grow():
    assert pools.recommended_size(8, 2, exhaustions=0) == 3
    assert pools.recommended_size(8, 8, exhaustions=5) == 12
    assert pools.recommended_size(1, 1, exhaustions=1) == 2


def test_manual_tags_take_the_categories_spelling_and_are_marked():
    assert tags.checked([{"category": "quote", "value": "BOILER"}], CATEGORIES) == [
        {"category": "Quote", "value": "boiler", "by": "manual"}]
    with pytest.raises(ValidationFailed, match="not one of Sale, Quote"):
        tags.checked([{"category": "Gold"}], CATEGORIES)
    with pytest.raises(ValidationFailed, match="roof"):
        tags.checked([{"category": "Quote", "value": "roof"}], CATEGORIES)
    with pytest.raises(ValidationFailed, match="no tag categories"):
        tags.checked([{"category": "Sale"}], [])


def test_manual_tags_replace_manual_ones_only_and_default_value_is_the_largest():
    keypad = {"category": "Sale", "value": None}
    old = {"category": "Quote", "value": "leak", "by": "manual"}
    new = tags.checked([{"category": "Quote", "value": "boiler"}], CATEGORIES)
    assert tags.merged([keypad, old], new) == [keypad, new[0]]
    assert tags.default_value(tags.checked([{"category": "Sale"}, {"category": "Quote"}], CATEGORIES), CATEGORIES) == 150
    assert tags.default_value([], CATEGORIES) is None


class FakeVoice:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.urls: list = []

    def download_recording(self, url: str, file_path: str) -> None:
        self.urls.append(url)
        with open(file_path, "wb") as fh:
            fh.write(self.payload)


class FakeVonage:
    def __init__(self, payload: bytes = b"ID3 mp3") -> None:
        self.voice = FakeVoice(payload)


def test_vonage_recordings_go_through_the_sdk_client():
    client = FakeVonage()
    url = "https://api-us.nexmo.com/v1/files/aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
    rec = recordings.fetch(url, client)
    assert rec == recordings.Recording(b"ID3 mp3", "audio/mpeg") and client.voice.urls == [url]


def test_too_large_recordings_and_odd_urls_are_refused(monkeypatch):
    with pytest.raises(recordings.RecordingTooLarge):
        recordings.fetch("https://api.nexmo.com/v1/files/x", FakeVonage(bytes(recordings.MAX_BYTES + 1)))
    with pytest.raises(recordings.RecordingUnavailable, match="http"):
        recordings.fetch("file:///etc/passwd", FakeVonage())
    monkeypatch.setenv("CALLTRACK_STAGE", "prod")
    with pytest.raises(recordings.RecordingUnavailable, match="Vonage only"):
        recordings.fetch("http://169.254.169.254/latest/meta-data", FakeVonage())
    assert recordings.is_vonage("https://api-eu.vonage.com/v1/files/x")
    assert not recordings.is_vonage("https://nexmo.com.evil.example/x")


