"""My data for patient-reported outcomes: every answer a person gave (drafts too) in their export, each finished
one with its FHIR QuestionnaireResponse, and their consents with their record; on account deletion they go,
whichever mode: they were never shared.

Receivers of signals.export_requested / account_erasing (contract in lhn/signals.py), connected when the app
factory (lhn/__init__.py) imports this module."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from lhn import signals
from lhn.accounts.models import User
from lhn.database import iso_or_none
from lhn.extensions import db
from lhn.pro.models import ConsentEvent, ProResponse, PurposeConsent


@signals.export_requested.connect
def export_responses(user: User, **_: Any) -> dict[str, Any]:
    rows = db.session.scalars(select(ProResponse).where(ProResponse.user_id == user.id)
                              .options(joinedload(ProResponse.instrument)).order_by(ProResponse.id))  # fmt: skip
    consents = db.session.scalars(select(PurposeConsent).where(PurposeConsent.user_id == user.id)
                                  .order_by(PurposeConsent.id))  # fmt: skip
    events = db.session.scalars(select(ConsentEvent).where(ConsentEvent.user_id == user.id).order_by(ConsentEvent.id))
    return {"consents": [
        {"community_id": c.community_id, "purpose": c.purpose.value, "granted": c.granted,
         "since": iso_or_none(c.updated_at)} for c in consents
    ], "consent_record": [
        {"community_id": e.community_id, "purpose": e.purpose.value, "what": e.what, "at": iso_or_none(e.at)}
        for e in events
    ], "questionnaire_responses": [
        {"questionnaire": r.instrument.title, "status": r.status.value, "answers": r.answers, "total": r.total,
         "band": r.band, "completed_at": iso_or_none(r.completed_at), "fhir": r.resource}
        for r in rows
    ]}  # fmt: skip


@signals.account_erasing.connect
def erase_responses(user: User, **_: Any) -> None:
    """Their answers go, so no period computed afterwards counts them. Values computed before stay: each is an
    aggregate of a site's people, and recomputing it would tell, by the difference, what their answers were."""
    for model in (ProResponse, PurposeConsent, ConsentEvent):
        db.session.execute(delete(model).where(model.user_id == user.id).execution_options(synchronize_session=False))
