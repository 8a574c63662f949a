"""Amazon Cognito, the directory of people: which user pool and app client, creating them
locally as infra/users.json declares them, and the calls sign-in and user management make.

Cognito's errors become ours here: a wrong password and an unknown email read the same
(nobody learns who has an account), a weak password is a 400 naming the pool's policy."""
from __future__ import annotations

import functools
import secrets
import string
from dataclasses import dataclass
from typing import Any, Dict, Optional

from chalicelib import config
from chalicelib.errors import BadRequest, Conflict, ServiceUnavailable, TooManyRequests, Unauthorized

CLIENT_NAME = "calltrack-dashboard"
AUTH_FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
PASSWORD_POLICY = {"MinimumLength": 10, "RequireUppercase": False, "RequireLowercase": True,
                   "RequireNumbers": True, "RequireSymbols": False, "TemporaryPasswordValidityDays": 7}
PASSWORD_RULE = "at least 10 characters with a lowercase letter and a digit"


@dataclass(frozen=True)
class Pool:
    pool_id: str
    client_id: str


def _client() -> Any:
    from chalicelib import aws

    return aws.client("cognito-idp")


@functools.lru_cache(maxsize=1)
def _local_pool() -> Optional[Pool]:
    idp = _client()
    for found in idp.list_user_pools(MaxResults=60).get("UserPools", []):
        if found["Name"] == config.USER_POOL_NAME:
            clients = idp.list_user_pool_clients(UserPoolId=found["Id"], MaxResults=60).get("UserPoolClients", [])
            for c in clients:
                if c["ClientName"] == CLIENT_NAME:
                    return Pool(found["Id"], c["ClientId"])
    return None


def pool() -> Pool:
    """The user pool people sign in with, or ServiceUnavailable when there is none."""
    pool_id, client_id = config.user_pool_id(), config.user_pool_client_id()
    if pool_id and client_id:
        return Pool(pool_id, client_id)
    found = _local_pool() if config.is_local() else None
    if found is None:
        _local_pool.cache_clear()
        raise ServiceUnavailable(f"sign-in is not configured ({config.USER_POOL_ID} and {config.USER_POOL_CLIENT_ID})")
    return found


def bootstrap() -> Pool:
    """Locally: the user pool and app client as infra/users.json declares them (idempotent)."""
    _local_pool.cache_clear()
    found = _local_pool()
    if found:
        return found
    idp = _client()
    pool_id = idp.create_user_pool(
        PoolName=config.USER_POOL_NAME, UsernameAttributes=["email"], AutoVerifiedAttributes=["email"],
        MfaConfiguration="OPTIONAL", Policies={"PasswordPolicy": PASSWORD_POLICY},
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True})["UserPool"]["Id"]
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, SoftwareTokenMfaConfiguration={"Enabled": True},
                                 MfaConfiguration="OPTIONAL")
    idp.create_user_pool_client(UserPoolId=pool_id, ClientName=CLIENT_NAME, GenerateSecret=False,
                                ExplicitAuthFlows=AUTH_FLOWS, PreventUserExistenceErrors="ENABLED")
    _local_pool.cache_clear()
    return pool()


def _code(err: Exception) -> str:
    return str(getattr(err, "response", {}).get("Error", {}).get("Code", ""))


def _translated(err: Exception) -> Exception:
    code = _code(err)
    if code in ("NotAuthorizedException", "UserNotFoundException", "UserNotConfirmedException"):
        return Unauthorized("wrong email or password")
    if code == "PasswordResetRequiredException":
        return Unauthorized("your password must be reset: use \"Forgot your password?\"")
    if code in ("EnableSoftwareTokenMFAException",):
        return BadRequest("code: wrong or expired code; try the next one the app shows")
    if code in ("SoftwareTokenMFANotFoundException", "MFAMethodNotFoundException"):
        return BadRequest("set up the authenticator first (POST /v1/auth/mfa)")
    if code in ("PasswordHistoryPolicyViolationException",):
        return BadRequest("password: choose one you have not used before")
    if code in ("InvalidPasswordException",):
        return BadRequest(f"password: {PASSWORD_RULE}")
    if code in ("CodeMismatchException", "ExpiredCodeException"):
        return BadRequest("code: wrong or expired code; ask for a new one")
    if code in ("UsernameExistsException", "AliasExistsException"):
        return Conflict("a user with that email exists")
    if code in ("TooManyRequestsException", "LimitExceededException", "TooManyFailedAttemptsException"):
        return TooManyRequests("too many attempts; wait a few minutes")
    if code in ("InvalidParameterException",):
        return BadRequest(str(getattr(err, "response", {}).get("Error", {}).get("Message", "invalid request")))
    return ServiceUnavailable("the sign-in service could not complete the request; retry shortly")


