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
