"""Accounts over JSON: tokens, me, profiles, verification requests, institutions."""

from __future__ import annotations

from typing import Any

from flask import jsonify, make_response
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn import inputs
from lhn.accounts import permissions
from lhn.accounts import services as accounts
from lhn.accounts.limits import account_mail_rate_limited, login_rate_limited
from lhn.accounts.models import ApiToken, Institution, InstitutionKind, Role, User, VerificationRequest
from lhn.api import bp, created, json_body, person_json, require_user
from lhn.api.openapi import BOOLEAN, PHI_CONFIRM, TEXT, body_schema, op, path_param, ref
from lhn.database import after_response, iso_or_none, transactional
from lhn.errors import PermissionDenied, Unauthenticated
from lhn.limits import user_rate_limited

FORGOT_ANSWER = "If an account uses that address, we sent it a link to choose a new password."
VERIFICATION_FIELDS = ("licence_number", "licence_issuer", "institutional_email", "orcid", "statement")


def token_json(row: ApiToken) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "hint": row.hint,
        "created_at": row.created_at.isoformat(),
        "last_used_at": iso_or_none(row.last_used_at),
    }


def institution_json(row: Institution) -> dict[str, Any]:
    return {"slug": row.slug, "name": row.name, "kind": row.kind.value, "city": row.city, "country": row.country}


def decision_json(row: VerificationRequest) -> dict[str, Any]:
    """A verification decision as the person and site staff see it on a profile (never the evidence itself)."""
    return {
        "id": row.id,
        "role": row.role.value,
        "status": row.status.value,
        "submitted_at": row.created_at.isoformat(),
        "decided_at": iso_or_none(row.decided_at),
        "decided_by": person_json(row.decided_by) if row.decided_by else None,
        "note": row.decision_note,
        "state": row.state,  # pending, rejected, approved, revoked, expired
        "expires_on": iso_or_none(row.expires_on),
        "revoked_at": iso_or_none(row.revoked_at),
        "revoked_by": person_json(row.revoked_by) if row.revoked_by else None,
        "revocation_reason": row.revocation_reason or None,
    }


def me_json(user: User) -> dict[str, Any]:
    return {**person_json(user), "email": user.email, "bio": user.bio, "created_at": user.created_at.isoformat(),
            "show_presence": user.show_presence, "email_confirmed": user.email_confirmed_at is not None}  # fmt: skip


@bp.post("/tokens")
@login_rate_limited
@transactional
def create_token() -> ResponseReturnValue:
    data = json_body()
    login, password = inputs.text(data, "login", missing=""), inputs.text(data, "password", missing="")
    name = inputs.text(data, "name", missing="")
    user = accounts.authenticate(login, password)
    if user is None:
        raise Unauthenticated("Invalid login or password.")
    if permissions.is_suspended(user):
        raise PermissionDenied(permissions.suspension_notice(user))
    row, token = accounts.create_token(user, name=name)
    return created({**token_json(row), "token": token})


@bp.get("/tokens")
def list_tokens() -> ResponseReturnValue:
    return jsonify(items=[token_json(t) for t in accounts.list_tokens(require_user())])


@bp.delete("/tokens/<int:token_id>")
@transactional
def revoke_token(token_id: int) -> ResponseReturnValue:
    accounts.revoke_token(require_user(), token_id)
    return "", 204


@bp.get("/me")
def me() -> ResponseReturnValue:
    return jsonify(me_json(require_user()))


@bp.patch("/me")
@transactional
def update_me() -> ResponseReturnValue:
    user, data = require_user(), json_body()
    # A field not sent (or null) keeps its value; "" for institution clears it.
    accounts.update_profile(
        user,
        display_name=inputs.text(data, "display_name", user.display_name),
        bio=inputs.text(data, "bio", user.bio),
        role=inputs.text(data, "role", user.role.value),
        institution=inputs.text(data, "institution", user.institution.slug if user.institution else ""),
        confirm_real_name=inputs.boolean(data, "confirm_real_name", False),
        show_presence=inputs.boolean(data, "show_presence", None),
        confirm_phi=inputs.phi_confirmed(data),
    )
    return jsonify(me_json(user))


@bp.post("/me/password")
@transactional
def change_password() -> ResponseReturnValue:
    user, data = require_user(), json_body()
    current, new = inputs.text(data, "current_password", missing=""), inputs.text(data, "new_password", missing="")
    accounts.change_password(user, current_password=current, new_password=new)
    return "", 204


@bp.post("/password/forgot")
@account_mail_rate_limited
def forgot_password() -> ResponseReturnValue:
    # The same answer whether or not an account uses the address, as fast: the email is queued after it is sent.
    email = inputs.text(json_body(), "email", missing="")
    return after_response(make_response(jsonify(message=FORGOT_ANSWER), 202), accounts.request_password_reset, email)


