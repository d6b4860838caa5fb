"""Storyboards: each site's one-page summary for a learning session (its aim, the measures whose charts it shows,
the changes it tested, what it learned), written by the site's team before the session ends, browsable by the
community during it and kept afterwards with notes. Charts are drawn live for each reader, with the same
suppression as the measure's own page: a storyboard never shows a reader more than the chart would."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lhn import phi
from lhn.accounts import services as accounts
from lhn.accounts.models import Institution, User
from lhn.communities import services as communities
from lhn.communities.models import Community
from lhn.communities.permissions import can_manage
from lhn.database import find_one, reading, utcnow
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text, render_markdown
from lhn.measures import services as measures
from lhn.measures.models import Measure, SiteDataLead
from lhn.programme.models import LearningSession, Storyboard

AIM_MAX, TEXT_MAX, MAX_CHARTS = 500, 20000, 4
DENIED = (
    "A storyboard is written by its site's team: verified clinicians and researchers of the site, and its data leads."
)
MARKDOWN = ("changes", "learned", "notes")


def team_sites(community: Community, user: object) -> list[Institution]:
    """The sites whose storyboards `user` may write in this community: their own site if they are a verified
    member of it, and the sites they lead data for on the community's measures (as members). Two queries."""
    if not isinstance(user, User) or communities.find_membership(user, community) is None:
        return []
    ids = set(db.session.scalars(
        select(SiteDataLead.institution_id).join(Measure, Measure.id == SiteDataLead.measure_id)
        .where(Measure.community_id == community.id, SiteDataLead.user_id == user.id)
    ))  # fmt: skip
    if user.institution_id is not None and user.is_verified:
        ids.add(user.institution_id)
    if not ids:
        return []
    return list(db.session.scalars(select(Institution).where(Institution.id.in_(ids)).order_by(Institution.name)))


def on_site_team(site_id: int, community: Community, user: object) -> bool:
    """`user` writes this site's storyboards as one of its team (team_sites)."""
    return site_id in {s.id for s in team_sites(community, user)}


def may_write(storyboard_site_id: int, community: Community, user: object) -> bool:
    """The site's team, or the community's owners (who may also attach its files)."""
    return on_site_team(storyboard_site_id, community, user) or can_manage(
        user, community, communities.find_membership(user, community))  # fmt: skip


@dataclass
class StoryboardFields:
    site: str = ""
    aim: str = ""
    measure_ids: list[int] = field(default_factory=list)
    changes: str = ""
    learned: str = ""
    notes: str = ""


