"""Account rules: registration, login, passwords, profiles, verification evidence, API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from datetime import date, timedelta
from functools import cache
from importlib import resources

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from lhn import inputs, phi, signals
from lhn.accounts import passwords, permissions
from lhn.accounts.models import (
    ApiToken,
    Institution,
    InstitutionKind,
    Role,
    User,
    VerificationRequest,
    VerificationStatus,
)
from lhn.database import reading, utcnow
from lhn.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text, render_markdown

USERNAME_RE = re.compile(r"^[a-z][a-z0-9_]{2,29}$")
RESERVED_USERNAMES = frozenset(
    {"admin", "administrator", "moderator", "system", "support", "lhn", "root", "api", "me", "former_member"}
)
PASSWORD_MIN, PASSWORD_MAX = 8, 256
DISPLAY_NAME_MAX = 60
BIO_MAX = 2000
# Bidi overrides and zero-width characters can disguise a name; they are removed from display names.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
ORCID_RE = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")
FREE_MAIL_DOMAINS = frozenset(
    {"gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com", "icloud.com",
     "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "mail.com", "yandex.ru", "web.de"}
)  # fmt: skip
TOKEN_PREFIX = "lhn_"
REAL_NAME_WARNING = (
    "This looks like a full real name. Pseudonyms are welcome here; everyone in your communities "
    "will see this name. Tick the box to keep it anyway."
)


# --- field rules (shared by registration, profile edits and the CLI) --------------------------------


def normalize_username(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().lower()


def normalize_email(value: str) -> str:
    return value.strip().lower()


def clean_display_name(value: str) -> str:
    value = unicodedata.normalize("NFKC", clean_text(value))
    return " ".join(_INVISIBLE.sub("", value).split())


def looks_like_real_name(display_name: str) -> bool:
    """Two to four capitalised alphabetic words ("Jane Smith", "María José García")."""
    words = display_name.split()
    if not 2 <= len(words) <= 4:
        return False
    for word in words:
        letters = word.replace("-", "").replace("'", "").replace(".", "")
        if len(letters) < 2 or not letters.isalpha() or not word[0].isupper() or not word[1:].islower():
            return False
    return True


@cache
def _common_passwords() -> frozenset[str]:
    text = resources.files("lhn.accounts").joinpath("common_passwords.txt").read_text()
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def password_problem(password: str, *, username: str = "", email: str = "") -> str | None:
    if len(password) < PASSWORD_MIN:
        return f"Use at least {PASSWORD_MIN} characters."
    if len(password) > PASSWORD_MAX:
        return f"Use at most {PASSWORD_MAX} characters."
    lowered = password.lower()
    if lowered in _common_passwords():
        return "This password is too common; choose one that is harder to guess."
    if (username and lowered == username.lower()) or (email and lowered == email.lower()):
        return "Your password can't be your username or email."
    return None


def _check_email(value: str, errors: dict[str, str], field: str = "email") -> str:
    email = normalize_email(value)
    if not email:
        errors[field] = "Enter an email address."
        return email
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        errors[field] = str(exc)
    return email


def _check_display_name(value: str, errors: dict[str, str], *, confirm_real_name: bool) -> str:
    name = clean_display_name(value)
    if not name:
        errors["display_name"] = "Choose a display name (a pseudonym is fine)."
    elif len(name) > DISPLAY_NAME_MAX:
        errors["display_name"] = f"Use at most {DISPLAY_NAME_MAX} characters."
    elif looks_like_real_name(name) and not confirm_real_name:
        errors["display_name"] = REAL_NAME_WARNING
    return name


def _check_role(value: str | Role, errors: dict[str, str]) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        errors["role"] = "Choose one of: " + ", ".join(r.value for r in Role) + "."
        return None


def _check_institution(slug: str | None, errors: dict[str, str]) -> Institution | None:
    if not slug:
        return None
    institution = find_institution(slug)
    if institution is None:
        errors["institution"] = "Choose an institution from the list, or leave it empty."
    return institution


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
) -> User:
    """Create an account. Anyone may call it (the CLI passes is_admin for operators).

    Flushes. Raises ValidationFailed with a message per bad field; a display name that looks
    like a real name is refused until `confirm_real_name` is set.
    """
    errors: dict[str, str] = {}
    email = _check_email(email, errors)
    username = normalize_username(username)
    if not USERNAME_RE.match(username):
        errors["username"] = "Use 3–30 letters, digits or underscores, starting with a letter."
    elif username in RESERVED_USERNAMES and not is_admin:  # operators may take reserved names
        errors["username"] = "That username is reserved."
    name = _check_display_name(display_name, errors, confirm_real_name=confirm_real_name)
    checked_role = _check_role(role, errors)
    problem = password_problem(password, username=username, email=email)
    if problem:
        errors["password"] = problem
    chosen_institution = _check_institution(institution, errors)
    if "username" not in errors and find_user(username) is not None:
        errors["username"] = "That username is taken."
    if "email" not in errors and db.session.scalar(select(User.id).where(User.email == email)):
        # Registration can't be fully enumeration-proof without email confirmation; say it plainly.
        errors["email"] = "An account with this email already exists. Try logging in."
    if errors:
        raise ValidationFailed(errors)
    assert checked_role is not None  # noqa: S101 - errors would have been raised
    user = User(
        email=email,
        username=username,
        display_name=name,
        password_hash=passwords.hash_password(password),
        role=checked_role,
        institution=chosen_institution,
        is_admin=is_admin,
    )
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
    problem = password_problem(new_password, username=user.username, email=user.email)
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
        name = _check_display_name(
            display_name, errors, confirm_real_name=confirm_real_name or display_name == user.display_name
        )
        bio = clean_text(bio).strip()
        if len(bio) > BIO_MAX:
            errors["bio"] = f"Use at most {BIO_MAX} characters."
        new_role = _check_role(role, errors)
        chosen_institution = _check_institution(institution, errors)
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
    if findings:
        signals.phi_confirmed.send(user, kinds=phi.kinds(findings), target_type="user", target_id=user.id)
    return user


# --- lookups -------------------------------------------------------------------------------------


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == normalize_username(username)))


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


# --- institutions ----------------------------------------------------------------------------------


def list_institutions() -> list[Institution]:
    return list(db.session.scalars(select(Institution).order_by(Institution.name)))


def find_institution(slug: str) -> Institution | None:
    return db.session.scalar(select(Institution).where(Institution.slug == slug))


def create_institution(
    *, by: User | None, slug: str, name: str, kind: str, city: str = "", country: str = ""
) -> Institution:
    """Site admins (or the CLI, with by=None) add an institution. Raises ValidationFailed."""
    if by is not None and not by.is_admin:
        raise PermissionDenied("Only site admins add institutions.")
    errors: dict[str, str] = {}
    slug = slug.strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,79}", slug):
        errors["slug"] = "Use 2–80 lowercase letters, digits and hyphens."
    elif find_institution(slug):
        errors["slug"] = "That slug is taken."
    if not name.strip():
        errors["name"] = "Enter the institution's name."
    try:
        checked_kind = InstitutionKind(kind)
    except ValueError:
        errors["kind"] = "Choose one of: " + ", ".join(k.value for k in InstitutionKind) + "."
    if errors:
        raise ValidationFailed(errors)
    institution = Institution(
        slug=slug, name=name.strip()[:200], kind=checked_kind, city=city.strip(), country=country.strip()
    )
    db.session.add(institution)
    db.session.flush()
    return institution


# --- verification evidence ---------------------------------------------------------------------------


def orcid_is_valid(orcid: str) -> bool:
    """ORCID iD format and ISO 7064 MOD 11-2 check digit."""
    if not ORCID_RE.match(orcid):
        return False
    digits = orcid.replace("-", "")
    total = 0
    for char in digits[:-1]:
        total = (total + int(char)) * 2
    check = (12 - total % 11) % 11
    return digits[-1] == ("X" if check == 10 else str(check))


def submit_verification(
    user: User,
    *,
    licence_number: str = "",
    licence_issuer: str = "",
    institutional_email: str = "",
    orcid: str = "",
    statement: str = "",
) -> VerificationRequest:
    """A clinician or researcher submits evidence for review. Flushes. Raises ValidationFailed."""
    errors: dict[str, str] = {}
    if not user.role.needs_verification:
        errors[""] = "Only clinicians and researchers are verified."
    elif user.is_verified:
        errors[""] = "You are already verified."
    elif pending_verification(user) is not None:
        errors[""] = "Your earlier request is still waiting for a reviewer."
    licence_number, licence_issuer = licence_number.strip(), licence_issuer.strip()
    orcid = orcid.strip().upper().removeprefix("HTTPS://ORCID.ORG/")
    if bool(licence_number) != bool(licence_issuer):
        field = "licence_issuer" if licence_number else "licence_number"
        errors[field] = "Give both the licence number and the body that issued it."
    if institutional_email.strip():
        institutional_email = _check_email(institutional_email, errors, "institutional_email")
        domain = institutional_email.rpartition("@")[2]
        if "institutional_email" not in errors and domain in FREE_MAIL_DOMAINS:
            errors["institutional_email"] = "Use your institution's address, not a personal mailbox."
    if orcid and not orcid_is_valid(orcid):
        errors["orcid"] = "That is not a valid ORCID iD (format 0000-0000-0000-0000, check digit)."
    if not (licence_number or institutional_email or orcid):
        errors.setdefault("licence_number", "Give at least one piece of evidence.")
    if len(statement) > 2000:
        errors["statement"] = "Use at most 2000 characters."
    if errors:
        raise ValidationFailed(errors)
    request = VerificationRequest(
        user=user,
        role=user.role,
        licence_number=licence_number[:60],
        licence_issuer=licence_issuer[:160],
        institutional_email=institutional_email,
        orcid=orcid,
        statement=clean_text(statement).strip(),
    )
    db.session.add(request)
    db.session.flush()
    signals.verification_submitted.send(user, request=request)
    return request


def pending_verification(user: User) -> VerificationRequest | None:
    return db.session.scalar(
        select(VerificationRequest).where(
            VerificationRequest.user_id == user.id, VerificationRequest.status == VerificationStatus.PENDING
        )
    )


def list_verification_history(user: User, *, viewer: object) -> list[VerificationRequest]:
    """`user`'s verification requests, newest first, as `viewer` may see them: all of them for the person
    and site staff, none for anyone else (permissions.can_see_verification_history). Reads only."""
    if not permissions.can_see_verification_history(viewer, user):
        return []
    return list(
        db.session.scalars(
            select(VerificationRequest)
            .where(VerificationRequest.user_id == user.id)
            .order_by(VerificationRequest.id.desc())
        )
    )


def find_verification_request(request_id: int) -> VerificationRequest | None:
    return db.session.get(VerificationRequest, request_id)


def decide_verification(request_id: int, *, by: User, approve: bool, note: str,
                        expires_on: date | str | None = None) -> VerificationRequest:  # fmt: skip
    """Site staff (admins and appointed verifiers) approve or reject a pending request, with a note
    (required to reject) and, on approval, an optional last day (a licence's expiry).

    Flushes; sends signals.verification_decided. Raises NotFound (also when `by` is not staff: a
    request's existence is not public), Conflict (already decided), ValidationFailed.
    """
    request = find_verification_request(request_id)
    if request is None or not permissions.can_decide_verification(by, request.user_id):
        raise NotFound("No such verification request.")
    if request.status != VerificationStatus.PENDING:
        raise Conflict("This request was already decided.")
    errors: dict[str, str] = {}
    note = clean_text(note).strip()
    if not approve and not note:
        errors["note"] = "Say why, so the applicant knows what to provide."
    elif len(note) > 1000:
        errors["note"] = "Use at most 1000 characters."
    last_day = None
    if approve:
        try:
            last_day = inputs.future_date(expires_on, "expires_on", today=utcnow().date())
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    request.status = VerificationStatus.APPROVED if approve else VerificationStatus.REJECTED
    request.decided_by, request.decided_at, request.decision_note = by, utcnow(), note
    applicant = request.user
    if approve and applicant.role == request.role:
        request.expires_on = last_day
        applicant.verified_at, applicant.verified_until = request.decided_at, last_day
    db.session.flush()
    signals.verification_decided.send(applicant, request=request)
    announce_badge(applicant)
    return request


def revoke_verification(username: str, *, by: User, reason: str) -> VerificationRequest:
    """Site staff take a verification back, with a reason the person and the decision history keep. The
    badge drops at once everywhere (pages read it per request; open pages get `badge_changed`).

    Flushes; sends signals.verification_revoked. Raises NotFound (no such person, or `by` is not
    staff), Conflict (not verified), ValidationFailed (no reason).
    """
    user = find_user(username)
    if user is None or not permissions.can_decide_verification(by, user.id):
        raise NotFound("No such person.")
    request = db.session.scalar(
        select(VerificationRequest)
        .where(VerificationRequest.user_id == user.id, VerificationRequest.status == VerificationStatus.APPROVED,
               VerificationRequest.revoked_at.is_(None))
        .order_by(VerificationRequest.id.desc()).limit(1)
    )  # fmt: skip
    if user.verified_at is None or request is None:
        raise Conflict(f"{user.display_name} is not verified.")
    reason = " ".join(clean_text(reason or "").split())
    if not reason:
        raise ValidationFailed({"reason": "Say why: the person and the decision history see it."})
    if len(reason) > 500:
        raise ValidationFailed({"reason": "Use at most 500 characters."})
    request.revoked_at, request.revoked_by, request.revocation_reason = utcnow(), by, reason
    user.verified_at = user.verified_until = None
    db.session.flush()
    signals.verification_revoked.send(user, request=request)
    announce_badge(user)
    return request


def set_verifier(username: str, *, by: User, appoint: bool) -> User:
    """A site admin appoints a verifier (or ends the appointment). Flushes; sends signals.verifier_changed
    (the audit trail). Raises NotFound, PermissionDenied, ValidationFailed (a suspended person)."""
    if not permissions.can_appoint_verifiers(by):
        raise PermissionDenied("Only site admins appoint verifiers.")
    user = find_user(username)
    if user is None:
        raise NotFound("No such person.")
    if appoint and permissions.is_suspended(user):
        raise ValidationFailed({"verifier": f"{user.display_name} is suspended."})
    if user.is_verifier != appoint:
        user.is_verifier = appoint
        db.session.flush()
        signals.verifier_changed.send(user, by=by, appointed=appoint)
    return user


def announce_badge(user: User) -> None:
    """Open pages redraw this person's badge after commit (realtime.EVENT_BADGE_CHANGED, to every signed-in
    page): a verification granted or revoked, a suspension that suspends it or its end."""
    from lhn import realtime

    realtime.emit_after_commit(realtime.EVENT_BADGE_CHANGED,
                               {"username": user.username, "verification": user.verification_state or None},
                               to=realtime.SITE_ROOM)  # fmt: skip


# --- personal access tokens --------------------------------------------------------------------------


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, *, name: str) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the token, which is never shown again."""
    name = clean_text(name).strip()
    if not name or len(name) > 80:
        raise ValidationFailed({"name": "Name the token (up to 80 characters), e.g. 'my script'."})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=user, name=name, token_hash=_token_digest(token), hint=token[: len(TOKEN_PREFIX) + 6])
    db.session.add(row)
    db.session.flush()
    return row, token