@bp.post("/password/reset")
@transactional
def reset_password() -> ResponseReturnValue:
    data = json_body()
    token, new = inputs.text(data, "token", missing=""), inputs.text(data, "new_password", missing="")
    accounts.reset_password(token, new_password=new)
    return "", 204


@bp.post("/email/confirm")
@transactional
def confirm_email() -> ResponseReturnValue:
    accounts.confirm_email(inputs.text(json_body(), "token", missing=""))  # confirms; logs no one in over JSON
    return "", 204


@bp.post("/email/change")
@transactional
def change_email() -> ResponseReturnValue:
    accounts.change_email(inputs.text(json_body(), "token", missing=""))
    return "", 204


@bp.post("/me/email")
@user_rate_limited("account_mail")
@transactional
def request_email_change() -> ResponseReturnValue:
    user, data = require_user(), json_body()
    accounts.request_email_change(user, new_email=inputs.text(data, "new_email", missing=""),
                                  current_password=inputs.text(data, "current_password", missing=""))  # fmt: skip
    return jsonify(message="We sent a link to the new address; your address changes when it is opened."), 202


@bp.post("/me/email/confirmation")
@user_rate_limited("account_mail")
@transactional
def send_confirmation() -> ResponseReturnValue:
    return jsonify(sent=accounts.send_confirmation(require_user())), 202


@bp.post("/me/verification")
@transactional
def submit_verification() -> ResponseReturnValue:
    user, data = require_user(), json_body()
    request = accounts.submit_verification(user, **{f: inputs.text(data, f, "") for f in VERIFICATION_FIELDS})
    return created(decision_json(request))


@bp.get("/users/<username>")
def show_user(username: str) -> ResponseReturnValue:
    user = accounts.get_user(username)
    history = accounts.list_verification_history(user, viewer=current_user)
    hidden = bool(user.bio_hidden_reason) and not permissions.can_see_private_profile(current_user, user)
    data = {**person_json(user), "bio_html": None if hidden else user.bio_html,
            "bio_hidden_reason": user.bio_hidden_reason or None,
            "verification_history": [decision_json(r) for r in history]}  # fmt: skip
    if permissions.can_see_private_profile(current_user, user):
        data["email"] = user.email
    return jsonify(data)


@bp.post("/users/<username>/verification/revoke")
@user_rate_limited("staff")
@transactional
def revoke_verification(username: str) -> ResponseReturnValue:
    user, data = require_user(), json_body()
    row = accounts.revoke_verification(username, by=user, reason=inputs.text(data, "reason"))
    return jsonify(decision_json(row))


@bp.put("/users/<username>/verifier")
@user_rate_limited("staff")
@transactional
def set_verifier(username: str) -> ResponseReturnValue:
    user, data = require_user(), json_body()
    person = accounts.set_verifier(username, by=user, appoint=inputs.boolean(data, "verifier"))
    return jsonify({**person_json(person), "verifier": person.is_verifier})


@bp.get("/institutions")
def list_institutions() -> ResponseReturnValue:
    return jsonify(items=[institution_json(i) for i in accounts.list_institutions()])


@bp.post("/institutions")
@transactional
def create_institution() -> ResponseReturnValue:
    user, data = require_user(), json_body()
    fields = {f: inputs.text(data, f, missing="") for f in ("slug", "name", "kind")}
    fields |= {f: inputs.text(data, f, "") for f in ("city", "country")}
    row = accounts.create_institution(by=user, **fields)
    return created(institution_json(row))


TOKEN = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
         "hint": {"type": "string"}, "created_at": {"type": "string"}, "token": {"type": "string"}}}  # fmt: skip
INSTITUTION = {"type": "object", "properties": {k: {"type": "string"} for k in ("slug", "name", "kind", "city",
               "country")}}  # fmt: skip