def _call(operation: str, unknown: Optional[Exception] = None, **kwargs: Any) -> Dict[str, Any]:
    """One Cognito call, its errors in our words. `unknown`: what a missing session or person
    means to this caller (the emulator answers ResourceNotFound, Cognito NotAuthorized or
    UserNotFound); otherwise ResourceNotFound is a missing pool or client, our 503."""
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

    try:
        return getattr(_client(), operation)(**kwargs)
    except ClientError as err:
        if unknown is not None and _code(err) in ("ResourceNotFoundException", "UserNotFoundException",
                                                  "NotAuthorizedException"):
            raise unknown from err
        raise _translated(err) from err
    except ParamValidationError as err:      # what was sent breaks Cognito's own limits
        raise BadRequest("the sign-in request is malformed (a value is too long or too short)") from err
    except BotoCoreError as err:
        raise ServiceUnavailable("the sign-in service is unreachable; retry shortly") from err


def _answer(result: Dict[str, Any]) -> Dict[str, Any]:
    """Tokens, or the next challenge (a new password, an MFA code) and its session."""
    tokens = result.get("AuthenticationResult")
    if tokens:
        out = {"id_token": tokens["IdToken"], "access_token": tokens["AccessToken"],
               "expires_in": tokens.get("ExpiresIn", 3600)}
        if tokens.get("RefreshToken"):
            out["refresh_token"] = tokens["RefreshToken"]
        return out
    return {"challenge": result.get("ChallengeName"), "session": result.get("Session")}


def sign_in(email: str, password: str) -> Dict[str, Any]:
    return _answer(_call("initiate_auth", ClientId=pool().client_id, AuthFlow="USER_PASSWORD_AUTH",
                         AuthParameters={"USERNAME": email, "PASSWORD": password}))


def refresh(refresh_token: str) -> Dict[str, Any]:
    return _answer(_call("initiate_auth", ClientId=pool().client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                         AuthParameters={"REFRESH_TOKEN": refresh_token}))


CHALLENGE_ANSWERS = {"NEW_PASSWORD_REQUIRED": "NEW_PASSWORD", "SOFTWARE_TOKEN_MFA": "SOFTWARE_TOKEN_MFA_CODE"}


def respond(challenge: str, session: str, email: str, answer: str) -> Dict[str, Any]:
    if challenge not in CHALLENGE_ANSWERS:
        raise BadRequest(f"challenge: one of {', '.join(sorted(CHALLENGE_ANSWERS))}")
    return _answer(_call("respond_to_auth_challenge",
                         unknown=Unauthorized("the sign-in session is unknown or expired; sign in again"),
                         ClientId=pool().client_id, ChallengeName=challenge, Session=session,
                         ChallengeResponses={"USERNAME": email, CHALLENGE_ANSWERS[challenge]: answer}))


def forgot_password(email: str) -> None:
    """Cognito e-mails a code (and says nothing of whether the email has an account)."""
    try:
        _call("forgot_password", ClientId=pool().client_id, Username=email)
    except Unauthorized:
        pass


def reset_password(email: str, code: str, password: str) -> None:
    # No such person reads as a wrong code: the reset form says nothing of who has an account.
    _call("confirm_forgot_password", unknown=BadRequest("code: wrong or expired code; ask for a new one"),
          ClientId=pool().client_id, Username=email, ConfirmationCode=code, Password=password)


def mfa_setup(access_token: str, issuer: str = "Calltrack", email: str = "") -> Dict[str, str]:
    """A new authenticator secret for the signed-in person (shown once, to scan)."""
    from urllib.parse import quote

    if not email:     # the access token names the person by their sub: the app shows the email
        attributes = _call("get_user", AccessToken=access_token).get("UserAttributes") or []
        email = next((a["Value"] for a in attributes if a["Name"] == "email"), "")
    secret = _call("associate_software_token", AccessToken=access_token)["SecretCode"]
    label = quote(f"{issuer}:{email}" if email else issuer)
    return {"secret": secret, "otpauth": f"otpauth://totp/{label}?secret={secret}&issuer={quote(issuer)}"}


def mfa_enable(access_token: str, code: str) -> None:
    """Check the app's first code, then ask for one at every sign-in."""
    answer = _call("verify_software_token", AccessToken=access_token, UserCode=code,
                   FriendlyDeviceName="authenticator")
    if answer.get("Status") not in (None, "SUCCESS"):
        raise BadRequest("code: wrong or expired code; try the next one the app shows")
    _call("set_user_mfa_preference", AccessToken=access_token,
          SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})