def list_tokens(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)
        )
    )


def revoke_token(user: User, token_id: int) -> None:
    """A user revokes one of their own tokens. Raises NotFound for anyone else's."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        raise NotFound("No such token.")
    row.revoked_at = utcnow()
    db.session.flush()


TOKEN_USE_RESOLUTION = timedelta(hours=1)  # a token's "last used" time is noted at most this often


def find_token(token: str) -> ApiToken | None:
    """The live (not revoked) token row for a token string, or None. Reads only."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_digest(token)))
    return row if row is not None and row.revoked_at is None else None


def token_use_due(row: ApiToken) -> bool:
    """Whether record_token_use would note a new time (so callers open a write transaction only then)."""
    return row.last_used_at is None or utcnow() - row.last_used_at > TOKEN_USE_RESOLUTION


def record_token_use(row: ApiToken) -> None:
    """Note that the token was used now, at most once per TOKEN_USE_RESOLUTION. Flushes."""
    if token_use_due(row):
        row.last_used_at = utcnow()
        db.session.flush()


def verify_by_operator(user: User, *, note: str = "Verified by a site operator.") -> VerificationRequest:
    """Operators (CLI, demo data) verify a clinician or researcher directly; the decision is kept
    in the history like any other. Raises ValidationFailed for roles that are not verified."""
    if not user.role.needs_verification:
        raise ValidationFailed({"role": "Only clinicians and researchers are verified."})
    request = VerificationRequest(user=user, role=user.role, statement="(verified by an operator)")
    db.session.add(request)
    db.session.flush()
    request.status = VerificationStatus.APPROVED
    request.decided_at = utcnow()
    request.decision_note = note
    user.verified_at = request.decided_at
    db.session.flush()
    return request
