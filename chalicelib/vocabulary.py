"""The words calls are described with, once: call classes and final statuses (docs/calls.md).

Every module that names a class or a status imports it from here, so a new status cannot be
known to the state machine and unknown to reports, webhooks' filters or HubSpot.
"""
from __future__ import annotations

from typing import Literal, Optional, Tuple, get_args

CallClass = Literal["unique", "target", "repeated", "first_target", "unique_target"]
CLASSES: Tuple[str, ...] = get_args(CallClass)

FinalStatus = Literal["answered", "missed", "busy", "voicemail", "ivr_no_input", "ivr_abandoned",
                      "abandoned_in_greeting", "failed", "rejected", "callback_agent_no_answer",
                      "callback_client_no_answer"]
FINAL_STATUSES: Tuple[str, ...] = get_args(FinalStatus)
Status = Literal[FinalStatus, "in_progress"]       # what a call's record says while it is open, too
STATUSES: Tuple[str, ...] = (*FINAL_STATUSES, "in_progress")
# Every final status in which nobody talked to the caller: what a naive report calls "missed".
MISSED_STATUSES = frozenset(FINAL_STATUSES) - {"answered"}
# The caller asked to be reached and was not: the business owes them a call back (CRM tasks).
CALL_BACK_OWED = MISSED_STATUSES - {"failed", "rejected"}
# Lead scores (0-100) as reports group them.
SCORE_BANDS = ((0, 24), (25, 49), (50, 74), (75, 100))


def score_band(score: Optional[float]) -> Optional[str]:
    """A lead score's band: `0-24`, `25-49`, `50-74`, `75-100` (None: not scored)."""
    if score is None:
        return None
    value = int(score)
    return next((f"{low}-{high}" for low, high in SCORE_BANDS if value <= high), "75-100")
