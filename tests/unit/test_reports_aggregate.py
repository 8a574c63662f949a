"""Report aggregation and drill-down filters: pure, on call and session dicts."""
from __future__ import annotations

from datetime import datetime, timezone
from itertools import count
from zoneinfo import ZoneInfo

import pytest

from chalicelib.errors import BadRequest
from chalicelib.reports import filters as f
from chalicelib.reports.aggregate import aggregate
from chalicelib.reports.export import calls_csv, report_csv

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc).timestamp()
_ids = count(1)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z")


def call(ago: float = 3600, **kw):
    """A call dict shaped like calls.store's API representation."""
    c = {
        "account_id": "a", "call_id": f"c{next(_ids)}", "tracking_number": "+14155550131",
        "caller": "+14155550100", "direction": "inbound", "status": "answered", "started_at": iso(NOW - ago),
        "wait_seconds": 12, "talk_seconds": 90, "within_working_hours": True, "agent": None, "session_id": None,
        "method": "dynamic", "source": "google", "medium": "cpc", "campaign": None, "keyword": None,
        "landing_page": "/", "country": "US", "device": "desktop", "tags": [], "value": None,
        "classification": {"unique": False, "target": False, "repeated": False, "first_target": False,
                           "unique_target": False},
    }
    c.update(kw)
    return c


def session(sid: str, ago: float = 4000, **kw):
    s = {"session_id": sid, "started_at": NOW - ago, "source": "google", "medium": "cpc", "method": "dynamic",
         "tracking_number": "+14155550131", "country": "US", "device": "desktop", "landing_page": "/"}
    s.update(kw)
    return s


def run(calls, sessions=(), group="source", tz="UTC", series=None, **params):
    flt = f.parse({k: str(v) for k, v in params.items()}, NOW, tz)
    return aggregate(calls, sessions, flt, group, ZoneInfo(tz), series)


def by_key(report):
    return {r["key"]: r for r in report["rows"]}


def test_metrics_per_source_with_sessions_and_conversion():
    calls = [
        call(source="google", status="answered", wait_seconds=10, talk_seconds=100, session_id="s1", value=50,
             classification={"unique": True, "target": True, "first_target": True, "unique_target": True}),
        call(source="google", status="missed", wait_seconds=30, talk_seconds=0, session_id="s2"),
        call(source="google", status="answered", wait_seconds=20, talk_seconds=40, session_id="s1", value=25.5,
             classification={"repeated": True}),
        call(source="bing", status="voicemail", wait_seconds=25, talk_seconds=0, medium="cpc"),
    ]
    sessions = [session("s1"), session("s2"), session("s3"), session("s4"), session("b1", source="bing")]
    rep = run(calls, sessions)
    g = by_key(rep)["google"]
    assert (g["calls"], g["answered"], g["missed"], g["missed_pct"]) == (3, 2, 1, 33.3)
    assert (g["unique"], g["target"], g["first_target"], g["unique_target"], g["repeated"]) == (1, 1, 1, 1, 1)
    assert g["avg_wait"] == 20.0 and g["avg_talk"] == 70.0 and g["value"] == 75.5
    assert (g["sessions"], g["converted_sessions"], g["conversion_pct"]) == (4, 2, 50.0)
    b = by_key(rep)["bing"]
    assert (b["calls"], b["missed"], b["sessions"], b["conversion_pct"]) == (1, 1, 1, 0.0)
    assert rep["totals"]["calls"] == 4 and rep["totals"]["sessions"] == 5
    assert [r["key"] for r in rep["rows"]] == ["google", "bing"]


def test_sessions_without_calls_still_make_a_row_and_bots_are_left_out():
    rep = run([call(source="google")], [session("s1"), session("f1", source="facebook"),
                                        session("bot", source="facebook", bot=True)])
    fb = by_key(rep)["facebook"]
    assert (fb["calls"], fb["sessions"], fb["conversion_pct"]) == (0, 1, 0.0)


def test_missing_values_group_under_none():
    rep = run([call(campaign=None), call(campaign="spring")], group="campaign")
    assert set(by_key(rep)) == {"(none)", "spring"}


@pytest.mark.parametrize("group", ["medium", "keyword", "landing_page", "method", "tracking_number", "country",
                                   "device", "status", "agent", "direction"])
def test_every_dimension_groups_by_its_field(group):
    a, b = call(**{group: "x1"}), call(**{group: "x2"})
    rep = run([a, b, dict(b)], group=group)
    assert {k: r["calls"] for k, r in by_key(rep).items()} == {"x1": 1, "x2": 2}


def test_status_rows_carry_no_session_figures():
    rep = run([call(status="busy")], [session("s1")], group="status")
    assert by_key(rep)["busy"]["sessions"] is None and rep["totals"]["sessions"] == 1


def test_tag_group_counts_a_call_in_each_of_its_categories():
    calls = [call(tags=[{"category": "Sale", "value": "boiler"}, {"category": "Lead", "value": None}]),
             call(tags=[{"category": "Sale", "value": "pump"}]), call(tags=[])]
    rep = run(calls, group="tag")
    assert {k: r["calls"] for k, r in by_key(rep).items()} == {"Sale": 2, "Lead": 1, "(none)": 1}
    assert run(calls, tag="sale:pump")["totals"]["calls"] == 1
    assert run(calls, tag="lead")["totals"]["calls"] == 1


