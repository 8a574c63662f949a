"""Buying tracking numbers from Vonage and linking them to Calltrack's Vonage
application (Numbers API through the SDK), behind CALLTRACK_NUMBER_PURCHASES.

Order matters: buy, then link (so calls to it reach our answer URL), then add it to
the account. A number bought but not linked is reported as such, never silently kept.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional

from chalicelib import config
from chalicelib.admin import numbers
from chalicelib.errors import CalltrackError, NotFound
from chalicelib.observability import count, logger

TIMEOUT_SECONDS = 15


class VonageRefused(CalltrackError):
    """Vonage answered with an error (no stock, no credit, bad number…)."""
    status = 502
    code = "vonage_error"


def _require_enabled() -> None:
    if not config.number_purchases_enabled():
        raise NotFound("buying numbers is not enabled on this deployment (CALLTRACK_NUMBER_PURCHASES)")


@lru_cache(maxsize=1)
def client() -> Any:
    """The Vonage client for the Numbers API (basic auth), created once per container."""
    from vonage import Auth, HttpClientOptions, Vonage

    auth = Auth(api_key=config.required(config.VONAGE_API_KEY), api_secret=config.required(config.VONAGE_API_SECRET))
    return Vonage(auth, HttpClientOptions(rest_host=config.vonage_rest_host(), timeout=TIMEOUT_SECONDS))


def _call(what: str, fn: Any, *args: Any) -> Any:
    import requests
    from vonage_http_client.errors import HttpRequestError
    from vonage_numbers import NumbersError

    try:
        return fn(*args)
    except (HttpRequestError, NumbersError, requests.RequestException) as err:
        logger.warning("vonage numbers call failed", extra={"what": what, "error": str(err)[:300]})
        raise VonageRefused(f"Vonage refused to {what}: {str(err)[:200]}") from err


def search(query: Mapping[str, Any], vonage: Optional[Any] = None) -> List[Dict[str, Any]]:
    """Numbers Vonage offers in a country (optionally matching `pattern` anywhere)."""
    _require_enabled()
    from vonage_numbers import SearchAvailableNumbersFilter

    pattern = query.get("pattern")
    flt = SearchAvailableNumbersFilter(country=query["country"], type=query.get("type"), features="VOICE",
                                       pattern=pattern, search_pattern=1 if pattern else None,
                                       size=int(query.get("size") or 10))
    found, _total, _next = _call("search numbers", (vonage or client()).numbers.search_available_numbers, flt)
    return [{"number": "+" + n.msisdn, "country": n.country, "type": n.type, "monthly_cost_eur": n.cost,
             "features": n.features or []} for n in found if n.msisdn]


def buy(account_id: str, spec: Mapping[str, Any], vonage: Optional[Any] = None) -> Dict[str, Any]:
    """Buy `spec["number"]`, link it to the Vonage application, add it to the account."""
    _require_enabled()
    from vonage_numbers import NumberParams, UpdateNumberParams

    number, country = spec["number"], spec["country"]
    numbers.check_available(number, account_id)
    vonage = vonage or client()
    msisdn = number.lstrip("+")
    _call("sell that number", vonage.numbers.buy_number, NumberParams(country=country, msisdn=msisdn))
    count("NumbersBought")
    try:
        _call("link the number to the Calltrack application", vonage.numbers.update_number,
              UpdateNumberParams(country=country, msisdn=msisdn, app_id=config.required(config.VONAGE_APPLICATION_ID)))
    except VonageRefused as err:
        raise VonageRefused(f"{number} was bought but not linked to the application; link it in the Vonage "
                            f"dashboard, then add it here. {err.message}") from err
    add = {"number": number, "country": country, "kind": spec.get("kind", "pool")}
    add.update({k: spec[k] for k in ("pool_id", "source") if spec.get(k)})
    return {**numbers.add_number(account_id, add), "bought": True}
