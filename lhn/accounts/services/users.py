"""People's accounts: registration, login and sessions, passwords, profile edits, lookups by username."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from lhn import phi, signals
from lhn.accounts import passwords, permissions
from lhn.accounts.models import Role, User
from lhn.accounts.services import fields
from lhn.database import reading, utcnow
from lhn.errors import NotFound, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text, render_markdown

# --- registration and login --------------------------------------------------------------------------


def register_user(
    *,
    email: str,
    username: str,
    display_name: str,
    password: str,
    role: str | Role,
    institution: str | None = None,
    confirm_real_name: bool = False,
    is_admin: bool = False,
    email_confirmed: bool = False,
) -> User:
    """Create an account (operators, the CLI, the demo: people register through addresses.sign_up, which never
    says whether an address is taken). The CLI passes is_admin for operators, and `email_confirmed` when the
    operator vouches for the address (the CLI, the demo's made-up people).

    Flushes. Raises ValidationFailed with a message per bad field, a taken address included; a display name that
    looks like a real name is refused until `confirm_real_name` is set.
    """
    errors: dict[str, str] = {}
    values = check_registration(email=email, username=username, display_name=display_name, password=password,
                                role=role, institution=institution, confirm_real_name=confirm_real_name,
                                is_admin=is_admin, errors=errors)  # fmt: skip
    if "email" not in errors and find_user_by_email(values["email"]) is not None:
        errors["email"] = "An account with this email already exists."
    if errors:
        raise ValidationFailed(errors)
    user = create_user(values, password=password, is_admin=is_admin)
    if email_confirmed:
        user.email_confirmed_at = utcnow()
    return user


def check_registration(*, email: str, username: str, display_name: str, password: str, role: str | Role,
                       institution: str | None, confirm_real_name: bool, is_admin: bool,
                       errors: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    """Every rule of a new account but whether its address is taken: the cleaned values, problems in `errors`
    (a taken username among them: usernames are public)."""
    email = fields.check_email(email, errors)
    username = fields.normalize_username(username)
    if not fields.USERNAME_RE.match(username):
        errors["username"] = "Use 3–30 letters, digits or underscores, starting with a letter."
    elif username in fields.RESERVED_USERNAMES and not is_admin:  # operators may take reserved names
        errors["username"] = "That username is reserved."
    name = fields.check_display_name(display_name, errors, confirm_real_name=confirm_real_name)
    checked_role = fields.check_role(role, errors)
    problem = fields.password_problem(password, username=username, email=email)
    if problem:
        errors["password"] = problem
    chosen_institution = fields.check_institution(institution, errors)
    if "username" not in errors and find_user(username) is not None:
        errors["username"] = "That username is taken."
    return {"email": email, "username": username, "display_name": name, "role": checked_role,
            "institution": chosen_institution}  # fmt: skip


def create_user(values: dict[str, Any], *, password: str, is_admin: bool = False) -> User:
    """The account for values check_registration accepted. Flushes."""
    user = User(**values, password_hash=passwords.hash_password(password), is_admin=is_admin)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(login: str, password: str) -> User | None:
    """Return the user for a username-or-email and password, or None. Same cost either way.

    Flushes an upgraded hash when the stored one is legacy or weaker than today's settings.
    """
    login = login.strip().lower()
    user = db.session.scalar(select(User).where((User.username == login) | (User.email == login)))
    if user is None:
        passwords.burn_time(password)
        return None
    if not passwords.verify_password(user.password_hash, password):
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = utcnow()
    db.session.flush()
    return user


def invalidate_sessions(user: User) -> None:
    """End every session and remember-me cookie of `user`, and (after commit) their sockets."""
    user.session_version += 1
    db.session.flush()
    signals.sessions_invalidated.send(user)


def change_password(user: User, *, current_password: str, new_password: str) -> None:
    """The user changes their own password. Invalidates all their sessions. Raises ValidationFailed."""
    errors: dict[str, str] = {}
    if not passwords.verify_password(user.password_hash, current_password):
        errors["current_password"] = "That is not your current password."
    problem = fields.password_problem(new_password, username=user.username, email=user.email)
    if problem:
        errors["new_password"] = problem
    if errors:
        raise ValidationFailed(errors)
    user.password_hash = passwords.hash_password(new_password)
    invalidate_sessions(user)


def update_profile(
    user: User,
    *,
    display_name: str,
    bio: str,
    role: str | Role,
    institution: str | None,
    confirm_real_name: bool = False,
    show_presence: bool | None = None,
    confirm_phi: bool = False,
) -> User:
    """The user edits their own profile. Changing role drops a verification. Raises ValidationFailed
    (phi.PHIConfirmationRequired when a changed bio may hold identifiers and `confirm_phi` is false; a confirmed
    one is recorded with signals.phi_confirmed, never its text).

    `show_presence` (None = unchanged) is the chat "who is online" opt-out; it applies from the
    next connection."""
    with reading():  # checks and the bio's Markdown, before the write transaction
        errors: dict[str, str] = {}
        name = fields.check_display_name(
            display_name, errors, confirm_real_name=confirm_real_name or display_name == user.display_name
        )
        bio = clean_text(bio).strip()
        if len(bio) > fields.BIO_MAX:
            errors["bio"] = f"Use at most {fields.BIO_MAX} characters."
        new_role = fields.check_role(role, errors)
        chosen_institution = fields.check_institution(institution, errors)
        if errors:
            raise ValidationFailed(errors)
        findings = phi.check_texts({"bio": bio}, confirm_phi, previous=user.bio) if bio != user.bio else []
        bio_html = (str(render_markdown(bio, field="bio")) if bio else "") if bio != user.bio else user.bio_html
    assert new_role is not None  # noqa: S101
    if new_role != user.role:
        user.role = new_role
        user.verified_at = None  # a verification vouches for one role only
    user.display_name = name
    user.bio, user.bio_html = bio, bio_html
    user.institution = chosen_institution
    if show_presence is not None:
        user.show_presence = bool(show_presence)
    db.session.flush()
    phi.record_confirmed(findings, by=user, target_type="user", target_id=user.id)
    return user


# --- lookups -------------------------------------------------------------------------------------


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == fields.normalize_username(username)))


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == fields.normalize_email(email)))


def get_user(username: str) -> User:
    user = find_user(username)
    if user is None:
        raise NotFound("No such member.")
    return user


def load_user_for_session(session_id: str) -> User | None:
    """Flask-Login's loader: '<id>:<session_version>', so bumped versions end old sessions."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version) or permissions.is_suspended(user):
        return None
    return user
