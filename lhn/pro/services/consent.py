"""Consent per purpose, per person, per community: quality-improvement aggregates, research studies, being
contacted about studies. Off until the person turns it on; changed at any time; every change (and, as features
use the data, every use) is written to the person's own record, which only they read. A withdrawal takes effect
in every later aggregate: `consenting` is what every aggregate asks."""

from __future__ import annotations

from sqlalchemy import select

from lhn import signals
from lhn.accounts.models import User
from lhn.communities import services as communities
from lhn.communities.models import Community
from lhn.database import utcnow
from lhn.errors import PermissionDenied
from lhn.extensions import db
from lhn.pro.models import ConsentEvent, Purpose, PurposeConsent
from lhn.pro.services import aggregates


def _check_member(user: User, community: Community) -> None:
    if communities.find_membership(user, community) is None:
        raise PermissionDenied("Join the community to choose what your data may serve there.")


def consents_of(community: Community, user: User) -> dict[Purpose, bool]:
    rows = db.session.scalars(select(PurposeConsent).where(PurposeConsent.user_id == user.id,
                                                           PurposeConsent.community_id == community.id))  # fmt: skip
    chosen = {row.purpose: row.granted for row in rows}
    return {purpose: chosen.get(purpose, False) for purpose in Purpose}


def set_consents(community: Community, user: User, choices: dict[Purpose, bool]) -> list[ConsentEvent]:
    """Record the person's choices; only changes are written (each with its event); a withdrawal sends
    signals.consent_withdrawn. Flushes. Raises
    PermissionDenied (not a member)."""
    _check_member(user, community)
    now, events = utcnow(), []
    current = {row.purpose: row for row in db.session.scalars(select(PurposeConsent).where(
        PurposeConsent.user_id == user.id, PurposeConsent.community_id == community.id))}  # fmt: skip
    for purpose, granted in choices.items():
        row = current.get(purpose)
        if (row.granted if row else False) == granted:
            continue
        if row is None:
            row = PurposeConsent(user_id=user.id, community_id=community.id, purpose=purpose)
            db.session.add(row)
        row.granted, row.updated_at = granted, now
        events.append(ConsentEvent(user_id=user.id, community_id=community.id, purpose=purpose,
                                   what="granted" if granted else "withdrawn", at=now))  # fmt: skip
    db.session.add_all(events)
    db.session.flush()
    if user.institution_id is not None and any(event.purpose == Purpose.QI_AGGREGATES for event in events):
        change = "count" if choices[Purpose.QI_AGGREGATES] else "no longer count"
        for measure in aggregates.measures_in(community.id):
            record_use(user.id, community.id, Purpose.QI_AGGREGATES,
                       f"Your answers {change} in the measure \"{measure.name}\" from its next period computed "
                       "(the ones computed before stay as they are)")  # fmt: skip
    for event in events:
        if event.what == "withdrawn":  # features that used the consent react (research revokes contacts)
            signals.consent_withdrawn.send(user, community_id=community.id, purpose=event.purpose)
    return events


def my_record(community: Community, user: User) -> list[ConsentEvent]:
    """The person's own record in this community, newest first."""
    return list(db.session.scalars(select(ConsentEvent).where(
        ConsentEvent.user_id == user.id, ConsentEvent.community_id == community.id).order_by(ConsentEvent.id.desc())))


def consenting(community_id: int, purpose: Purpose) -> set[int]:
    """The people whose data may serve `purpose` in the community now: what every aggregate asks first."""
    return set(db.session.scalars(select(PurposeConsent.user_id).where(
        PurposeConsent.community_id == community_id, PurposeConsent.purpose == purpose,
        PurposeConsent.granted.is_(True))))  # fmt: skip


def record_use(user_id: int, community_id: int, purpose: Purpose, what: str) -> ConsentEvent:
    """Write one use of a person's data to their own record ("where my data went"): what was shared or counted,
    with whom, in words they understand. Features call it in the same transaction as the use. Flushes."""
    event = ConsentEvent(user_id=user_id, community_id=community_id, purpose=purpose, what=what[:200], at=utcnow())
    db.session.add(event)
    db.session.flush()
    return event
