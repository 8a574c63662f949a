"""Call classes and final statuses are defined once (chalicelib/vocabulary.py): every module
that names them agrees with it."""
from __future__ import annotations

from chalicelib import vocabulary
from chalicelib.calls import classify, state, store
from chalicelib.integrations import analytics, bidding, hubspot, webhooks
from chalicelib.reports import aggregate, filters


def test_every_module_names_the_same_classes():
    want = set(vocabulary.CLASSES)
    for have in (classify.CLASS_NAMES, store.CLASSES, bidding.CLASSES, analytics.CLASSES, filters.CLASSES,
                 aggregate.CLASS_KEYS):
        assert set(have) == want and len(have) == len(want)


def test_every_module_names_the_same_statuses():
    final = set(vocabulary.FINAL_STATUSES)
    assert set(state.FINAL_STATUSES) == final == set(webhooks.STATUSES)
    assert filters.STATUSES == final | {"in_progress"}
    assert filters.MISSED_STATUSES == final - {"answered"}
    assert hubspot.MISSED == final - {"answered", "failed", "rejected"}
    # The derivation's every outcome is a known status.
    derived = {state.derive({"direction": "inbound", "started_at": 1.0, "plan": {"action": "blocked"}}, [])["status"]}
    assert derived <= set(vocabulary.STATUSES)