def test_day_week_hour_in_the_account_timezone_and_in_time_order():
    # 2026-11-20 03:30 UTC is still the 19th, 22:30, in New York.
    t = datetime(2026, 11, 20, 3, 30, tzinfo=timezone.utc).timestamp()
    calls = [call(ago=NOW - t), call(ago=NOW - t + 86400 * 3)]
    assert [r["key"] for r in run(calls, group="day", tz="America/New_York")["rows"]] == ["2026-11-16", "2026-11-19"]
    assert [r["key"] for r in run(calls, group="day")["rows"]] == ["2026-11-17", "2026-11-20"]
    assert [r["key"] for r in run(calls, group="week", tz="America/New_York")["rows"]] == ["2026-11-16"]
    assert [r["key"] for r in run(calls, group="hour", tz="America/New_York")["rows"]] == ["22:00"]


def test_series_splits_each_day_by_source():
    calls = [call(ago=3600, source="google"), call(ago=3600, source="bing"), call(ago=3700, source="google"),
             call(ago=86400 + 3600, source="bing")]
    rows = run(calls, group="day", series="source")["rows"]
    assert [r["series"] for r in rows] == [{"bing": 1}, {"google": 2, "bing": 1}]


def test_date_range_defaults_to_30_days_and_dates_include_the_last_day():
    calls = [call(ago=86400 * 31), call(ago=86400 * 2)]
    assert run(calls)["totals"]["calls"] == 1
    assert run(calls, **{"from": "2026-10-01", "to": "2026-10-20"})["totals"]["calls"] == 1
    assert run(calls, **{"from": "2026-10-21", "to": "2026-11-17"})["totals"]["calls"] == 0
    assert run(calls, **{"from": "2026-10-21", "to": "2026-11-18"})["totals"]["calls"] == 1


def test_filters_on_source_fields_and_country_hold_sessions_too():
    calls = [call(source="google", country="US"), call(source="google", country="DE"), call(source="bing")]
    sessions = [session("1", country="US"), session("2", country="DE"), session("3", source="bing")]
    rep = run(calls, sessions, source="Google", country="de")
    assert rep["totals"]["calls"] == 1 and rep["totals"]["sessions"] == 1


def test_tracking_number_filter_survives_the_plus_turned_space():
    calls = [call(tracking_number="+14155550131"), call(tracking_number="+14155550132")]
    assert run(calls, tracking_number=" 14155550132")["totals"]["calls"] == 1


def test_min_talk_class_and_status_filters():
    calls = [call(talk_seconds=20), call(talk_seconds=45, classification={"target": True}),
             call(status="busy", talk_seconds=0)]
    assert run(calls, min_talk=30)["totals"]["calls"] == 1
    assert run(calls, **{"class": "target"})["totals"]["calls"] == 1
    assert run(calls, status="busy,voicemail")["totals"]["calls"] == 1
    assert run(calls, outcome="answered")["totals"]["calls"] == 2


@pytest.mark.parametrize("params, message", [
    ({"direction": "sideways"}, "direction"), ({"status": "lost"}, "status"), ({"outcome": "maybe"}, "outcome"),
    ({"min_wait": "ten"}, "min_wait"), ({"within_working_hours": "perhaps"}, "within_working_hours"),
    ({"from": "yesterday"}, "from"), ({"from": "2026-11-10", "to": "2026-11-01"}, "before"),
    ({"class": "gold"}, "class"), ({"from": "2020-01-01"}, "at most"), ({"to": "9999-12-31"}, "to"),
    ({"from": "0001-01-01T00:00:00-23:59"}, "at most"),
])
def test_bad_filters_are_refused_in_words(params, message):
    with pytest.raises(BadRequest, match=message):
        f.parse(params, NOW)


def test_unknown_group_is_refused():
    with pytest.raises(BadRequest, match="group_by"):
        run([call()], group="planet")


def drilldown_calls():
    """The buyer's guide: 40 'missed' calls — a third outside working hours, a third
    outbound, the rest but three hung up within the greeting — plus answered calls."""
    calls = []
    for i in range(13):
        calls.append(call(status="missed", within_working_hours=False, wait_seconds=25, talk_seconds=0))
    for i in range(13):
        calls.append(call(status="missed", direction="outbound", wait_seconds=30, talk_seconds=0))
    for i in range(11):
        status = "abandoned_in_greeting" if i % 2 else "missed"
        calls.append(call(status=status, wait_seconds=3 + i % 7, talk_seconds=0))
    for i in range(3):
        calls.append(call(status="missed", wait_seconds=35 + i, talk_seconds=0, agent="anna"))
    calls += [call() for _ in range(120)]
    return calls


def test_drilldown_story_40_missed_calls_become_3_the_agents_really_missed():
    calls = drilldown_calls()
    assert run(calls)["totals"]["missed"] == 40
    assert run(calls, outcome="missed")["totals"]["calls"] == 40
    step1 = run(calls, outcome="missed", within_working_hours="true")
    step2 = run(calls, outcome="missed", within_working_hours="true", direction="inbound,callback")
    step3 = run(calls, outcome="missed", within_working_hours="true", direction="inbound,callback", min_wait=10)
    assert [s["totals"]["calls"] for s in (step1, step2, step3)] == [27, 14, 3]
    assert by_key(run(calls, group="agent", outcome="missed", within_working_hours="true",
                      direction="inbound", min_wait=10)) .keys() == {"anna"}


def test_csv_has_a_line_per_group_then_totals_and_defuses_formulas():
    rep = run([call(source="=HYPERLINK(1)"), call(source="google")])
    lines = report_csv(rep).splitlines()
    assert lines[0].startswith("source,calls,answered,missed,missed_pct,unique")
    assert lines[-1].startswith("total,2,2,0,0.0")
    assert any(line.startswith("'=HYPERLINK(1),1") for line in lines)
    listing = calls_csv([call(tags=[{"category": "Sale", "value": "boiler"}])]).splitlines()
    assert "+14155550131" in listing[1] and "Sale:boiler" in listing[1]
