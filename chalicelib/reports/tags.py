"""Manual tags and value on a call, checked against the account's tag categories.

Tags set here carry `"by": "manual"`. A PUT replaces the call's manual tags only: the
tags the agent keyed in on the post-call voice menu (any tag not marked manual) stay
beside them, and the conversation rules' tags (`"by": "rules"`) keep coming from the
call's analysis.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

from chalicelib.accounts import get_account
from chalicelib.calls import store
from chalicelib.errors import ValidationFailed

MANUAL = "manual"


def categories_by_name(categories: Sequence[Mapping[str, Any]]) -> Dict[str, Mapping[str, Any]]:
    return {str(c["name"]).lower(): c for c in categories if c.get("name")}


def checked(tags: Sequence[Mapping[str, Any]], categories: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """The tags in the categories' own spelling, or ValidationFailed naming what is wrong."""
    known = categories_by_name(categories)
    if tags and not known:
        raise ValidationFailed("this account has no tag categories: configure the tag_categories section first")
    out: List[Dict[str, Any]] = []
    for i, tag in enumerate(tags):
        category = known.get(str(tag["category"]).lower())
        if category is None:
            raise ValidationFailed(f"tags/{i}/category: '{tag['category']}' is not one of "
                                   f"{', '.join(c['name'] for c in known.values())}")
        value = tag.get("value")
        allowed = category.get("values")
        if allowed and value is not None:
            spelled = {v.lower(): v for v in allowed}
            if str(value).lower() not in spelled:
                raise ValidationFailed(f"tags/{i}/value: '{value}' is not one of {', '.join(allowed)}")
            value = spelled[str(value).lower()]
        out.append({"category": category["name"], "value": value, "by": MANUAL})
    return out


def merged(existing: Sequence[Mapping[str, Any]], manual: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The agent's keypad tags stay; manual ones are replaced; the rules' tags are not
    stored with them (they come from the call's analysis, calls/store.py)."""
    return [dict(t) for t in existing if t.get("by") not in (MANUAL, store.RULES)] + manual


def default_value(manual: Sequence[Mapping[str, Any]], categories: Sequence[Mapping[str, Any]]) -> Optional[float]:
    """The largest nominal value among the tagged categories, if any has one."""
    known = categories_by_name(categories)
    values = [known[t["category"].lower()].get("default_value") for t in manual]
    values = [float(v) for v in values if v is not None]
    return max(values) if values else None


def tag_call(account_id: str, call_id: str, body: Mapping[str, Any]) -> Dict[str, Any]:
    """Apply a validated TAGS_REQUEST body; answers the call as `calls.store` shapes it."""
    categories = get_account(account_id).config.get("tag_categories") or []
    manual = checked(body["tags"], categories)
    call = store.get_call(account_id, call_id)
    value = body.get("value")
    if value is None and call.get("value") is None:
        value = default_value(manual, categories)
    return store.set_tags(account_id, call_id, merged(call.get("tags") or [], manual), value)
