"""Answering an instrument: patients and caregivers of the community answer, save a draft and come back to it,
and finish; a finished response is scored and kept as a FHIR QuestionnaireResponse. A person's responses are
theirs alone: every read here is of the reader's own rows, so nobody else (owners, clinicians, admins) can open
them, and the FHIR Bundle of them is theirs to download."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fhir.resources.bundle import Bundle
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from lhn import phi
from lhn.accounts.models import Role, User
from lhn.communities import services as communities
from lhn.communities.models import Community
from lhn.database import find_one, reading, utcnow
from lhn.errors import PermissionDenied
from lhn.extensions import db
from lhn.pro import scoring
from lhn.pro.instruments import SAFETY_ITEMS
from lhn.pro.models import Instrument, ProResponse, Purpose, ResponseStatus
from lhn.pro.services import aggregates
from lhn.pro.services.consent import record_use
from lhn.pro.services.instruments import spec_of
from lhn.reminders import claim, remind

RESPONDERS = (Role.PATIENT, Role.CAREGIVER)


def responds_in(viewer: object, community: Community) -> bool:
    """Patients and caregivers who are members of the community answer its questionnaires."""
    return (isinstance(viewer, User) and viewer.role in RESPONDERS
            and communities.find_membership(viewer, community) is not None)  # fmt: skip


def may_respond(viewer: object, instrument: Instrument) -> bool:
    return responds_in(viewer, instrument.community)


def draft_of(instrument: Instrument, user: User) -> ProResponse | None:
    return find_one(ProResponse, instrument_id=instrument.id, user_id=user.id, status=ResponseStatus.DRAFT)


def save_answers(instrument: Instrument, answers: dict[str, str], *, by: User, complete: bool,
                 now: datetime | None = None, confirm_phi: bool = False) -> ProResponse:  # fmt: skip
    """Save `by`'s answers: a draft to come back to, or (`complete`) a finished response, scored. Free-text
    answers pass the PHI guard (scanned outside the write lock), as everything people write does. Flushes.
    Raises PermissionDenied, ValidationFailed (an unknown answer; a question left out of a finished one;
    PHIConfirmationRequired)."""
    with reading():
        if not may_respond(by, instrument):
            raise PermissionDenied("Patients and caregivers of the community answer its questionnaires.")
        spec = spec_of(instrument)
        kept = scoring.check_answers(spec, answers, complete=complete)
        texts = {f"item-{i.link_id}": kept[i.link_id] for i in spec.items if i.free_text and i.link_id in kept}
        draft = draft_of(instrument, by)
        previous = "\n".join((draft.answers or {}).values()) if draft else ""
        findings = phi.check_texts(texts, confirm_phi, previous=previous)
    response = draft_of(instrument, by)
    if response is None:
        response = ProResponse(instrument_id=instrument.id, user_id=by.id, status=ResponseStatus.DRAFT, answers={})
        db.session.add(response)
    response.answers = kept
    if complete:
        result, moment = scoring.score(spec, kept), now or utcnow()
        db.session.flush()  # its id names the resource
        response.status, response.total, response.band, response.completed_at = (
            ResponseStatus.COMPLETED, result.total, result.band, moment)
        response.subscores = result.subscales
        response.resource = scoring.response_resource(spec, kept, authored=moment.isoformat(),
                                                      response_id=response.id)  # fmt: skip
    db.session.flush()
    phi.record_confirmed(findings, by=by, target_type="pro_response", target_id=response.id,
                         community_id=instrument.community_id)  # fmt: skip
    if complete and aggregates.counts_in(by.id, instrument.community_id):
        for measure in aggregates.measures_in(instrument.community_id, instrument):
            record_use(by.id, instrument.community_id, Purpose.QI_AGGREGATES,
                       f"Your answer of {response.completed_at:%d %b %Y} will count in the measure \"{measure.name}\" "
                       "when its period ends (your site's total; counts of 1 to 10 hidden)")  # fmt: skip
    return response


def needs_safety_message(instrument: Instrument, response: ProResponse) -> bool:
    """An answer weighing more than "not at all" to a question about self-harm (PHQ-9 item 9), whatever the
    total."""
    items = SAFETY_ITEMS.get(instrument.code, set())
    if not items:
        return False
    weights = {(i.link_id, o.code): o.weight for i in spec_of(instrument).items for o in i.options}
    return any(weights.get((link_id, response.answers.get(link_id, "")), 0) > 0 for link_id in items)


def history(instrument: Instrument, user: User) -> list[ProResponse]:
    """The person's finished responses to the instrument, oldest first."""
    stmt = select(ProResponse).where(ProResponse.instrument_id == instrument.id, ProResponse.user_id == user.id,
                                     ProResponse.status == ResponseStatus.COMPLETED)  # fmt: skip
    return list(db.session.scalars(stmt.order_by(ProResponse.completed_at, ProResponse.id)))


