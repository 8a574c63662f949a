"""The snippet's speed in real headless Chromium (Debian's chromium + chromedriver), on
the browser tests' 5,000-element page-builder page (tests/browser/site.py `big_page`):

- time to the first swapped paint for a new (with data-hide) and a returning visitor, the
  script loaded async or sync: when the tracking number was in the page (the
  `calltrack('number')` callback, registered before the snippet loads) and when the
  anti-flicker took hold (a MutationObserver installed before the snippet), against the
  first contentful paint (Paint Timing);
- the longest task (Long Tasks API, observed from before the snippet loads) at 1× and at
  4× CPU throttling (Chrome DevTools Protocol `Emulation.setCPUThrottlingRate`), the
  whole page load included: the parser's own work on a 5,000-element page is a task too,
  so the snippet's share is measured apart: its swap pass (`swap_ms`) and its
  MutationObserver callbacks (each timed by a wrapper the page installs first: the
  longest one, and their total over the load).

The API is the test site's instant canned answer (/fast), so the figures are the page's
and the snippet's own work, not the network's. `python -m bench.snippet` prints them.
"""
from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tests.browser.site import CHROMEDRIVER, CHROMIUM, Site, chromium  # noqa: E402 (the test site and its browser)
READ = """var done = arguments[0], t0 = performance.now();
(function wait() {
  if (window.swappedAt === undefined && performance.now() - t0 < 1500) return setTimeout(wait, 20);
  setTimeout(function () {
    var fcp = performance.getEntriesByName('first-contentful-paint')[0];
    done({swapped: window.swappedAt, hidden: window.hiddenAt, fcp: fcp ? fcp.startTime : null,
          longest: Math.max.apply(null, [0].concat(window.longTasks)),
          observer_max: Math.max.apply(null, [0].concat(window.observerMs)),
          observer_total: window.observerMs.reduce(function (a, b) { return a + b; }, 0),
          phone: document.getElementById('header-phone').textContent});
  }, 300);
})();"""
# The swap pass alone, timed in the page: the snippet's own work on the whole document.
SWAP_PASS = """var t = performance.now();
calltrack('swap', document.body);
return performance.now() - t;"""


def available() -> bool:
    return CHROMIUM.exists() and CHROMEDRIVER.exists() and (ROOT / "snippet" / "dist" / "dni.js").exists()


def _load(driver: Any, url: str, visitor: str, warm: str) -> Dict[str, Any]:
    if visitor == "new":
        driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        driver.get(warm)                                   # same origin, no snippet: clear its storage
        driver.execute_script("localStorage.clear()")
    else:
        driver.get(url)                                    # a first visit leaves the cookie and cached number
        driver.execute_async_script(READ)
    driver.get(url)
    row: Dict[str, Any] = driver.execute_async_script(READ)
    row["swap_ms"] = driver.execute_script(SWAP_PASS) if row["swapped"] is not None else None
    return row


def measure(runs: int = 5) -> Dict[str, Any]:
    """Median figures over `runs` page loads per case: the snippet loaded async (the
    documented default) or sync (in <head> without async), new visitor (with data-hide=300)
    or returning, at 1× and 4× CPU; and the page without the snippet, for its own tasks."""
    profile = tempfile.mkdtemp(prefix="calltrack-bench-")
    out: Dict[str, Any] = {"runs": runs, "api": "canned instant answer (test site /fast)", "cases": []}
    with Site(api="") as site:
        driver = chromium(profile, script_timeout=30)
        try:
            page = f"{site.url}/pages/big.html?api={site.url}/fast&account=bench"
            warm = site.url + "/pages/frame-bare.html"
            for rate in (1, 4):
                driver.execute_cdp_cmd("Emulation.setCPUThrottlingRate", {"rate": rate})
                alone = [_load(driver, page + "&load=none", "new", warm) for _ in range(runs)]
                out[f"page_alone_{rate}x"] = round(max(r["longest"] for r in alone), 1)
                for load in ("async", "sync"):
                    for visitor in ("new", "returning"):
                        url = f"{page}&load={load}" + ("&data-hide=300" if visitor == "new" else "")
                        got = [_load(driver, url, visitor, warm) for _ in range(runs)]
                        out["dom_elements"] = driver.execute_script("return document.getElementsByTagName('*').length")
                        out["cases"].append({
                            "load": load, "visitor": visitor, "cpu": rate,
                            "swapped_ms": round(statistics.median(r["swapped"] for r in got), 1),
                            "fcp_ms": round(statistics.median(r["fcp"] or 0 for r in got), 1),
                            "swapped_by_first_paint": sum(1 for r in got if r["fcp"] and r["swapped"] <= r["fcp"]),
                            "hidden_by_first_paint": sum(1 for r in got if r["fcp"] and r["hidden"] is not None
                                                         and r["hidden"] <= r["fcp"]),
                            "longest_task_ms": round(max(r["longest"] for r in got), 1),
                            "swap_pass_ms": round(statistics.median(r["swap_ms"] for r in got), 1),
                            "swap_pass_max_ms": round(max(r["swap_ms"] for r in got), 1),
                            "observer_max_ms": round(max(r["observer_max"] for r in got), 1),
                            "observer_total_ms": round(statistics.median(r["observer_total"] for r in got), 1),
                            "all_swapped": all("555-0777" in " ".join(r["phone"].split()) for r in got),
                        })
        finally:
            driver.quit()
            shutil.rmtree(profile, ignore_errors=True)
    return out


def lines(result: Dict[str, Any]) -> List[str]:
    if not result:
        return ["Snippet speed: not measured (needs Debian's chromium and chromium-driver, and snippet/dist)."]
    n = result["runs"]
    rows = [f"Snippet speed in headless Chromium on a {result['dom_elements']}-element page-builder page, "
            f"median of {n} loads per row, API: {result['api']}. Longest task of the page alone (no snippet): "
            f"{result['page_alone_1x']} ms at 1×, {result['page_alone_4x']} ms at 4× (0: none over 50 ms).", "",
            "| script | visitor | CPU | number in | first paint | swapped by first paint | hidden by first paint "
            "| longest task (whole load) | swap pass (median / max) | observer: longest callback / total |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in result["cases"]:
        hidden = f"{r['hidden_by_first_paint']} of {n}" if r["visitor"] == "new" else "n/a"
        rows.append(f"| {r['load']} | {r['visitor']} | {r['cpu']}× | {r['swapped_ms']} ms | {r['fcp_ms']} ms | "
                    f"{r['swapped_by_first_paint']} of {n} | {hidden} | {r['longest_task_ms']} ms | "
                    f"{r['swap_pass_ms']} / {r['swap_pass_max_ms']} ms | "
                    f"{r['observer_max_ms']} / {r['observer_total_ms']} ms |")
    return rows


if __name__ == "__main__":
    if not available():
        print("needs Debian's chromium and chromium-driver and a built snippet (make snippet)")
        sys.exit(1)
    res = measure()
    print("\n".join(lines(res)))
    print(json.dumps(res, indent=2))
