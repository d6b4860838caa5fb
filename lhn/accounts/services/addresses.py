"""Email addresses, and what they recover: sign-up that never says whether an address has an account, confirming
an address, password reset, and moving an account to a new address. Every link is a signed, expiring, single-use
token (links.py); every email is queued in the caller's transaction (lhn.mail) and holds no health details.

What an unconfirmed address gets: account mail only (confirmation, password reset, security notices); features
that email people check permissions.can_receive_email first. The account itself works as any other."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template
from sqlalchemy import update

from lhn.accounts import passwords, permissions
from lhn.accounts.models import ApiToken, Role, User
from lhn.accounts.services import fields, links
from lhn.accounts.services.users import check_registration, create_user, find_user_by_email, invalidate_sessions
from lhn.database import utcnow
from lhn.errors import ValidationFailed
from lhn.extensions import db
from lhn.limits import spend
from lhn.mail import absolute_url, queue_email


def _account_mail_allowed(user: User) -> bool:
    """ACCOUNT_MAIL_LIMIT per account, whoever asks: reset links, confirmation links and "someone tried to
    register" notices together. Over it nothing is sent and nothing shows (a refusal would say the account
    exists)."""
    return spend(current_app.config["ACCOUNT_MAIL_LIMIT"], "account-mail", str(user.id))


def _send(kind: str, to: str, subject: str, **context: Any) -> None:
    text = render_template(f"mail/{kind}.txt", site="LHN", **context)
    queue_email(to=to, subject=subject, text=text, kind=kind)


def masked(email: str) -> str:
    """Like "r***@example.org": enough for the owner to recognise, not enough to read off a forwarded email. Pure."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


# --- registration ------------------------------------------------------------------------------------------


def sign_up(*, email: str, username: str, display_name: str, password: str, role: str | Role,
            institution: str | None = None, confirm_real_name: bool = False) -> User | None:  # fmt: skip
    """Register someone, saying nothing about whether the address has an account. Anyone may call it.

    A new address: the account is created (unconfirmed) and a confirmation link is sent to it. An address that
    has an account: nothing is created, the hashing a new account costs is spent all the same, and the owner gets
    an email saying someone tried (with a reset link); the caller answers exactly as for a new account.
    Returns the new account, or None. Raises ValidationFailed for bad fields (a taken username too: usernames
    are public)."""
    errors: dict[str, str] = {}
    values = check_registration(email=email, username=username, display_name=display_name, password=password,
                                role=role, institution=institution, confirm_real_name=confirm_real_name,
                                is_admin=False, errors=errors)  # fmt: skip
    if errors:
        raise ValidationFailed(errors)
    owner = find_user_by_email(values["email"])
    if owner is not None:
        passwords.burn_time(password)
        if _account_mail_allowed(owner):
            _send("registration_attempt", owner.email, "Someone tried to register with your address",
                  user=owner, reset_url=absolute_url("accounts.forgot_password"))  # fmt: skip
        return None
    user = create_user(values, password=password)
    send_confirmation(user)
    return user


# --- confirming an address ---------------------------------------------------------------------------------


def send_confirmation(user: User) -> bool:
    """Email `user` a link confirming their address (the banner's "send again" too). Whether one was queued:
    not for a confirmed address, nor over the account's mail allowance. Flushes."""
    if user.email_confirmed_at is not None or not _account_mail_allowed(user):
        return False
    token = links.make_link_token(user, links.CONFIRM)
    _send("confirm_email", user.email, "Confirm your email address for LHN", user=user,
          url=absolute_url("accounts.confirm_email", token=token), hours=_hours(links.CONFIRM))  # fmt: skip
    return True


def confirm_email(token: str) -> tuple[User, bool]:
    """Confirm the address a link was sent to. Anyone holding the link may (it proves the mailbox). Returns the
    account and whether this confirmation may log the person in: only a new account's first (registration
    doesn't log in, so that it answers the same for a taken address), never one that has logged in before, nor a
    suspended one; it is then noted as a login. Flushes. Raises NotFound (links.EXPIRED) for a bad, expired or
    used link."""
    user, _ = links.get_link(token, links.CONFIRM)
    now = utcnow()
    user.email_confirmed_at = now
    first_login = user.last_login_at is None and not permissions.is_suspended(user)
    if first_login:
        user.last_login_at = now
    db.session.flush()
    return user, first_login


