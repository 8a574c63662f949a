"""Tables of the people domain: who may open an account with which role, and the audit
log. Cognito holds the identity (email, password, MFA); these hold the membership."""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.db import meta, register


class UserIndex(GlobalSecondaryIndex):
    """The accounts one person belongs to (the sign-in answer lists them)."""
    class Meta:
        index_name = "user-index"
        projection = IncludeProjection(["role"])
    user_id = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute(range_key=True)


@register
class Membership(Model):
    """A Cognito user (`user_id` = the token's `sub`) in one account, with one role. One
    GetItem per request authorises a signed-in person, as one does for an API key."""
    Meta = meta("users")
    account_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)
    email = UnicodeAttribute()
    role = UnicodeAttribute()
    # agent: the E.164 number this person answers on (the call's `agent`): their own calls.
    agent = UnicodeAttribute(null=True)
    created_at = NumberAttribute(default=0)
    created_by = UnicodeAttribute(default="")
    user_index = UserIndex()


@register
class AuditEntry(Model):
    """One change made through the API: who (user or key), what (route and its targets,
    the names of the fields sent — never their values), when, and the answer's status."""
    Meta = meta("audit")
    account_id = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)      # "<iso ms>#<random>": newest last, unique
    at = NumberAttribute()
    actor = JSONAttribute()                          # {"kind": "user"|"key", "id", "email"|"label", "role"}
    action = UnicodeAttribute()                      # "PUT /config/{section}"
    target = JSONAttribute(default=dict)             # the path's parameters but the account
    fields = JSONAttribute(default=list)             # top-level names in the body
    status = NumberAttribute()