def sign_out(access_token: str) -> None:
    """Every refresh token of the person stops working (Cognito GlobalSignOut); access
    tokens already handed out still pass our check until they expire (one hour at most)."""
    _call("global_sign_out", AccessToken=access_token)


def mfa_disable(access_token: str) -> None:
    _call("set_user_mfa_preference", AccessToken=access_token,
          SoftwareTokenMfaSettings={"Enabled": False, "PreferredMfa": False})


def _sub(user: Dict[str, Any]) -> str:
    attributes = user.get("Attributes") or user.get("UserAttributes") or []
    return next((a["Value"] for a in attributes if a["Name"] == "sub"), user.get("Username", ""))


def temporary_password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(14)) + secrets.choice(string.digits) + "a"


def ensure_user(email: str, password: Optional[str] = None) -> str:
    """The Cognito sub of the person with this email, inviting them when new (Cognito mails
    a temporary password). `password` (local demo only) sets a permanent one instead."""
    from botocore.exceptions import ClientError

    pool_id = pool().pool_id
    try:
        existing = _client().admin_get_user(UserPoolId=pool_id, Username=email)
        sub = _sub(existing)
    except ClientError as err:
        if _code(err) != "UserNotFoundException":
            raise _translated(err) from err
        invite: Dict[str, Any] = {"UserPoolId": pool_id, "Username": email,
                                  "UserAttributes": [{"Name": "email", "Value": email},
                                                     {"Name": "email_verified", "Value": "true"}],
                                  "DesiredDeliveryMediums": ["EMAIL"]}
        if password:
            invite.update(MessageAction="SUPPRESS", TemporaryPassword=temporary_password())
        sub = _sub(_call("admin_create_user", **invite)["User"])
    if password:
        _call("admin_set_user_password", UserPoolId=pool_id, Username=email, Password=password, Permanent=True)
    return sub


def delete_user(email: str) -> None:
    _call("admin_delete_user", UserPoolId=pool().pool_id, Username=email)


# --- infra/users.json -------------------------------------------------------------------------
INFRA = __import__("pathlib").Path(__file__).resolve().parents[2] / "infra" / "users.json"


def infra_template() -> Dict[str, Any]:
    """The user pool and the dashboard's app client, as bootstrap() creates them locally,
    and the API function's settings naming them."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Calltrack people: the Cognito user pool (email sign-in, optional TOTP MFA, invitations "
                       "only) and the dashboard's app client. Generated by "
                       "`python -m chalicelib.people.directory --write-infra`.",
        "Resources": {
            "CalltrackUserPool": {
                "Type": "AWS::Cognito::UserPool", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "UserPoolName": config.USER_POOL_NAME,
                    "UsernameAttributes": ["email"], "AutoVerifiedAttributes": ["email"],
                    "MfaConfiguration": "OPTIONAL", "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
                    "Policies": {"PasswordPolicy": PASSWORD_POLICY},
                    "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True, "InviteMessageTemplate": {
                        "EmailSubject": "Your Calltrack sign-in",
                        "EmailMessage": "Sign in to Calltrack as {username} with the temporary password "
                                        "{####}; you choose your own at the first sign-in."}},
                    "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
                    "UserPoolAddOns": {"AdvancedSecurityMode": "OFF"},
                    "DeletionProtection": "ACTIVE",
                },
            },
            "CalltrackDashboardClient": {
                "Type": "AWS::Cognito::UserPoolClient",
                "Properties": {
                    "UserPoolId": {"Ref": "CalltrackUserPool"}, "ClientName": CLIENT_NAME, "GenerateSecret": False,
                    "ExplicitAuthFlows": AUTH_FLOWS, "PreventUserExistenceErrors": "ENABLED",
                    "EnableTokenRevocation": True, "AccessTokenValidity": 1, "IdTokenValidity": 1,
                    "RefreshTokenValidity": 30,
                    "TokenValidityUnits": {"AccessToken": "hours", "IdToken": "hours", "RefreshToken": "days"},
                },
            },
            # Chalice's API function: which pool and client its tokens come from.
            "APIHandler": {"Properties": {"Environment": {"Variables": {
                config.USER_POOL_ID: {"Ref": "CalltrackUserPool"},
                config.USER_POOL_CLIENT_ID: {"Ref": "CalltrackDashboardClient"}}}}},
        },
        "Outputs": {"CalltrackUserPoolId": {"Description": "Invite the first admin: POST /v1/accounts/{id}/users "
                                                           "with the account's API key",
                                            "Value": {"Ref": "CalltrackUserPool"}}},
    }


def infra_text() -> str:
    import json

    return json.dumps(infra_template(), indent=2) + "\n"


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--write-infra"]:
        INFRA.write_text(infra_text(), encoding="utf-8")
    else:
        sys.stdout.write(infra_text())
