"""The instruments a community offers: one LHN ships (PHQ-9, GAD-7, the demo's IBD check-in) or a FHIR R5
Questionnaire its owners import, read and checked before anything is stored (lhn/pro/scoring.py)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from lhn.accounts.models import User
from lhn.communities import services as communities
from lhn.communities.models import Community
from lhn.communities.permissions import can_manage, can_read
from lhn.database import find_one, reading
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.pro import scoring
from lhn.pro.instruments import SHIPPED
from lhn.pro.models import Instrument

DENIED = "Questionnaires are offered by the community's owners."
MAX_SCHEDULE_DAYS = 366


def may_offer(viewer: object, community: Community) -> bool:
    return can_manage(viewer, community, communities.find_membership(viewer, community))


def _schedule(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= MAX_SCHEDULE_DAYS:
        raise ValidationFailed({"schedule_days": f"Every 1 to {MAX_SCHEDULE_DAYS} days, or no schedule."})
    return value


def _add(community: Community, code: str, resource: dict[str, Any], spec: scoring.Spec, schedule_days: int | None,
         by: User) -> Instrument:  # fmt: skip
    if not may_offer(by, community):
        raise PermissionDenied(DENIED)
    if find_one(Instrument, community_id=community.id, code=code) is not None:
        raise ValidationFailed({"code": "This community offers that questionnaire already."})
    instrument = Instrument(community_id=community.id, code=code, title=spec.title, questionnaire=resource,
                            schedule_days=schedule_days, created_by_id=by.id)  # fmt: skip
    db.session.add(instrument)
    db.session.flush()
    return instrument


def offer_shipped(community: Community, code: str, *, schedule_days: int | None, by: User) -> Instrument:
    """An owner offers one of the instruments LHN ships. Raises PermissionDenied, ValidationFailed."""
    if code not in SHIPPED:
        raise ValidationFailed({"code": f"Choose one of: {', '.join(SHIPPED)}."})
    resource = SHIPPED[code]
    return _add(community, code, resource, scoring.read_questionnaire(resource), _schedule(schedule_days), by)


def import_questionnaire(community: Community, text: str, *, schedule_days: int | None, by: User) -> Instrument:
    """An owner imports a FHIR R5 Questionnaire (JSON), parsed and checked outside the write lock."""
    with reading():
        if not may_offer(by, community):
            raise PermissionDenied(DENIED)
        resource, spec = scoring.parse_questionnaire(text)
    code = re.sub(r"[^a-z0-9]+", "-", str(resource.get("name") or spec.title).lower()).strip("-")[:60] or "instrument"
    return _add(community, code, resource, spec, _schedule(schedule_days), by)


def list_instruments(community: Community) -> list[Instrument]:
    return list(db.session.scalars(select(Instrument).where(Instrument.community_id == community.id,
                                                            Instrument.active.is_(True)).order_by(Instrument.title)))


def get_instrument(instrument_id: int, *, viewer: object) -> Instrument:
    """An instrument of a community `viewer` may read. Raises NotFound."""
    instrument = db.session.get(Instrument, instrument_id)
    if instrument is None or not can_read(viewer, instrument.community,
                                          communities.find_membership(viewer, instrument.community)):  # fmt: skip
        raise NotFound("No such questionnaire.")
    return instrument


def spec_of(instrument: Instrument) -> scoring.Spec:
    """The stored instrument, read without validating it again (it was, when offered)."""
    return scoring.read_questionnaire(instrument.questionnaire, validated=True)
