"""`calltrack simulate` end to end on a tiny sweep: table, calibration, CSV and PNG."""
from __future__ import annotations

import csv

from chalicelib.cli import main


def test_simulate_prints_both_policies_and_writes_csv_and_plot(tmp_path, capsys):
    out_csv, out_png = tmp_path / "acc.csv", tmp_path / "acc.png"
    assert main(["simulate", "--sizes", "3,30", "--days", "1", "--workers", "1", "--set", "visits_per_day=600",
                 "--setting", "grace_seconds=900", "--csv", str(out_csv), "--plot", str(out_png)]) == 0
    text = capsys.readouterr().out
    assert "600 visits/day" in text and "grace 900s" in text and "confidence bucket" in text
    rows = list(csv.DictReader(out_csv.open()))
    assert {(r["policy"], r["size"]) for r in rows} == {("calltrack", "3"), ("naive", "3"),
                                                         ("calltrack", "30"), ("naive", "30")}
    small = next(r for r in rows if r["policy"] == "calltrack" and r["size"] == "3")
    large = next(r for r in rows if r["policy"] == "calltrack" and r["size"] == "30")
    assert float(small["exhaustion"]) > float(large["exhaustion"])
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_seeds_mode_prints_one_verdict_per_seed(capsys):
    # A week of the default traffic and settings at the target size and the largest: the
    # targets really are met (0), seed by seed.
    assert main(["simulate", "--seeds", "4-5", "--sizes", "30,100", "--days", "7", "--workers", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == ["seed   4", "seed   5"]
    assert lines[-1].endswith("s)") and "of 2 seeds meet every target" in lines[-1]


def test_target_misses_names_each_missed_target():
    from chalicelib.sim.sweep import Point, target_misses

    def point(policy, size, right, wrong, near=1.0, confident=0, confident_right=1.0):
        return Point(policy, size, 1000, right, wrong, 1 - right - wrong, 0.0, 900, near, 100, 0.0, 0.0,
                     confident, confident_right)

    good = [point("calltrack", 30, 0.91, 0.07, confident=100), point("naive", 30, 0.89, 0.09)]
    assert target_misses(good, 1200) == []
    bad = [point("calltrack", 30, 0.88, 0.10, near=0.98, confident=100, confident_right=0.97),
           point("naive", 30, 0.89, 0.09)]
    misses = target_misses(bad, 1200)
    assert len(misses) == 4 and all(m.startswith("30: ") for m in misses)
    assert "3 wrong" in misses[-1]


def test_seeds_mode_fails_when_a_target_is_missed_and_always_checks_the_target_size(capsys):
    # Half a day is too few calls to beat the baseline: a tie is a miss, and the exit says so.
    assert main(["simulate", "--seeds", "5-5", "--sizes", "100", "--days", "0.5", "--workers", "1"]) == 1
    out = capsys.readouterr().out
    assert "30: " in out and "0 of 1 seeds meet every target" in out


def test_the_baseline_grace_is_a_choice_the_cli_exposes(tmp_path, capsys):
    args = ["simulate", "--sizes", "30", "--days", "2", "--workers", "1", "--csv", "", "--plot", ""]
    assert main(args + ["--baseline-grace", "0"]) == 0
    none = capsys.readouterr().out
    assert main(args + ["--baseline-grace", "30"]) == 0
    thirty = capsys.readouterr().out
    naive = lambda text: [line for line in text.splitlines() if line.strip().startswith("30")][0].split("|")[-1]  # noqa: E731
    assert naive(none) != naive(thirty)          # a shorter window: fewer calls credited, right and wrong


def test_a_plain_run_writes_no_tracked_file(tmp_path, capsys, monkeypatch):
    """Without --csv / --plot / --publish nothing is written: the committed CSV and plot stay."""
    from pathlib import Path

    from chalicelib.cli import simulate
    from chalicelib.sim import report

    written = []
    monkeypatch.setattr(report, "write_csv", lambda points, path: written.append(path))
    monkeypatch.setattr(report, "plot", lambda points, rule, path, title: written.append(path))
    assert main(["simulate", "--sizes", "30", "--days", "0.5", "--workers", "1"]) == 0
    assert written == [] and "CSV:" not in capsys.readouterr().out
    assert main(["simulate", "--sizes", "30", "--days", "0.5", "--workers", "1", "--publish"]) == 0
    assert written == [simulate.ROOT / "bench" / "results" / "accuracy.csv", simulate.ROOT / "docs" / "img" / "accuracy.png"]
    assert all(isinstance(p, Path) for p in written)


def test_a_short_burst_scenario_prints_every_table(capsys):
    # The CI smoke of the harder traffic: a day of advertising bursts through both policies.
    assert main(["simulate", "--scenario", "bursts", "--days", "1", "--sizes", "15,30", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("scenario bursts: advertising bursts")
    assert "idle tabs stop after 1800s" in out
    assert "calls by delay after the visit" in out and "AUC" in out and "10-60 min r/w/n" in out
    assert "confidence bucket → share right" in out


def test_an_unknown_scenario_is_a_clear_error(capsys):
    import pytest

    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--scenario", "bursty", "--days", "1", "--sizes", "5", "--workers", "1"])
    assert "unknown scenario 'bursty'" in str(exit_.value) and "bursts" in str(exit_.value)


def test_a_scenario_file_with_a_misspelled_or_non_numeric_parameter_is_one_clear_line(tmp_path):
    import json

    import pytest

    own = tmp_path / "mine.json"
    for traffic, settings, said in (({"burst_factr": 5}, {}, "unknown traffic parameter(s): burst_factr"),
                                    ({"burst_factor": "lots"}, {}, "traffic values are numbers"),
                                    ({}, {"idle_seconds": "soon"}, "scenario mine: invalid literal"),
                                    ({}, {"idle_secs": 60}, "unknown setting(s): idle_secs")):
        own.write_text(json.dumps({"traffic": traffic, "settings": settings}))
        with pytest.raises(SystemExit) as exit_:
            main(["simulate", "--scenario", str(own), "--days", "0.1", "--sizes", "5", "--workers", "1"])
        assert said in str(exit_.value), (traffic, settings, exit_.value)
