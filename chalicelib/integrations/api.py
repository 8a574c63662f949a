"""Integration routes and the consumers' SQS handlers.

One Lambda per consumer in registry.CONSUMERS: `consume_<name>`, triggered by its queue,
answering partial batch failures (infra/events.json turns on ReportBatchItemFailures).
"""
from __future__ import annotations

from typing import Any, Callable, Dict

from chalice import Blueprint

from chalicelib import auth
from chalicelib.errors import BadRequest
from chalicelib.integrations import consumers, registry, status, webhooks

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
    unknown = sorted(set(params) - {"limit", "next", "outcome"})
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(unknown)}; known: limit, next, outcome")
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
    if request.query_params:
        raise BadRequest(f"unknown parameter(s): {', '.join(sorted(request.query_params))}")
    return {"integrations": status.of_account(account_id)}
