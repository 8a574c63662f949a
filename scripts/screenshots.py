"""Screenshots of the dashboard's main views for the docs, from a running `make run`.

    make run                      # in another terminal
    .venv/bin/python scripts/screenshots.py docs/img

Signs in as the demo admin and captures the reports (with the comparison), the call list,
a call's detail page, and the reports as the demo agent sees them. Writes PNGs only into
the folder it is given (nothing by default). Uses the browser tests' headless Chromium.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.site import chromium  # noqa: E402

API = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
PASSWORD = "calltrack-demo-1"


def wait(driver, script: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if driver.execute_script(script):
            return
        time.sleep(0.1)
    raise SystemExit(f"the dashboard did not get there: {script}")


def ready(driver) -> None:
    time.sleep(0.2)
    wait(driver, "return document.body.dataset.state === 'ready'")
    time.sleep(0.6)                # charts finish drawing


def sign_in(driver, email: str, fragment: str = "") -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{API}/dashboard")
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{API}/dashboard{fragment}")
    driver.refresh()
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "user-signin-btn").click()
    ready(driver)


def main(out: Path) -> None:
    from selenium.webdriver.common.by import By

    out.mkdir(parents=True, exist_ok=True)
    driver = chromium(tempfile.mkdtemp(prefix="calltrack-shots-"))
    try:
        driver.set_window_size(1366, 900)
        sign_in(driver, "admin@demo.calltrack.local", "#compare=1&range=30&group_by=source")
        driver.save_screenshot(str(out / "dashboard-reports.png"))
        driver.find_element(By.CSS_SELECTOR, '#tabs button[data-tab="calls"]').click()
        ready(driver)
        driver.save_screenshot(str(out / "dashboard-calls.png"))
        # A recorded call with a transcript, so the detail page shows everything it can.
        recorded = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            const ids = [...document.querySelectorAll('#calls-table tr')]
              .filter(r => r.querySelector('button.play')).map(r => r.dataset.callId);
            const key = sessionStorage.getItem('calltrack.key');
            (async () => {
              for (const id of ids) {
                const r = await fetch('/v1/accounts/demo/calls/' + id + '/transcript',
                                      {headers: {Authorization: 'Bearer ' + key}});
                if (r.ok) return done(id);
              }
              done(ids[0]);
            })();""")
        driver.find_element(By.CSS_SELECTOR, f'#calls-table tr[data-call-id="{recorded}"] button.details').click()
        ready(driver)
        driver.save_screenshot(str(out / "dashboard-call-detail.png"))
        sign_in(driver, "agent@demo.calltrack.local")
        driver.save_screenshot(str(out / "dashboard-agent.png"))
    finally:
        driver.quit()
    print(f"wrote 4 screenshots to {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]))