DECISION = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "role": {"type": "string"},
        "status": {"enum": ["pending", "approved", "rejected"]},
        "submitted_at": {"type": "string"},
        "decided_at": {"type": ["string", "null"]},
        "decided_by": {"anyOf": [ref("Person"), {"type": "null"}]},
        "note": {"type": ["string", "null"]},
    },
}
PROFILE = {
    "allOf": [
        ref("Person"),
        {
            "type": "object",
            "properties": {
                "bio_html": {"type": ["string", "null"]},
                "bio_hidden_reason": {"type": ["string", "null"]},
                "email": {"type": "string", "description": "Only for the person themself and site admins"},
                "verification_history": {
                    "type": "array",
                    "items": DECISION,
                    "description": "Requests, decisions and reviewers' notes, newest first: for the person "
                    "themself and site admins. Always empty for everyone else, who see only the badge.",
                },
            },
            "required": ["bio_html", "bio_hidden_reason", "verification_history"],
        },
    ]
}
OPENAPI_SCHEMAS = {"Token": TOKEN, "Institution": INSTITUTION, "Profile": PROFILE}
OPENAPI_PATHS = {
    "/tokens": {
        "post": op(
            "Create a personal access token with login and password (shown once)",
            status="201", response=ref("Token"), auth=False, errors=("401", "422"),
            body=body_schema({"login": {**TEXT, "description": "Username or email"}, "password": TEXT,
                              "name": {**TEXT, "description": "What will use it"}}),
        ),
        "get": op("My live tokens", errors=("401",)),
    },
    "/tokens/{token_id}": {
        "delete": op("Revoke one of my tokens", status="204", params=[path_param("token_id", "integer")],
                     errors=("401", "404")),
    },
    "/me": {
        "get": op("Who I am: my badge, email and profile", response=ref("Person"), errors=("401",)),
        "patch": op("Edit my profile (display_name, bio, role, institution, confirm_real_name, show_presence); "
                    "a bio goes through the PHI guard",
                    response=ref("Person"), errors=("401", "422"), body=body_schema(optional={
                        "display_name": TEXT, "bio": TEXT, "role": {"enum": [r.value for r in Role]},
                        "institution": {**TEXT, "description": "An institution's slug; empty for none"},
                        "confirm_real_name": BOOLEAN, "show_presence": BOOLEAN, "confirm_phi": PHI_CONFIRM},
                        description="Fields not sent (or null) keep their value")),
    },
    "/me/password": {
        "post": op("Change my password (ends all my sessions)", status="204", errors=("401", "422"),
                   body=body_schema({"current_password": TEXT, "new_password": TEXT})),
    },
    "/password/forgot": {
        "post": op("Ask for a password reset link (the same answer whether or not an account uses the address; "
                   "rate-limited per client and per address)", status="202", auth=False, errors=("422",),
                   body=body_schema({"email": TEXT})),
    },
    "/password/reset": {
        "post": op("Set a new password with the token of a reset link (ends every session, revokes API tokens)",
                   status="204", auth=False, errors=("404", "422"),
                   body=body_schema({"token": TEXT, "new_password": TEXT})),
    },
    "/email/confirm": {
        "post": op("Confirm an address with the token of a confirmation link", status="204", auth=False,
                   errors=("404", "422"), body=body_schema({"token": TEXT})),
    },
    "/email/change": {
        "post": op("Move an account to its new address with the token of the link sent there", status="204",
                   auth=False, errors=("404", "422"), body=body_schema({"token": TEXT})),
    },
    "/me/email": {
        "post": op("Ask to change my email address: a link goes to the new one, a notice to the old one",
                   status="202", errors=("401", "422"),
                   body=body_schema({"new_email": TEXT, "current_password": TEXT})),
    },
    "/me/email/confirmation": {
        "post": op("Send my confirmation link again ({\"sent\": false} when confirmed or sent too often)",
                   status="202", errors=("401",)),
    },
    "/me/verification": {
        "post": op("Submit verification evidence (licence, institutional email, ORCID iD)", status="201",
                   body=body_schema(optional=dict.fromkeys(VERIFICATION_FIELDS, TEXT)), errors=("401", "422")),
    },
    "/users/{username}": {
        "get": op("A member's profile and badge; their email and verification history only for themself and "
                  "site admins (no login needed)", response=ref("Profile"), auth=False,
                  params=[path_param("username")], errors=("404",)),
    },
    "/users/{username}/verification/revoke": {
        "post": op("Revoke a verification (site staff), with a reason the person and the history keep",
                   params=[path_param("username")], body=body_schema({"reason": TEXT}),
                   errors=("401", "404", "409", "422", "429")),
    },
    "/users/{username}/verifier": {
        "put": op("Appoint a verifier or end the appointment (site admins): {\"verifier\": true|false}",
                  params=[path_param("username")], body=body_schema({"verifier": BOOLEAN}),
                  errors=("401", "403", "404", "422", "429")),
    },
    "/institutions": {
        "get": op("All institutions", auth=False, errors=()),
        "post": op("Add an institution (site admins)", status="201", response=ref("Institution"),
                   body=body_schema({"slug": TEXT, "name": TEXT, "kind": {"enum": [k.value for k in InstitutionKind]}},
                                    {"city": TEXT, "country": TEXT}), errors=("401", "403", "422")),
    },
}  # fmt: skip
