"""Every canned Vonage sequence through the app against the emulator: in order,
duplicated and shuffled, each gives its final status, one record per call, and the
same record whatever the delivery."""
from __future__ import annotations

import pytest

from chalicelib.calls import api as calls_api
from chalicelib.calls.models import Call
from chalicelib.geo.phone import digits
from chalicelib.vocabulary import CLASSES
from tests.events.loader import load, names, variants
from tests.integration.calls_support import WIDGET, answer, read_call, replay, send, vonage_stub

# Differ per replay (a new call, a new caller) — everything else must be identical.
PER_CALL = {"call_id", "conversation_uuid", "caller", "caller_hash"}
KEY = "calls-replay-key"


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    with vonage_stub(tmp_path_factory.mktemp("vonage")) as s:
        yield s


def run(client, acc, name: str, caller_n: int) -> dict:
    """One replay of the scenario as a new call from a new caller; returns the stored record."""
    caller = f"1415557{caller_n:04d}"
    tracking = acc.pool_numbers[0]
    sc = load(name, TO=digits(tracking), FROM=caller, DEST="14155550199")
    if "callback" in sc:
        response = send(client, "/v1/callbacks", {}, {"account": acc.account_id, "phone": "+" + caller}, WIDGET)
        call_id = response.json_body["callback_id"]
        sc = load(name, TO=digits(acc.default_number), FROM=caller, DEST="14155550199", CALL=call_id)
    else:
        ncco = answer(client, sc["answer"])
        assert ncco and all("action" in a for a in ncco)
        call_id = sc["values"]["CONV"]
    return sc, call_id


@pytest.mark.parametrize("name", names())
def test_sequence_replayed_three_ways_gives_one_identical_record(name, client, account, stub, monkeypatch):
    first = load(name)
    acc = account(extra_config={"routing": first["routing"]}, settings=first["settings"], api_key=KEY + name)
    acc.pool_numbers = sorted(acc_pool(acc.account_id))
    monkeypatch.setattr(calls_api, "clock", lambda: first["clock"])
    records = {}
    for n, (label, _) in enumerate(variants(first["webhooks"]).items()):
        sc, call_id = run(client, acc, name, n + 1)
        replay(client, variants(sc["webhooks"])[label])
        records[label] = read_call(client, acc.account_id, call_id, KEY + name)
        assert Call.count(call_id) == 1
    base = records["in_order"]
    assert base["status"] == first["expect"]["status"], base
    assert set(base["classification"]) == set(CLASSES) and all(
        isinstance(v, bool) for v in base["classification"].values()), base["classification"]
    for key in ("talk_seconds", "wait_seconds", "ivr_path", "department", "suspected_false_conversion"):
        if key in first["expect"]:
            assert base[key] == first["expect"][key], key
    assert bool(base["recording_url"]) == first["expect"]["recording"]
    for cls in ("target", "unique"):             # classified on Vonage's facts, not by the sweep
        if cls in first["expect"]:
            assert base["classification"][cls] is first["expect"][cls], cls
    same = {k: v for k, v in base.items() if k not in PER_CALL}
    for label in ("duplicated", "shuffled"):
        assert {k: v for k, v in records[label].items() if k not in PER_CALL} == same, label


def acc_pool(account_id):
    from chalicelib.dni.models import Number

    return {n.number for n in Number.pool_index.query(f"{account_id}#main")}
