"""Clinician and researcher badges: evidence submitted, staff decisions and revocations, verifiers, operators."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select

from lhn import inputs, realtime, reminders, signals
from lhn.accounts import permissions
from lhn.accounts.models import User, VerificationRequest, VerificationStatus
from lhn.accounts.services.fields import check_email
from lhn.accounts.services.users import find_user
from lhn.database import utcnow
from lhn.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text

ORCID_RE = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")
FREE_MAIL_DOMAINS = frozenset(
    {"gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com", "icloud.com",
     "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "mail.com", "yandex.ru", "web.de"}
)  # fmt: skip


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
        institutional_email = check_email(institutional_email, errors, "institutional_email")
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
    realtime.emit_after_commit(realtime.EVENT_BADGE_CHANGED,
                               {"username": user.username, "verification": user.verification_state or None},
                               to=realtime.SITE_ROOM)  # fmt: skip


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


def send_verification_reminders(now: datetime) -> int:
    """Each verification request that has waited longer than REMINDER_REQUEST_HOURS reminds each member of the
    site staff (admins and verifiers, not suspended, never the applicant), once per request and person
    (lhn/reminders.py claims it). Flushes; returns how many people were reminded. Run by lhn/reminders.py's
    sweep."""
    hours = reminders.setting("REMINDER_REQUEST_HOURS")
    waiting = list(db.session.execute(
        select(VerificationRequest.id, VerificationRequest.user_id).where(
            VerificationRequest.status == VerificationStatus.PENDING,
            VerificationRequest.created_at <= now - timedelta(hours=hours))
    ))  # fmt: skip
    if not waiting:
        return 0
    staff = [u for u in db.session.scalars(select(User).where(or_(User.is_admin.is_(True), User.is_verifier.is_(True))))
             if not permissions.is_suspended(u, now)]  # fmt: skip
    keys = {f"verification request {rid} person {u.id}": (rid, u) for rid, applicant in waiting for u in staff
            if u.id != applicant}  # fmt: skip
    sent = 0
    for key in sorted(reminders.claim("reminder_verification_request", keys)):
        _request_id, person = keys[key]
        sent += reminders.remind("reminder_verification_request", [person], url="/verification",
                                 text=f"Reminder: a verification request has waited more than {hours} hours for a "
                                      "decision by site staff.")  # fmt: skip
    return sent
