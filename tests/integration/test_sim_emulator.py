"""The simulator's in-memory lease store agrees with the real DynamoDB path: the same
short trace through sessions.start/heartbeat + history.who_held against the emulator
gives every call the same session and confidence."""
from __future__ import annotations

import time

from chalicelib.sim import replay


def test_in_memory_model_and_emulator_attribute_every_call_alike(account):
    from chalicelib.integrations import bus

    bus.bootstrap()                          # sessions.start announces each session on the bus
    numbers = ["+14155557401", "+14155557402", "+14155557403"]
    acc = account(pool=numbers)
    visits = replay.small_trace(seed=3, hours=1.5, visits_per_day=1200.0)
    result = replay.agreement(acc.account_id, numbers, visits, t0=time.time())
    assert result.calls >= 10
    assert result.same == result.calls
    assert result.memory.exhausted == result.emulator.exhausted > 0      # the trace does stress the pool
    outcomes = {c.outcome for c in result.emulator.calls}
    assert "right" in outcomes
