"""The people of an account: invite (Cognito mails a temporary password), change a role or
an agent's number, remove. Identity lives in Cognito, membership here (people/models.py)."""
from __future__ import annotations

import time
from typing import Any, Dict, List, Optional

from pynamodb.exceptions import DeleteError, PutError

from chalicelib.auth import ROLES, Principal
from chalicelib.db import condition_failed
from chalicelib.errors import BadRequest, Conflict, NotFound
from chalicelib.people import directory
from chalicelib.people.models import Membership

USER_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["email", "role"],
    "properties": {
        "email": {"type": "string", "format": "email", "pattern": "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", "maxLength": 254},
        "role": {"enum": list(ROLES)},
        "agent": {"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$",
                  "description": "An agent's number (E.164): the calls they answer are theirs"},
    },
}
UPDATE_SCHEMA = {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "properties": {"role": USER_SCHEMA["properties"]["role"],
                   "agent": {"type": ["string", "null"], "pattern": "^\\+[1-9][0-9]{6,14}$"}},
}


def view(member: Membership) -> Dict[str, Any]:
    return {"user_id": member.user_id, "email": member.email, "role": member.role, "agent": member.agent,
            "created_at": round(member.created_at or 0, 3), "created_by": member.created_by}


def list_users(account_id: str) -> List[Dict[str, Any]]:
    return sorted((view(m) for m in Membership.query(account_id)), key=lambda u: u["email"])


def _check_agent(role: str, agent: Optional[str]) -> None:
    if role == "agent" and not agent:
        raise BadRequest("agent: an agent needs the number they answer on (E.164)")


def add(account_id: str, body: Dict[str, Any], by: Principal, password: Optional[str] = None,
        clock: Any = time.time) -> Dict[str, Any]:
    """Invite `email` with `role`; 409 when they are a user of the account already."""
    email = body["email"].strip().lower()
    _check_agent(body["role"], body.get("agent"))
    sub = directory.ensure_user(email, password=password)
    member = Membership(account_id, sub, email=email, role=body["role"], agent=body.get("agent"),
                        created_at=clock(), created_by=by.name or by.id[:12])
    try:
        member.save(condition=Membership.user_id.does_not_exist())
    except PutError as err:
        if condition_failed(err):
            raise Conflict(f"{email} is a user of this account already") from err
        raise
    return view(member)


def _member(account_id: str, user_id: str) -> Membership:
    try:
        return Membership.get(account_id, user_id, consistent_read=True)
    except Membership.DoesNotExist as err:
        raise NotFound(f"no user '{user_id[:64]}' in this account") from err


def update(account_id: str, user_id: str, body: Dict[str, Any]) -> Dict[str, Any]:
    member = _member(account_id, user_id)
    role = body.get("role", member.role)
    agent = body["agent"] if "agent" in body else member.agent
    _check_agent(role, agent)
    member.update(actions=[Membership.role.set(role),
                           Membership.agent.set(agent) if agent else Membership.agent.remove()],
                  condition=Membership.user_id.exists())
    return view(_member(account_id, user_id))


def remove(account_id: str, user_id: str) -> Dict[str, Any]:
    """The person loses this account; their sign-in goes when no account is left."""
    member = _member(account_id, user_id)
    try:
        member.delete(condition=Membership.user_id.exists())
    except DeleteError as err:
        if condition_failed(err):
            raise NotFound(f"no user '{user_id[:64]}' in this account") from err
        raise
    if not accounts_of(user_id):
        directory.delete_user(member.email)
    return {"removed": user_id}


def accounts_of(user_id: str) -> List[Dict[str, str]]:
    return [{"account_id": m.account_id, "role": m.role} for m in Membership.user_index.query(user_id)]
