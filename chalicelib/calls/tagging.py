"""Agent post-call tagging: when the caller hangs up, the agent's leg (still up) is
transferred to a keypad menu — category code, then value — and the answers become the
call's tag and value. No input → the category's (or the account's) default value."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from chalicelib import accounts
from chalicelib.calls import lifecycle, ncco, state, store
from chalicelib.calls.models import Call
from chalicelib.observability import count, logger


def offer(item: Call, links: ncco.Links) -> bool:
    """Transfer the answered, still-connected agent leg to the tagging menu (once per call)."""
    ctx = item.ctx or {}
    plan = ctx.get("plan") or {}
    if not plan.get("tagging") or ctx.get("direction") != "inbound":
        return False
    legs = state.legs_of(state.decode(item.evs or ()))
    agent = next((l for l in legs if l.role == "agent" and l.answered and not l.terminal and l.uuid), None)
    if agent is None or not lifecycle.mark_once(item.call_id, "tagging"):
        return False
    from chalicelib.calls import vonage_client

    menu = ncco.tag_category(links, item.call_id, plan["language"], plan.get("tagging_timeout", 5))
    try:
        vonage_client.calls().transfer(agent.uuid, menu)
    except vonage_client.VonageUnavailable as err:
        logger.warning("tagging menu not offered", extra={"call_id": item.call_id, "error": str(err)})
        count("TaggingTransferFailed")
        return False
    count("TaggingOffered")
    return True


def categories(account_id: str) -> List[Dict[str, Any]]:
    return list(accounts.get_account(account_id).config.get("tag_categories") or [])


def category_of(account_id: str, code: str) -> Optional[Dict[str, Any]]:
    return next((c for c in categories(account_id) if c.get("code") == code), None)


def default_value(account_id: str, category: Optional[Mapping[str, Any]]) -> float:
    if category and category.get("default_value") is not None:
        return float(category["default_value"])
    return float(accounts.get_account(account_id).settings.default_value)


def keyed(payload: Mapping[str, Any]) -> str:
    return state.keyed_digits(payload)[0].strip("#")


def menu_input(payload: Mapping[str, Any], query: Mapping[str, Any], links: ncco.Links) -> ncco.Ncco:
    """One answer of the tagging menu; returns the next NCCO for the agent's leg."""
    call_id = query.get("call") or ""
    if not call_id or len(call_id) > 200:
        return ncco.unknown_number()
    try:
        item = Call.get(call_id)
    except Call.DoesNotExist:
        return ncco.unknown_number()
    if not item.ctx or item.rec is None:
        return ncco.unknown_number()
    ctx = item.ctx
    account_id, plan = ctx.get("account_id"), ctx.get("plan") or {}
    lang, timeout = plan.get("language", "en-US"), plan.get("tagging_timeout", 5)
    digits = keyed(payload)
    if query.get("step") == "category":
        category = category_of(account_id, digits) if digits else None
        if category is None:
            store.set_tags(account_id, call_id, list(item.tags or []), default_value(account_id, None),
                           tagged_by="agent")
            return ncco.tag_done(lang)
        return ncco.tag_value(links, call_id, lang, timeout, digits)
    category = category_of(account_id, query.get("category") or "")
    value = float(digits) if digits.isdigit() else default_value(account_id, category)
    tags = [t for t in (item.tags or []) if not category or t.get("category") != category["name"]]
    if category:
        tags.append({"category": category["name"], "value": None})
    store.set_tags(account_id, call_id, tags, value, tagged_by="agent")
    count("CallsTaggedByAgent")
    return ncco.tag_done(lang)