@dataclass
class MyInstrument:
    instrument: Instrument
    last: ProResponse | None
    has_draft: bool
    due: bool  # a schedule, and its time has come since the last response


def my_instruments(instruments: list[Instrument], user: object, *, now: datetime | None = None) -> list[MyInstrument]:
    """Each instrument with the reader's last response, draft and whether one is due (two queries)."""
    if not isinstance(user, User) or not instruments:
        return [MyInstrument(i, None, False, False) for i in instruments]
    rows = db.session.scalars(select(ProResponse).where(
        ProResponse.user_id == user.id, ProResponse.instrument_id.in_([i.id for i in instruments]))
        .order_by(ProResponse.completed_at, ProResponse.id)).all()  # fmt: skip
    now = now or utcnow()
    found = []
    for instrument in instruments:
        mine = [r for r in rows if r.instrument_id == instrument.id]
        done = [r for r in mine if r.status == ResponseStatus.COMPLETED]
        last = done[-1] if done else None
        due = bool(instrument.schedule_days and last and last.completed_at
                   and (now - last.completed_at).days >= instrument.schedule_days)  # fmt: skip
        found.append(MyInstrument(instrument, last, any(r.status == ResponseStatus.DRAFT for r in mine), due))
    return found


def my_bundle(user: User) -> dict[str, Any]:
    """Every finished response of the person, as a FHIR R5 Bundle (collection), validated."""
    rows = db.session.scalars(select(ProResponse).where(
        ProResponse.user_id == user.id, ProResponse.status == ResponseStatus.COMPLETED).order_by(ProResponse.id))
    entries = [{"fullUrl": f"urn:lhn:pro-response:{r.id}", "resource": r.resource} for r in rows if r.resource]
    bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": utcnow().isoformat(), "entry": entries}
    Bundle.model_validate(bundle)
    return bundle


REMIND_KIND = "reminder_questionnaire_due"


def send_due_reminders(now: datetime) -> int:
    """Each person whose last answer to a scheduled instrument is as old as its schedule, once per answer: the
    key names the answer it follows, so the next reminder waits for the next answer. The text names no
    instrument (a title like "PHQ-9: depression" is health information, and reminders may go by email)."""
    last = (select(ProResponse.instrument_id, ProResponse.user_id, func.max(ProResponse.id).label("response_id"))
            .where(ProResponse.status == ResponseStatus.COMPLETED)
            .group_by(ProResponse.instrument_id, ProResponse.user_id).subquery())  # fmt: skip
    rows = db.session.execute(
        select(ProResponse, Instrument).join(last, last.c.response_id == ProResponse.id)
        .join(Instrument, Instrument.id == ProResponse.instrument_id)
        .where(Instrument.active.is_(True), Instrument.schedule_days.is_not(None))
        .options(joinedload(ProResponse.user))
    ).all()  # fmt: skip
    due = [(r, i) for r, i in rows if r.completed_at and (now - r.completed_at).days >= (i.schedule_days or 0)
           and may_respond(r.user, i)]  # not someone who left the community since
    keys = {f"instrument {i.id}, after response {r.id}": (r, i) for r, i in due}
    sent = 0
    for key in sorted(claim(REMIND_KIND, keys)):
        response, instrument = keys[key]
        sent += remind(REMIND_KIND, [response.user], community_id=instrument.community_id,
                       text="A questionnaire you answer regularly is due: answer it when you can.",
                       url=f"/questionnaires/{instrument.id}")  # fmt: skip
    return sent
