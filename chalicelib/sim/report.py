"""Outputs of a sweep: the terminal table, CSV, the PNG plot, the calibration table."""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Dict, List, Sequence

from chalicelib.sim.sweep import BUCKETS, CONFIDENT, DELAYS, Point


def pct(x: float) -> str:
    return f"{100 * x:5.1f}%"


def table(points: Sequence[Point], rule_size: int) -> str:
    """Both policies side by side per pool size; `*` marks CallTrackingMetrics' rule."""
    by = {(p.policy, p.size): p for p in points}
    sizes = sorted({p.size for p in points})
    head = (f"{'pool':>6} | {'right':>6} {'wrong':>6} {'none':>6} {'exhst':>6} {'≤10min':>7} {'late→':>6} "
            f"{'≥0.9':>6} {'≥0.9✓':>7} | {'naive right':>11} {'wrong':>6} {'none':>6} {'≤10min':>7}")
    lines = [head, "-" * len(head)]
    for s in sizes:
        c, n = by.get(("calltrack", s)), by.get(("naive", s))
        mark = "*" if s == rule_size else " "
        left = (f"{pct(c.right)} {pct(c.wrong)} {pct(c.unattributed)} {pct(c.exhaustion)} {pct(c.near_right):>7} "
                f"{pct(c.late_confident_wrong)} {pct(_share(c.confident_calls, c.calls))} "
                f"{pct(c.confident_right) if c.confident_calls else '    –':>7}") if c else " " * 60
        right = (f"{pct(n.right):>11} {pct(n.wrong)} {pct(n.unattributed)} {pct(n.near_right):>7}") if n else ""
        lines.append(f"{s:>5}{mark} | {left} | {right}")
    lines.append(f"right/wrong/none: share of all calls; exhst: lease requests that got the fallback number; "
                 f"≤10min: right among calls during the visit or ≤10 min after; late→: late calls given "
                 f"confidence ≥{CONFIDENT} and wrong; ≥0.9: share of calls with confidence ≥{CONFIDENT}; "
                 f"≥0.9✓: right among those. * = CallTrackingMetrics' rule (1 number per 20 daily visits).")
    return "\n".join(lines)


def delay_table(points: Sequence[Point], rule_size: int) -> str:
    """Right / wrong / none by how long after the visit the call came, both policies;
    repeat calls (the same caller again) apart; AUC of the confidence."""
    by = {(p.policy, p.size): p for p in points}
    labels = [label for label, _, _ in DELAYS]
    head = (f"{'pool':>6} | " + " | ".join(f"{label + ' r/w/n':>20}" for label in labels)
            + f" | {'repeat r/w':>13} | {'AUC':>5} | {'late≥0.9✗':>9} | "
            + " | ".join(f"{'naive ' + label + ' r/w':>19}" for label in labels[:1]))
    lines = ["calls by delay after the visit: right / wrong / none (share of the calls in that bucket)",
             head, "-" * len(head)]
    for size in sorted({p.size for p in points}):
        c, n = by.get(("calltrack", size)), by.get(("naive", size))
        if c is None:
            continue
        cells = [_rwn(c.by_delay.get(label)) for label in labels]
        base = _rwn(n.by_delay.get(labels[0]), 2) if n else ""
        auc = "  –" if c.auc is None else f"{c.auc:.3f}"
        mark = "*" if size == rule_size else " "
        lines.append(f"{size:>5}{mark} | " + " | ".join(f"{cell:>20}" for cell in cells)
                     + f" | {pct(c.repeat_right) + '/' + pct(c.repeat_wrong).strip() if c.repeat_calls else '–':>13}"
                     + f" | {auc:>5} | {c.late_confident_wrong_calls:>9} | {base:>19}")
    lines.append("AUC: chance a right answer has a higher confidence than a wrong one; late≥0.9✗: calls "
                 "more than 10 min after the visit given confidence ≥0.9 and wrong (count).")
    return "\n".join(lines)


def _rwn(cell, parts: int = 3) -> str:
    if not cell or not cell[0]:
        return "–"
    n, *shares = cell
    return "/".join(f"{100 * x:.1f}" for x in shares[:parts]) + f" ({n})"


def _share(n: int, total: int) -> float:
    return n / total if total else 0.0


def calibration_table(points: Sequence[Point]) -> str:
    rows = [p for p in points if p.policy == "calltrack"]
    labels = [f"{lo:.2f}-{min(hi, 1.0):.2f}" for lo, hi in BUCKETS]
    head = f"{'pool':>5} | " + " | ".join(f"{label:>17}" for label in labels)
    lines = ["confidence bucket → share right (calls in bucket)", head, "-" * len(head)]
    for p in sorted(rows, key=lambda p: p.size):
        cells = []
        for _label, n, share in p.calibration:
            cells.append(f"{'–' if share is None else pct(share):>8} ({n:>6})")
        lines.append(f"{p.size:>5} | " + " | ".join(cells))
    return "\n".join(lines)


def write_csv(points: Sequence[Point], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows: List[Dict[str, object]] = [p.as_row() for p in points]
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def plot(points: Sequence[Point], rule_size: int, path: Path, title: str) -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=110)
    styles = {"calltrack": "-", "naive": "--"}
    faces = {"calltrack": None, "naive": "none"}       # the baseline's markers are hollow
    for policy in ("calltrack", "naive"):
        pts = sorted((p for p in points if p.policy == policy), key=lambda p: p.size)
        if not pts:
            continue
        xs = [p.size for p in pts]
        ax.plot(xs, [100 * p.right for p in pts], styles[policy], color="tab:green", marker="o", ms=3,
                mfc=faces[policy], label=f"{policy}: right")
        ax.plot(xs, [100 * p.wrong for p in pts], styles[policy], color="tab:red", marker="o", ms=3,
                mfc=faces[policy], label=f"{policy}: wrong")
        ax.plot(xs, [100 * p.unattributed for p in pts], styles[policy], color="tab:gray", marker="o", ms=3,
                mfc=faces[policy], label=f"{policy}: unattributed")
        if policy == "calltrack":
            ax.plot(xs, [100 * p.near_right for p in pts], ":", color="tab:blue", marker="o", ms=3,
                    label="calltrack: right, calls ≤10 min after the visit")
    ax.axvline(rule_size, color="black", lw=0.8)
    ax.axvline(rule_size / 2, color="black", lw=0.8, ls=":")
    ax.text(rule_size, 18, " CTM rule\n (1 per 20 visits/day)", fontsize=8)
    ax.text(rule_size / 2, 18, " half of it", fontsize=8)
    ax.set_xlabel("numbers in the pool")
    ax.set_ylabel("% of calls")
    ax.set_ylim(0, 101)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center right", handlelength=4)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
