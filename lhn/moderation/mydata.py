"""My data: download everything I wrote and my profile as JSON; delete my account (keep my posts as
"former member" or remove them). A registry over signals: every feature exports and erases its own data
(contract in lhn/signals.py); this module runs them, then deletes the account row.

Moderation's own part, receivers of the same signals: the flags a person raised, the sanctions they received and
their PHI confirmations in an export; on account deletion all three go and open review items about them close,
while the log lines they wrote as a moderator stay (the public record)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import joinedload

from lhn import signals
from lhn.accounts import mydata as accounts_data
from lhn.accounts import passwords
from lhn.accounts import services as accounts
from lhn.accounts.models import User
from lhn.database import iso_or_none, utcnow
from lhn.errors import ValidationFailed
from lhn.extensions import db
from lhn.moderation.models import Flag, PHIConfirmation, ReviewItem, ReviewStatus, Sanction
from lhn.moderation.services import audit

EXPORT_FORMAT = "lhn-export-1"
DELETE_MODES = {"keep": 'Keep what I wrote, shown as "Former member"', "remove": "Remove everything I wrote"}
# What the download holds, section by section, as the My data page lists it. A feature that adds a section to
# the export adds its line here (tests/moderation/test_my_data_page.py compares the two).
EXPORT_SECTIONS = {
    "profile": "your profile: email, display name, role, institution, bio, when you joined and last logged in",
    "verification_requests": "the verification requests you sent, with their evidence and the decisions",
    "api_tokens": "your API tokens (names and when they were used, never the secrets)",
    "memberships": "your memberships: communities, roles, the guidelines you accepted",
    "join_requests": "your requests to join restricted communities",
    "posts": "your questions, ideas, experiences and calls for collaborators",
    "revisions": "every revision of what you wrote",
    "answers": "your answers",
    "comments": "your comments",
    "votes": "your votes",
    "vettings": "the answers you vetted, with your evidence",
    "call_interests": "the calls for collaborators you said you were interested in",
    "pdsa_cycles": "the PDSA cycles you started on measures",
    "chart_notes": "the notes you added to measure charts",
    "phase_changes": "the phases you started on measure charts",
    "baseline_exclusions": "the points you left out of the baseline of measure charts, with your reasons",
    "data_submissions": "the measure values you submitted for your sites",
    "stratum_submissions": "the breakdowns by stratum (age band, ...) of the measure values you submitted",
    "driver_diagram_changes": "the changes you made to driver diagrams, each with the diagram as you left it",
    "learning_sessions_announced": "the learning sessions you announced",
    "learning_session_registrations": "the learning sessions you registered for, or waited for a place at",
    "storyboards": "the storyboards you wrote for your sites",
    "change_package_proposals": "the changes you proposed for change packages",
    "consents": "what you let your data serve, per community and purpose",
    "consent_record": "each change you made to those choices, and each use of your data they allowed",
    "questionnaire_responses": "your answers to questionnaires, with their scores (nobody else could read them)",
    "research_profiles": "your research profiles, which studies were matched against (nobody else could read them)",
    "study_contacts": "the studies you asked to contact you, with exactly what you shared with each",
    "studies_posted": "the research studies you posted, each as a FHIR ResearchStudy",
    "attachments": "the files you attached (their names, types and sizes; the files themselves are on their pages)",
    "chat_messages": "your chat messages",
    "chat_read_positions": "how far you have read in each chat channel",
    "notifications": "your notifications",
    "notification_settings": "how you chose to be told (per kind), your quiet hours and time zone",
    "follows": "what you follow: posts, measures, channels and communities",
    "flags": "the flags you raised and their outcomes",
    "sanctions": "warnings, mutes and suspensions you received",
    "phi_confirmations": "the times you confirmed publishing text that looked like it held an identifier",
}


# --- moderation's own data -------------------------------------------------------------------------------


@signals.export_requested.connect
def export_moderation(user: User, **_: Any) -> dict[str, Any]:
    flags = db.session.scalars(
        select(Flag).where(Flag.flagger_id == user.id).options(joinedload(Flag.item)).order_by(Flag.id)
    )
    sanctions = db.session.scalars(
        select(Sanction)
        .where(Sanction.user_id == user.id)
        .options(joinedload(Sanction.community))
        .order_by(Sanction.id)
    )
    confirmations = db.session.scalars(
        select(PHIConfirmation).where(PHIConfirmation.user_id == user.id).order_by(PHIConfirmation.id)
    )
    return {
        "flags": [
            {
                "target_type": f.item.target_type,
                "target_id": f.item.target_id,
                "reason": f.reason.value,
                "details": f.details,
                "created_at": iso_or_none(f.created_at),
                "outcome": f.outcome.value,
            }
            for f in flags
        ],
        "sanctions": [
            {
                "kind": s.kind.value,
                "community": s.community.slug if s.community else None,
                "reason": s.reason,
                "created_at": iso_or_none(s.created_at),
                "ends_at": iso_or_none(s.ends_at),
                "lifted_at": iso_or_none(s.lifted_at),
            }
            for s in sanctions
        ],
        "phi_confirmations": [
            {
                "kinds": c.kinds.split(","),
                "target_type": c.target_type,
                "target_id": c.target_id,
                "created_at": iso_or_none(c.created_at),
            }
            for c in confirmations
        ],
    }


@signals.account_erasing.connect
def erase_moderation(user: User, **_: Any) -> None:
    """Their flags, sanctions and PHI confirmations go; open items about them are closed. Moderation log
    lines they wrote as a moderator stay (public record) and show "former member"."""
    db.session.execute(delete(Flag).where(Flag.flagger_id == user.id))
    db.session.execute(delete(Sanction).where(Sanction.user_id == user.id))
    db.session.execute(delete(PHIConfirmation).where(PHIConfirmation.user_id == user.id))
    now = utcnow()
    db.session.execute(
        update(ReviewItem)
        .where(ReviewItem.subject_user_id == user.id, ReviewItem.status == ReviewStatus.OPEN)
        .values(
            status=ReviewStatus.RESOLVED,
            version=ReviewItem.version + 1,
            resolved_at=now,
            updated_at=now,
            resolution="account_deleted",
        )
        .execution_options(synchronize_session=False)
    )


# --- the services ------------------------------------------------------------------------------------------


def export_my_data(user: User) -> dict[str, Any]:
    """Everything `user` wrote and their profile, from every feature. Only for themself (the caller
    passes the signed-in user). Audited. Flushes."""
    data: dict[str, Any] = {"format": EXPORT_FORMAT, "generated_at": utcnow().isoformat(), "account_id": user.id}
    for receiver, sections in signals.export_requested.send(user):
        overlap = set(sections or {}) & set(data)
        if overlap:
            raise RuntimeError(f"export sections {sorted(overlap)} from {receiver!r} are already taken")
        data.update(sections or {})
    audit.record("data.export", actor=user, object_type="user", object_id=user.id, actor_role="self")
    return data


def delete_account(user: User, *, password: str, mode: str) -> None:
    """The member deletes their own account, confirming with their password. Every feature erases its
    data (`mode` "keep": what they wrote stays, by "Former member"; "remove": it is deleted), every session,
    token and socket ends, and no personal data is left; audit rows keep bare ids. Flushes.
    Raises ValidationFailed (wrong password, unknown mode, or a feature refused, e.g. sole owner)."""
    errors: dict[str, str] = {}
    if not passwords.verify_password(user.password_hash, password or ""):
        errors["password"] = "That is not your password."
    if mode not in DELETE_MODES:
        errors["mode"] = "Choose whether to keep or remove what you wrote."
    if errors:
        raise ValidationFailed(errors)
    audit.record("account.delete", actor=user, actor_role="self", object_type="user", object_id=user.id)
    former = accounts_data.former_member()
    accounts.invalidate_sessions(user)  # chat's receiver disconnects their sockets after commit
    signals.account_erasing.send(user, mode=mode, former=former)
    accounts_data.erase_account(user)  # the account row goes last, after every feature erased its data
