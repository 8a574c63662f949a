"""The Pools tab says one recommendation in words, and the reliability table once the
advisor has replayed the pool's sessions (chalicelib/dni/sizing.py), in real Chromium."""
from __future__ import annotations

import time
import uuid
from typing import Any

from chalicelib.dni import sizing
from tests.browser.test_dashboard import open_with_key, wait_ready


def pools_tab(d: Any) -> str:
    from selenium.webdriver.common.by import By

    d.find_element(By.CSS_SELECTOR, "button[data-tab=pools]").click()
    deadline = time.time() + 15
    while time.time() < deadline:
        found = d.execute_script("return document.getElementById('pools-advice').textContent")
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("no pool advice shown")


def test_the_pools_tab_explains_the_one_recommendation(chrome: Any, api_server: str, account: Any) -> None:
    key = "k-" + uuid.uuid4().hex
    acc = account(api_key=key)
    open_with_key(chrome, api_server, acc.account_id, key)
    wait_ready(chrome)
    words = pools_tab(chrome)
    assert "Pool main: " in words and "from its busiest moment with cool-down, +25%" in words
    assert "No replay of this pool's sessions yet" in words

    # The advisor's replay asks for more numbers than the peak: it decides, and says how sure.
    bands = [{"band": "0.00-0.50", "calls": 40, "right": 0.6}, {"band": "0.50-0.70", "calls": 200, "right": 0.93},
             {"band": "0.70-0.90", "calls": 0, "right": None}]
    sizing.store(acc.account_id, "main", {"recommended": 40, "sessions": 900, "accuracy": 0.99,
                                          "sizes": [{"size": 40, "right_near": 0.9931}],
                                          "burst_warning": "30 of 31 refused visitors came in the 2 busiest hour(s)",
                                          "reliability": {"pool_size": 5, "auc": 0.81, "bands": bands}}, time.time())
    chrome.refresh()
    wait_ready(chrome)
    words = pools_tab(chrome)
    assert "add 35 numbers (recommended 40, from a replay of its own sessions)" in words
    assert "expected 99.3% of calls during or up to 10 min after the visit right" in words
    assert "30 of 31 refused visitors" in words and "AUC 0.81" in words
    cells = chrome.execute_script(
        "return [...document.querySelectorAll('#pools-advice table.reliability td')].map(c => c.textContent)")
    assert cells[:3] == ["0.00-0.50", "40", "60.0%"] and cells[-1] == "–"
    row = chrome.execute_script(
        "return [...document.querySelectorAll('#pools-table tbody tr[data-pool=main] td')].map(c => c.textContent)")
    assert row[-1] == "40"                                 # the table says the same number
