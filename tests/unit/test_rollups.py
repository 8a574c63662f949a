"""Roll-up cubes, pure: cells built from facts answer exactly what a raw aggregation does."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.reports import filters as flt
from chalicelib.reports import rollups
from chalicelib.reports.aggregate import aggregate


def test_span_uses_whole_months_inside_the_range_and_days_outside():
    days = [date(2026, 11, 3) + timedelta(days=i) for i in range((date(2027, 1, 15) - date(2026, 11, 3)).days + 1)]
    s = rollups.span(days)
    assert s.months == ("2026-12",)
    assert s.days[0] == "2026-11-03" and s.days[27] == "2026-11-30" and s.days[28] == "2027-01-01"
    assert len(s.days) == 28 + 15
    assert rollups.span(days, use_months=False).months == ()


def test_a_range_is_aligned_only_on_local_midnights_or_up_to_now():
    tz = ZoneInfo("Asia/Kolkata")
    now = datetime(2026, 11, 20, 15, 0, tzinfo=tz).timestamp()
    since = datetime(2026, 11, 1, tzinfo=tz).timestamp()
    assert rollups.aligned(flt.Filters(since, now), tz, now)
    assert not rollups.aligned(flt.Filters(since + 1800, now), tz, now)
    assert not rollups.aligned(flt.Filters(since, now - 3600), tz, now)


def _facts(rng: random.Random, start: float, days: int):
    sessions, calls = [], []
    for i in range(400):
        at = start + rng.uniform(0, days * 86400)
        s = {"started_at": at, "source": rng.choice(["google", "bing", "Google"]), "medium": "cpc",
             "campaign": rng.choice([None, "a", "b"]), "device": rng.choice(["mobile", "desktop"]),
             "country": rng.choice(["US", "US", "CA", None]),
             "landing_page": rng.choice(["https://x.example/", "https://x.example/p"])}
        sessions.append({k: v for k, v in s.items() if v is not None})
        if rng.random() < 0.3:
            calls.append({**sessions[-1], "session_id": f"s{i}", "started_at": at + rng.uniform(0, 2 * 86400),
                          "status": rng.choice(["answered", "missed"]), "wait_seconds": rng.choice([1.5, 9, 12]),
                          "talk_seconds": rng.randint(0, 300), "value": rng.choice([0, 19.99, 100]),
                          "tags": [{"category": "sale"}] if rng.random() < 0.3 else [],
                          "classification": {"unique": True} if rng.random() < 0.5 else {}})
    return sessions, calls


def _by_day(sessions, calls, tz):
    by_day: dict = {}
    for kind, facts in (("s", sessions), ("c", calls)):
        for f in facts:
            by_day.setdefault(rollups.day_of(f["started_at"], tz), ([], []))[kind == "c"].append(f)
    return {d: rollups.day_cubes(s, c, tz) for d, (s, c) in by_day.items()}


def _same(got, want, label):
    assert got["rows"] == want["rows"], (label, got["rows"][:2], want["rows"][:2])
    assert got["totals"] == want["totals"], label


@pytest.mark.parametrize("tz_name", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_day_cubes_answer_like_the_raw_aggregation(tz_name):
    tz = ZoneInfo(tz_name)
    rng = random.Random(tz_name)
    first = date(2026, 10, 20)
    start = datetime.combine(first, datetime.min.time(), tzinfo=tz).timestamp()
    sessions, calls = _facts(rng, start, 20)
    cubes = _by_day(sessions, calls, tz)
    filters = flt.Filters(start, start + 30 * 86400)
    for group in ("source", "campaign", "landing_page", "tag", "status", "day", "week", "hour"):
        cells = {cube: {f"D{d}": cubes[d][cube] for d in cubes} for cube in ("total", rollups.cube_of(group))}
        _same(rollups.from_cubes(group, None, cells, tz), aggregate(calls, sessions, filters, group, tz), group)
    wide = [cubes[d][rollups.WIDE] for d in cubes] + [cubes[d][rollups.CALLS] for d in cubes]
    narrow = flt.Filters(start, start + 30 * 86400, min_wait=9, fields=(("device", frozenset({"mobile"})),))
    assert rollups.from_wide(wide, narrow, "campaign", tz, "status") == aggregate(calls, sessions, narrow,
                                                                                   "campaign", tz, "status")


COMBO_CASES = [
    ({"source": "google"}, "source", None),
    ({"source": "google", "device": "mobile"}, "landing_page", None),
    ({"source": "google,bing", "campaign": "a", "device": "desktop"}, "campaign", None),
    ({"campaign": "(none)"}, "tag", None),                      # a missing value is "(none)"
    ({"device": "mobile"}, "day", "source"),
    ({"source": "bing", "device": "mobile"}, "week", "campaign"),
    ({"source": "google", "device": "mobile"}, "hour", None),
    ({"source": "google", "status": "answered"}, "campaign", None),   # call filters: sessions from the cube
    ({"device": "mobile", "min_wait": "9"}, "day", None),
    ({"tag": "sale", "device": "desktop"}, "status", None),
    ({"class": "unique", "source": "Google"}, "landing_page", "status"),
    ({"within_working_hours": "true"}, "source", None),
    ({"country": "ca,(none)", "source": "google"}, "device", None),
]


@pytest.mark.parametrize("tz_name", ["UTC", "America/New_York"])
def test_combo_cubes_answer_any_filters_on_the_common_fields_like_the_raw_aggregation(tz_name):
    tz = ZoneInfo(tz_name)
    rng = random.Random(tz_name)
    start = datetime.combine(date(2026, 10, 20), datetime.min.time(), tzinfo=tz).timestamp()
    sessions, calls = _facts(rng, start, 20)
    cubes = _by_day(sessions, calls, tz)
    day_calls = [c for d in cubes for c in cubes[d][rollups.CALLS]["calls"]]
    for params, group, series in COMBO_CASES:
        filters = flt.parse({**params, "from": "2026-10-20", "to": "2026-11-18"}, start + 40 * 86400, tz_name)
        assert rollups.combo_answers(filters, group, series), params
        wanted = {"total", rollups.cube_of(group), *([series] if series else [])}
        cells = {rollups.combo_cube(c): {f"D{d}": cubes[d][rollups.combo_cube(c)] for d in cubes} for c in wanted}
        with_calls = day_calls if rollups.call_filtered(filters) else None
        got = rollups.from_combos(group, series, filters, cells, tz, with_calls)
        want = aggregate(calls, sessions, filters, group, tz, series)
        assert want["totals"]["sessions"] > 0
        _same(got, want, (params, group, series))


def test_what_combo_cubes_cannot_answer_goes_to_the_wide_rows():
    def answers(params, group="source", series=None):
        return rollups.combo_answers(flt.parse(params, 1_800_000_000.0), group, series)
    assert not answers({"landing_page": "https://x.example/p"})
    assert not answers({"keyword": "boiler", "source": "google"})
    assert not answers({"source": "google"}, "campaign", "status")   # a series over a non-time grouping
    assert answers({"source": "google", "status": "missed"}, "campaign", "status")  # the calls carry it
    assert answers({"agent": "ann"}, "day")


def test_calls_group_and_filter_by_the_rules_label_and_score_band():
    from zoneinfo import ZoneInfo

    from chalicelib.reports import filters as flt
    from chalicelib.reports.aggregate import aggregate

    assert [flt.score_band(s) for s in (0, 24, 25, 49, 50, 74, 75, 100, None)] == [
        "0-24", "0-24", "25-49", "25-49", "50-74", "50-74", "75-100", "75-100", None]
    t0 = 1_780_000_000.0
    calls = [{"started_at": t0, "status": "answered", "lead": "qualified", "lead_score": 80},
             {"started_at": t0 + 1, "status": "answered", "lead": "qualified", "lead_score": 60},
             {"started_at": t0 + 2, "status": "missed", "lead": None, "lead_score": None}]
    facts = [rollups.call_fact(c) for c in calls]
    assert [f.get("score_band") for f in facts] == ["75-100", "50-74", None]
    f = flt.parse({}, t0 + 60)
    rows = {r["key"]: r["calls"] for r in aggregate(facts, [], f, "score_band", ZoneInfo("UTC"))["rows"]}
    assert rows == {"75-100": 1, "50-74": 1, "(none)": 1}
    rows = {r["key"]: r["calls"] for r in aggregate(facts, [], f, "lead", ZoneInfo("UTC"))["rows"]}
    assert rows == {"qualified": 2, "(none)": 1}
    only = flt.parse({"score_band": "75-100", "lead": "qualified"}, t0 + 60)
    assert [c["started_at"] for c in facts if only.call_matches(c)] == [t0]
    assert rollups.call_filtered(only)
    cubes = rollups.day_cubes([], facts, ZoneInfo("UTC"))
    assert set(cubes["lead"]) == {"qualified", "(none)"} and set(cubes["score_band"]) == {"75-100", "50-74", "(none)"}
