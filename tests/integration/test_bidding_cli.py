"""`calltrack conversions` against the app served over HTTP."""
from __future__ import annotations

import time
import uuid

from chalicelib.cli import main
from chalicelib.integrations import bidding
from sample_calls import completed_call, event_of, iso_ago, store_call


def test_export_and_feed_from_the_command_line(api_server, account, tmp_path, capsys):
    key = "cli-bid-" + uuid.uuid4().hex
    acc = account(api_key=key, extra_config={"google_ads": {"enabled": True}}).account_id
    now = time.time()
    for call_id, hours, clicks in (("cli-click", 30, {"gclid": "G-CLI"}), ("cli-young", 1, {})):
        call = store_call(completed_call(account_id=acc, call_id=call_id, click_ids=clicks,
                                         started_at=iso_ago(now, hours * 3600), ended_at=iso_ago(now, hours * 3600 - 60)))
        bidding.handle(event_of(call), clock=lambda: time.time() - 60)

    out = tmp_path / "clicks.csv"
    assert main(["--api", api_server, "--key", key, "conversions", "export", "--account", acc, "-o", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[1].startswith("Google Click ID,") and lines[2].startswith("G-CLI,Calltrack target call,")

    assert main(["--api", api_server, "--key", key, "conversions", "export", "--account", acc, "--kind", "call"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[1].startswith("Caller's Phone Number,") and len(captured.out.splitlines()) == 2
    assert "1 call conversion(s) held back" in captured.err

    assert main(["--api", api_server, "--key", key, "conversions", "feed", "--account", acc]) == 0
    captured = capsys.readouterr()
    assert "G-CLI" in captured.out and captured.err.startswith("next: ")
    assert main(["--api", api_server, "--key", "wrong-key", "conversions", "feed", "--account", acc]) == 1
