"""Integration routes and the consumers' SQS handlers.

One Lambda per consumer in registry.CONSUMERS: `consume_<name>`, triggered by its queue,
answering partial batch failures (infra/events.json turns on ReportBatchItemFailures).
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict

from chalice import Blueprint

from chalicelib import auth, web
from chalicelib.errors import BadRequest
from chalicelib.integrations import registry
from chalicelib.lazy import lazy

# Domain modules load on first use (chalicelib/lazy.py): a cold start pays for routes only.
consumers = lazy("chalicelib.integrations.consumers")
status = lazy("chalicelib.integrations.status")
webhooks = lazy("chalicelib.integrations.webhooks")

bp = Blueprint(__name__)


def _sqs_handler(name: str) -> Callable[[Any], Dict[str, Any]]:
    def handler(event: Any) -> Dict[str, Any]:
        return consumers.consume(name, event.to_dict(), event.context)
    handler.__name__ = f"consume_{name}"
    return handler


for _consumer in registry.CONSUMERS.values():
    bp.on_sqs_message(queue=_consumer.queue, batch_size=_consumer.batch_size,
                      name=_consumer.lambda_name)(_sqs_handler(_consumer.name))


@bp.route("/v1/accounts/{account_id}/webhooks/{subscription_id}/deliveries", methods=["GET"])
def webhook_deliveries(account_id: str, subscription_id: str) -> dict:
    """The delivery log, newest first: `limit` (1–100, default 50), `next` (the cursor the
    previous page gave), `outcome` (`ok` | `failed`)."""
    request = bp.current_request
    auth.require_account((request.headers or {}).get("authorization"), account_id)
    params = dict(request.query_params or {})
    web.refuse_unknown(params, ("limit", "next", "outcome"))
    raw_limit = params.get("limit", "50")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        raise BadRequest("limit must be an integer from 1 to 100")
    if params.get("outcome") not in (None, "ok", "failed"):
        raise BadRequest("outcome must be ok or failed")
    items, cursor = webhooks.deliveries(account_id, subscription_id, int(raw_limit), params.get("next"),
                                        params.get("outcome"))
    return {"subscription_id": subscription_id, "deliveries": items, "next": cursor}


@bp.route("/v1/accounts/{account_id}/integrations", methods=["GET"])
def integration_status(account_id: str) -> dict:
    """Each configured integration's last success and last error (with its reason)."""
    request = bp.current_request
    auth.require_account((request.headers or {}).get("authorization"), account_id)
    web.refuse_unknown(request.query_params)
    return {"integrations": status.of_account(account_id)}


GA4_VALIDATE_SCHEMA = {"type": "object", "additionalProperties": False,
                       "properties": {"call_id": {"type": "string", "minLength": 1, "maxLength": 200}}}


@bp.route("/v1/accounts/{account_id}/integrations/ga4/validate", methods=["POST"],
          content_types=["application/json"])
def ga4_validate(account_id: str) -> dict:
    """Send what a call (`call_id`, else the account's newest settled call, else a sample)
    would send to GA4's validation server (`/debug/mp/collect`) and answer its
    `validationMessages`; nothing is recorded in GA."""
    from chalicelib import web
    from chalicelib.calls import store
    from chalicelib.integrations import ga4

    request = bp.current_request
    auth.require_account((request.headers or {}).get("authorization"), account_id)
    body = web.json_body(request, GA4_VALIDATE_SCHEMA, allow_empty=True)
    if body.get("call_id"):
        detail = store.get_call(account_id, body["call_id"])
    else:
        now = time.time()
        recent, _ = store.page_calls(account_id, now - 31 * 86400, now, limit=10)   # one small page
        detail = next((c for c in recent if c.get("status") != "in_progress"), None) or sample_call(account_id, now)
    return ga4.validate_with_ga4(account_id, detail)


def sample_call(account_id: str, now: float) -> Dict[str, Any]:
    """The documented example call, as if it had just ended (GA4 drops events > 72 h old)."""
    from chalicelib.integrations import events

    from chalicelib.times import iso

    return {**events.schema("Call Completed")["examples"][0], "account_id": account_id, "call_id": "sample",
            "started_at": iso(now - 120), "answered_at": iso(now - 112), "ended_at": iso(now - 20)}
