"""Calls data: one item per call, and one per (account, caller) for classification.

A call item collects what Vonage told us as a *set* of facts (`evs`: one compact
JSON string per leg+status, input, recording…). DynamoDB's ADD on a string set is
idempotent and order-free, so retried or shuffled webhooks converge on the same set,
and the record (`rec`) is derived from that set alone (see `state.py`).
"""
from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute, UnicodeSetAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.db import meta, register


class AccountCallsIndex(GlobalSecondaryIndex):
    """Calls of an account by start time (sparse: items without an account are not in it)."""

    class Meta:
        index_name = "account-started-index"
        projection = AllProjection()

    account_id = UnicodeAttribute(hash_key=True)
    started_at = NumberAttribute(range_key=True)


class AgentCallsIndex(GlobalSecondaryIndex):
    """An agent's settled calls by start time (sparse: `agent_key` is written when a call
    answered by an agent settles), so an agent's call list reads their calls only, not the
    account's. Written at settling, not at the answer: the webhooks of a live call do not
    replicate into it."""

    class Meta:
        index_name = "agent-started-index"
        projection = AllProjection()

    agent_key = UnicodeAttribute(hash_key=True)
    started_at = NumberAttribute(range_key=True)


class UnsettledCallsIndex(GlobalSecondaryIndex):
    """Calls not settled yet, oldest first (sparse: `unsettled` exists only until the call
    settles), so the settlement sweep reads the few live or stuck calls, never the table.
    Keys only: each webhook's write to a call does not replicate into the index (two index
    writes per call: at the answer, at settling); the sweep reads the candidates it finds."""

    class Meta:
        index_name = "unsettled-started-index"
        projection = KeysOnlyProjection()

    unsettled = UnicodeAttribute(hash_key=True)
    started_at = NumberAttribute(range_key=True)


UNSETTLED = "1"   # the one partition of the sparse index (open calls are few at any moment)


@register
class Call(Model):
    """One call. `call_id` is Vonage's `conversation_uuid` for inbound calls (both legs
    share it) and `cb-…` for callbacks (which may span several Vonage conversations)."""
    Meta = meta("calls", stream=True)
    call_id = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute(null=True)            # null until the answer webhook ran
    started_at = NumberAttribute(null=True)
    direction = UnicodeAttribute(null=True)
    # Answer-time context: tracking number, caller, attribution, routing plan, settings.
    ctx = JSONAttribute(null=True)
    # Facts observed from Vonage's webhooks (idempotent set, see module doc).
    evs = UnicodeSetAttribute(null=True)
    # The derived API record and its fingerprint; top-level copies for filters.
    rec = JSONAttribute(null=True)
    rec_sig = UnicodeAttribute(null=True)
    completed_sig = UnicodeAttribute(null=True)         # the record `Call Completed` announced
    status = UnicodeAttribute(null=True)
    source = UnicodeAttribute(null=True)
    agent_key = UnicodeAttribute(null=True)             # "<account_id>#<agent number>" once settled (AgentCallsIndex)
    classes = UnicodeSetAttribute(null=True)            # {"unique", "target", …} when true
    tags = JSONAttribute(null=True)
    value = NumberAttribute(null=True)
    tagged = JSONAttribute(null=True)                   # {"at", "by"} of the last tagging (→ `Call Tagged`)
    attempts = NumberAttribute(null=True)               # callbacks: Vonage calls created so far
    marks = UnicodeSetAttribute(null=True)              # one-off steps announced once ("started", "routed")
    transcript = JSONAttribute(null=True)               # Vonage's announcement {url, recording_uuid, at} (intelligence)
    analysis = JSONAttribute(null=True)                 # the rules' outcome on it (intelligence.analysis)
    analysis_url = UnicodeAttribute(null=True)          # the transcript `analysis` was made from
    archived = UnicodeSetAttribute(null=True)           # recordings copied to S3 (reports/archive.py), one JSON each
    spam_flags = UnicodeSetAttribute(null=True)         # why the call looks like spam (calls/spam.py), set ADDs
    spam_verdict = UnicodeAttribute(null=True)          # a person's: "spam" | "not_spam" (overrides the flags)
    expires = TTLAttribute(null=True)
    unsettled = UnicodeAttribute(null=True)             # UNSETTLED while the call is not settled
    account_index = AccountCallsIndex()
    agent_index = AgentCallsIndex()
    unsettled_index = UnsettledCallsIndex()


@register
class CallerHistory(Model):
    """Every settled call of one caller to one account: `started_at|call_id|q` strings
    (q = 1 when the call reached the target length). One UpdateItem adds a call and
    returns the whole history, so classifying costs O(1) requests whatever the order
    in which calls complete."""
    Meta = meta("caller_history")
    key = UnicodeAttribute(hash_key=True)               # "<account_id>#<caller_hash>"
    entries = UnicodeSetAttribute(null=True)
    # The caller's very short calls, `started_at|call_id|tracking digits` (spam bursts, calls/spam.py).
    shorts = UnicodeSetAttribute(null=True)
    expires = TTLAttribute(null=True)


@register
class SeenToken(Model):
    """The `jti` of every signed Vonage webhook accepted, kept until its token could no longer
    pass the freshness check: a replayed token is refused (calls/signatures.py)."""
    Meta = meta("webhook_tokens")
    jti = UnicodeAttribute(hash_key=True)
    expires = TTLAttribute(null=True)