def _values(fields: StoryboardFields, community: Community, *, over: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    aim = " ".join(clean_text(fields.aim or "").split())
    if not aim or len(aim) > AIM_MAX:
        errors["aim"] = f"Write your site's aim (up to {AIM_MAX} characters)."
    texts = {name: clean_text(getattr(fields, name) or "").strip() for name in MARKDOWN}
    for name, text in texts.items():
        if len(text) > TEXT_MAX:
            errors[name] = f"Up to {TEXT_MAX:,} characters."
    wanted = list(dict.fromkeys(fields.measure_ids or []))
    known = set(db.session.scalars(select(Measure.id).where(Measure.community_id == community.id,
                                                            Measure.id.in_(wanted)))) if wanted else set()  # fmt: skip
    if len(wanted) > MAX_CHARTS:
        errors["measure_ids"] = f"Choose up to {MAX_CHARTS} measures: a storyboard is one page."
    elif set(wanted) - known:
        errors["measure_ids"] = "Choose among this community's measures."
    if errors:
        raise ValidationFailed(errors)
    values: dict[str, Any] = {"aim": aim, "measure_ids": wanted, **texts}
    if over:  # after the session only its notes change: what was shown stays as it was shown
        values = {"notes": texts["notes"]}
    return values


def save_storyboard(session: LearningSession, fields: StoryboardFields, *, by: User, confirm_phi: bool = False,
                    now: Any = None) -> Storyboard:  # fmt: skip
    """The site's team writes or updates its storyboard (one per site and session). Until the session ends
    everything changes; afterwards only the notes. Checks, scans for PHI and renders outside the write lock.
    Flushes. Raises NotFound (the site), PermissionDenied, ValidationFailed (PHIConfirmationRequired)."""
    community = session.community
    with reading():
        site = accounts.find_institution(fields.site or "")
        if site is None:
            raise ValidationFailed({"site": "Choose your site."})
        if not may_write(site.id, community, by):
            raise PermissionDenied(DENIED)
        if session.cancelled_at is not None:
            raise ValidationFailed({"": "This session is cancelled."})
        existing = find_one(Storyboard, session_id=session.id, institution_id=site.id)
        over = session.ends_at < (now or utcnow())
        if over and existing is None:
            raise ValidationFailed({"": "This session is over: storyboards were due before it ended."})
        values = _values(fields, community, over=over)
        previous = "\n".join(getattr(existing, n) for n in ("aim", *MARKDOWN)) if existing else ""
        texts = {k: v for k, v in values.items() if isinstance(v, str) and v}
        findings = phi.check_texts(texts, confirm_phi, previous=previous)
        for name in MARKDOWN:
            if name in values:
                values[f"{name}_html"] = str(render_markdown(values[name], field=name)) if values[name] else ""
    if not may_write(site.id, community, by):  # again, in the write
        raise PermissionDenied(DENIED)
    storyboard = find_one(Storyboard, session_id=session.id, institution_id=site.id)
    if storyboard is None:
        storyboard = Storyboard(session_id=session.id, institution_id=site.id, created_by_id=by.id)
        db.session.add(storyboard)
    for name, value in values.items():
        setattr(storyboard, name, value)
    storyboard.updated_at = utcnow()
    db.session.flush()
    phi.record_confirmed(findings, by=by, target_type="storyboard", target_id=storyboard.id,
                         community_id=community.id)  # fmt: skip
    return storyboard


def list_storyboards(session: LearningSession) -> list[Storyboard]:
    stmt = select(Storyboard).where(Storyboard.session_id == session.id).options(joinedload(Storyboard.institution))
    return sorted(db.session.scalars(stmt), key=lambda s: s.institution.name)


def get_storyboard(session: LearningSession, storyboard_id: int) -> Storyboard:
    storyboard = db.session.scalars(select(Storyboard).where(Storyboard.id == storyboard_id,
                                                             Storyboard.session_id == session.id)
                                    .options(joinedload(Storyboard.institution))).first()  # fmt: skip
    if storyboard is None:
        raise NotFound("No such storyboard.")
    return storyboard


def site_storyboard(session: LearningSession, site_slug: str) -> Storyboard:
    """The storyboard a site (by its slug) brought to the session. Raises NotFound."""
    storyboard = db.session.scalars(select(Storyboard).join(Storyboard.institution)
                                    .where(Storyboard.session_id == session.id, Institution.slug == site_slug)
                                    .options(joinedload(Storyboard.institution))).first()  # fmt: skip
    if storyboard is None:
        raise NotFound("That site has no storyboard for this session.")
    return storyboard


@dataclass
class StoryboardChart:
    measure: Measure
    page: Any  # measures.ChartPage for the site, as this reader may see it


def storyboard_charts(storyboard: Storyboard, *, viewer: object) -> list[StoryboardChart]:
    """The storyboard's measures charted live at its site, each as the measure's own page would show it to
    `viewer` (suppressed values stay suppressed; a measure they may not read is left out)."""
    charts = []
    for measure_id in storyboard.measure_ids:
        try:
            measure = measures.get_measure(measure_id, viewer=viewer)
            page = measures.chart_page(measure, viewer=viewer, site_slug=storyboard.institution.slug, kind=None,
                                       rules=None)  # fmt: skip
        except (NotFound, PermissionDenied):  # a measure gone, or a site's data this reader may not see
            continue
        charts.append(StoryboardChart(measure, page))
    return charts