# --- password reset ----------------------------------------------------------------------------------------


def request_password_reset(email: str) -> None:
    """Email a reset link to the account using `email`, if there is one (and it has mail allowance left); the
    caller answers the same whatever happened. Anyone may call it. Flushes."""
    user = find_user_by_email(email) if "@" in email else None
    if user is None or user.is_former_member or not _account_mail_allowed(user):
        return
    token = links.make_link_token(user, links.RESET)
    _send("password_reset", user.email, "Reset your LHN password", user=user,
          url=absolute_url("accounts.reset_password", token=token), hours=_hours(links.RESET))  # fmt: skip


def reset_password(token: str, *, new_password: str) -> User:
    """Set a new password through a reset link (anyone holding it: it proves the mailbox). Same rules as at
    registration. Ends every session of the account, revokes its API tokens (a reset is how a taken-over account
    is recovered, and a token the taker made must stop too), confirms the address (the link reached it) and emails
    a notice. The link then dies (it was bound to the old password). Flushes. Raises NotFound (links.EXPIRED),
    ValidationFailed ("new_password")."""
    user, _ = links.get_link(token, links.RESET)
    problem = fields.password_problem(new_password, username=user.username, email=user.email)
    if problem:
        raise ValidationFailed({"new_password": problem})
    user.password_hash = passwords.hash_password(new_password)
    user.email_confirmed_at = user.email_confirmed_at or utcnow()
    now = utcnow()
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=now))  # fmt: skip
    invalidate_sessions(user)
    _send("password_changed", user.email, "Your LHN password was changed", user=user,
          reset_url=absolute_url("accounts.forgot_password"))  # fmt: skip
    return user


# --- changing address --------------------------------------------------------------------------------------


def request_email_change(user: User, *, new_email: str, current_password: str) -> None:
    """The person asks to move their account to `new_email`: a link goes to the new address and nothing changes
    until it is opened; the old address is told. An address another account uses gets a notice instead of a
    link (the answer to the person is the same). Flushes. Raises ValidationFailed ("current_password",
    "new_email")."""
    errors: dict[str, str] = {}
    if not passwords.verify_password(user.password_hash, current_password):
        errors["current_password"] = "That is not your current password."
    new = fields.check_email(new_email, errors, field="new_email")
    if "new_email" not in errors and new == user.email:
        errors["new_email"] = "That is already your address."
    if errors:
        raise ValidationFailed(errors)
    if find_user_by_email(new) is not None:
        _send("email_change_taken", new, "Someone asked to use this address on LHN")
    else:
        token = links.make_link_token(user, links.CHANGE_EMAIL, e=new)
        _send("email_change", new, "Confirm your new email address for LHN", user=user,
              url=absolute_url("accounts.change_email", token=token), hours=_hours(links.CHANGE_EMAIL))  # fmt: skip
    _send("email_change_requested", user.email, "A change of your LHN email address was asked for", user=user,
          new=masked(new), password_url=absolute_url("accounts.change_password"))  # fmt: skip


def change_email(token: str) -> User:
    """Move the account to the address the link was sent to (anyone holding the link: it proves the new
    mailbox), confirmed; the old address is told. Flushes. Raises NotFound (links.EXPIRED), ValidationFailed
    when another account took the address meanwhile."""
    user, extra = links.get_link(token, links.CHANGE_EMAIL)
    new = str(extra.get("e", ""))
    if find_user_by_email(new) is not None:
        raise ValidationFailed({"email": "Another account uses that address now, so yours was not changed."})
    old, user.email, user.email_confirmed_at = user.email, new, utcnow()
    db.session.flush()
    _send("email_changed", old, "Your LHN email address was changed", user=user, new=masked(new))
    return user


def _hours(purpose: str) -> int:
    return max(1, int(links.MAX_AGE[purpose].total_seconds() // 3600))
