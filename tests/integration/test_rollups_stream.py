"""Roll-ups from the real streams of the emulator: whatever writes a session or a call,
the report counts it once the stream consumer caught up; duplicated and reordered
records change nothing; the roll-up report equals a raw recomputation."""
from __future__ import annotations

import random
import time
import uuid
from typing import Any, Dict, List

import pytest

from chalicelib import streams
from chalicelib.demo_traffic import write_calls, write_sessions


def test_smoke_stream_reaches_rollups(account):
    from chalicelib.reports import rollup_store
    acc = account()
    now = time.time()
    write_sessions(acc.account_id, [{"session_id": f"{acc.account_id}.-.0.{i}", "started_at": now - 3600,
                                     "number": "+14155550000", "method": "default", "source": "google",
                                     "medium": "organic"} for i in range(5)])
    n = streams.catch_up()
    assert n >= 5
    from chalicelib.reports import rollups
    from datetime import datetime, timezone
    day = datetime.fromtimestamp(now - 3600, timezone.utc).date()
    cells = rollup_store.read_cells(acc.account_id, "source", rollups.span([day], use_months=False))
    assert cells[f"D{day.isoformat()}"]["google"][0] == 5
