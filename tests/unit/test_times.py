"""One way to read and write times, whatever the machine's time zone: a time without an
offset is UTC (partners' exports, Vonage, the API), never the machine's local time."""
from __future__ import annotations

import time

import pytest

from chalicelib import times
from chalicelib.integrations import bi, bidding, hubspot
from chalicelib.reports import filters

T = 1_795_687_200.0          # 2026-11-26T10:00:00Z


@pytest.fixture(params=["America/Los_Angeles", "Asia/Kolkata", "UTC"])
def local_zone(request, monkeypatch):
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_naive_times_are_utc_on_any_machine(local_zone):
    for reader in (times.epoch, bidding.epoch, hubspot.epoch, bi.epoch, filters.epoch):
        assert reader("2026-11-26T10:00:00") == T, (reader, local_zone)
        assert reader("2026-11-26T10:00:00Z") == T
        assert reader("2026-11-26T11:00:00+01:00") == T
    assert times.iso(T) == bi.iso(T) == "2026-11-26T10:00:00Z"
    assert times.iso_ms(T + 0.25) == "2026-11-26T10:00:00.250Z"


def test_missing_and_unreadable_times_are_none_not_1970():
    assert times.iso(None) is None and times.epoch(None) is None and times.epoch("") is None
    assert times.epoch("yesterday") is None and times.epoch(True) is None
    assert times.epoch(12.5) == 12.5
    from chalicelib.admin import keys
    from chalicelib.dni.models import ApiKey

    assert keys.view(ApiKey("h", account_id="a", label="x", created_at=None))["created_at"] is None


def test_the_api_and_the_exports_read_a_naive_time_as_utc(local_zone):
    from chalicelib.calls import api as calls_api

    assert calls_api.timestamp("2026-11-26T10:00:00", "since", 0.0) == T
    assert bidding.window("2026-11-26T10:00:00", "2026-11-26T12:00:00Z", T + 86400)[0] == T
    with pytest.raises(Exception, match="since: expected ISO 8601"):
        calls_api.timestamp("last tuesday", "since", 0.0)
