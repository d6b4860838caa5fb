"""My data for the improvement programme: the driver diagram changes a person made, the learning sessions they
announced or registered for, the storyboards they wrote and the changes they proposed for the change package, in an
export. On account deletion their registrations go; what they wrote for the network (diagram changes, sessions,
storyboards, proposals and decisions) passes to "Former member".

Receivers of signals.export_requested / account_erasing (contract in lhn/signals.py), connected when the app
factory (lhn/__init__.py) imports this module.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from lhn import signals
from lhn.accounts.models import User
from lhn.database import iso_or_none, reassign_rows
from lhn.extensions import db
from lhn.programme.models import (
    DiagramVersion,
    DriverDiagram,
    LearningSession,
    PackageEntry,
    PackageVersion,
    SessionRegistration,
    Storyboard,
)


@signals.export_requested.connect
def export_programme(user: User, **_: Any) -> dict[str, Any]:
    """Each change they made to a driver diagram: which, when, what in words and the diagram after it."""
    versions = db.session.scalars(
        select(DiagramVersion).where(DiagramVersion.created_by_id == user.id).order_by(DiagramVersion.id)
    )
    registrations = db.session.execute(
        select(SessionRegistration, LearningSession)
        .join(LearningSession, LearningSession.id == SessionRegistration.session_id)
        .where(SessionRegistration.user_id == user.id)
        .order_by(SessionRegistration.id)
    ).all()
    announced = db.session.scalars(
        select(LearningSession).where(LearningSession.created_by_id == user.id).order_by(LearningSession.id)
    )
    storyboards = db.session.scalars(
        select(Storyboard).where(Storyboard.created_by_id == user.id).options(joinedload(Storyboard.institution))
        .order_by(Storyboard.id)
    )  # fmt: skip
    proposals = db.session.scalars(
        select(PackageEntry).where(PackageEntry.proposed_by_id == user.id).order_by(PackageEntry.id)
    )
    return {
        "change_package_proposals": [
            {"id": e.id, "idea_id": e.idea_id, "title": e.title, "summary": e.summary, "status": e.status.value,
             "at": iso_or_none(e.created_at)}
            for e in proposals
        ],
        "driver_diagram_changes": [
            {"diagram_id": v.diagram_id, "version": v.number, "at": iso_or_none(v.created_at), "summary": v.summary,
             "diagram": v.snapshot}
            for v in versions
        ],
        "learning_sessions_announced": [
            {"id": s.id, "title": s.title, "starts_at": iso_or_none(s.starts_at), "ends_at": iso_or_none(s.ends_at),
             "time_zone": s.time_zone, "location": s.location, "agenda": s.agenda}
            for s in announced
        ],
        "learning_session_registrations": [
            {"session_id": s.id, "title": s.title, "starts_at": iso_or_none(s.starts_at), "status": r.status.value,
             "at": iso_or_none(r.created_at)}
            for r, s in registrations
        ],
        "storyboards": [
            {"session_id": b.session_id, "site": b.institution.slug, "aim": b.aim, "measure_ids": b.measure_ids,
             "changes": b.changes, "learned": b.learned, "notes": b.notes}
            for b in storyboards
        ],
    }  # fmt: skip


@signals.account_erasing.connect
def erase_programme(user: User, *, mode: str, former: User, **_: Any) -> None:
    """Their registrations go (whether they come is theirs). Either way, the diagrams they started and changed, the
    sessions they announced, the storyboards they wrote and the change package's proposals and decisions stay, by
    "Former member": the network's theory of change, its events and its sites' record, like a measure's change
    log."""
    db.session.execute(delete(SessionRegistration).where(SessionRegistration.user_id == user.id)
                       .execution_options(synchronize_session=False))  # fmt: skip
    columns = (DiagramVersion.created_by_id, DriverDiagram.created_by_id, LearningSession.created_by_id,
               Storyboard.created_by_id, PackageEntry.proposed_by_id, PackageEntry.decided_by_id,
               PackageVersion.created_by_id)  # fmt: skip
    reassign_rows(columns, user.id, former.id)
    db.session.expire_all()
