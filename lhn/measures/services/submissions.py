"""Submission reminders: which sites of a measure have not sent the last period's data, reminding their submitters
once per site and period (lhn/reminders.py claims it), the owners' "remind the late sites now", and the submission
grid (the sites taking part × the last periods, each cell sent, late or not due yet).

A measure's sites are those that take part in it (an appointed data lead, or data sent before) and whose
consent to contribute is active (without it their data would be refused). A site's reminder goes to its data
leads who are community members; a site with none goes to its team (verified clinicians and researchers of the
site who are members). Texts name the measure, the period and the site, never a value.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import joinedload

from lhn import reminders
from lhn.accounts.models import Institution, Role, User
from lhn.communities.models import Membership
from lhn.database import utcnow
from lhn.errors import PermissionDenied
from lhn.extensions import db
from lhn.measures.models import DataConsent, DataPoint, Measure, SiteDataLead
from lhn.measures.services import periods
from lhn.measures.services.core import access

KIND = "reminder_measure_due"
Cell = tuple[int, int]  # (measure id, site id)
GRID_PERIODS = 12  # the submission grid's columns: the current period and the ones before it
# A grid cell's status: data sent; late (the period ended more than the grace days ago and nothing was sent); not
# due yet (the period is open or in its grace days); before the measure (the period ended before it was defined, so
# nobody was asked for it: the reminders skip it too).
SENT, LATE, NOT_DUE, BEFORE = "sent", "late", "not_due", "before"


def last_closed_period(measure: Measure, today: date, *, grace_days: int = 0) -> date:
    """The start of the newest period that ended more than `grace_days` before `today`."""
    current = periods.start_of(today - timedelta(days=grace_days), measure.period.value)
    return periods.start_of(current - timedelta(days=1), measure.period.value)


@dataclass
class Submissions:
    """Who has sent one period's data, for the owners: sites taking part, split into sent and not yet."""

    period_start: date
    period_label: str
    submitted: list[Institution]
    late: list[Institution]


def _sites_taking_part(measures: list[Measure]) -> dict[int, set[int]]:
    """Site ids of each measure: a data lead or data sent before, with the site's consent active (3 queries). None
    for a measure LHN computes: nobody sends it anything, so nobody is late or reminded."""
    ids = [m.id for m in measures]
    taking: dict[int, set[int]] = {m.id: set() for m in measures}
    leads = select(SiteDataLead.measure_id, SiteDataLead.institution_id).where(SiteDataLead.measure_id.in_(ids))
    sent = (
        select(DataPoint.measure_id, DataPoint.institution_id)
        .where(DataPoint.measure_id.in_(ids), DataPoint.superseded_at.is_(None))
        .distinct()
    )
    for measure_id, site_id in [*db.session.execute(leads), *db.session.execute(sent)]:
        taking[measure_id].add(site_id)
    consenting: dict[int, set[int]] = defaultdict(set)
    for community_id, site_id in db.session.execute(
        select(DataConsent.community_id, DataConsent.institution_id).where(
            DataConsent.community_id.in_({m.community_id for m in measures}), DataConsent.withdrawn_at.is_(None)
        )
    ):
        consenting[community_id].add(site_id)
    return {m.id: set() if m.computed_from else taking[m.id] & consenting[m.community_id] for m in measures}


def _sent(due: dict[int, date], measures: list[Measure]) -> set[Cell]:
    """(measure, site) cells with current data for the measure's due period, in one query."""
    by_start: dict[date, list[int]] = defaultdict(list)
    for m in measures:
        by_start[due[m.id]].append(m.id)
    if not by_start:
        return set()
    rows = db.session.execute(
        select(DataPoint.measure_id, DataPoint.institution_id).where(
            DataPoint.superseded_at.is_(None),
            or_(false(), *(and_(DataPoint.measure_id.in_(ids), DataPoint.period_start == start)
                           for start, ids in by_start.items())),
        )
    )  # fmt: skip
    return {(measure_id, site_id) for measure_id, site_id in rows}


def _asked_for(measure: Measure, start: date) -> bool:
    """Whether sites were asked for the period starting `start`: it ended after the measure was defined."""
    return measure.created_at.date() <= periods.end_of(start, measure.period.value)


def _late_cells(measures: list[Measure], due: dict[int, date]) -> list[Cell]:
    """The cells of sites taking part that have not sent their due period (measures newer than it are skipped)."""
    current = [m for m in measures if _asked_for(m, due[m.id])]
    if not current:
        return []
    taking = _sites_taking_part(current)
    sent = _sent(due, current)
    return sorted((m.id, site) for m in current for site in taking[m.id] if (m.id, site) not in sent)


def _submitters(measures: dict[int, Measure], cells: list[Cell]) -> dict[Cell, list[User]]:
    """Who submits for each cell's site: its data leads who are members, else its team (2 queries in all)."""
    found: dict[Cell, list[User]] = {cell: [] for cell in cells}
    if not cells:
        return found
    measure_ids = {m for m, _ in cells}
    site_ids = {s for _, s in cells}
    leads = db.session.execute(
        select(SiteDataLead.measure_id, SiteDataLead.institution_id, User)
        .join(User, User.id == SiteDataLead.user_id)
        .join(Measure, Measure.id == SiteDataLead.measure_id)
        .join(Membership, and_(Membership.user_id == User.id, Membership.community_id == Measure.community_id))
        .where(SiteDataLead.measure_id.in_(measure_ids), SiteDataLead.institution_id.in_(site_ids))
        .order_by(User.id)
    )
    for measure_id, site_id, user in leads:
        if (measure_id, site_id) in found:
            found[measure_id, site_id].append(user)
    leaderless = [cell for cell, people in found.items() if not people]
    if leaderless:
        communities = {measures[m].community_id for m, _ in leaderless}
        teams = db.session.execute(
            select(Membership.community_id, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.community_id.in_(communities), User.institution_id.in_({s for _, s in leaderless}),
                   User.verified_at.is_not(None), User.role.in_([Role.CLINICIAN, Role.RESEARCHER]))
            .order_by(User.id)
        )  # fmt: skip
        by_place: dict[tuple[int, int | None], list[User]] = defaultdict(list)
        for community_id, user in teams:
            if user.is_verified:  # not revoked, expired or suspended
                by_place[community_id, user.institution_id].append(user)
        for measure_id, site_id in leaderless:
            found[measure_id, site_id] = by_place.get((measures[measure_id].community_id, site_id), [])
    return found


def _key(cell: Cell, start: date, measure: Measure, suffix: str = "") -> str:
    return f"measure {cell[0]} site {cell[1]} {periods.label(start, measure.period.value)}{suffix}"


def _remind(measures: dict[int, Measure], cells: list[Cell], due: dict[int, date], suffix: str = "") -> list[Cell]:
    """Claim each cell's reminder (key: measure, site, period and `suffix`) and remind its site's submitters.
    Returns the cells reminded now (already claimed ones are left out)."""
    keys = {_key(cell, due[cell[0]], measures[cell[0]], suffix): cell for cell in cells}
    claimed = sorted(keys[k] for k in reminders.claim(KIND, keys))
    if not claimed:
        return []
    people = _submitters(measures, claimed)
    site_ids = {site_id for _, site_id in claimed}
    sites = {s.id: s for s in db.session.scalars(select(Institution).where(Institution.id.in_(site_ids)))}
    for measure_id, site_id in claimed:
        measure = measures[measure_id]
        label = periods.short_label(due[measure_id], measure.period.value)
        reminders.remind(
            KIND, people[measure_id, site_id], community_id=measure.community_id,
            text=f"Reminder: {sites[site_id].name} has not sent its {label} data for the measure “{measure.name}” "
                 f"in {measure.community.name} yet.",
            url=f"/measures/{measure_id}/data/new",
        )  # fmt: skip
    return claimed


def send_submission_reminders(now: datetime) -> int:
    """Every measure's sites that have not sent the last period due (its end plus the configured grace days)
    are reminded, once per site and period, whenever this runs. Flushes; returns how many sites were reminded.
    Called by lhn/reminders.py's sweep (the server's periodic job, `lhn send-reminders`)."""
    grace = reminders.setting("REMINDER_SUBMISSION_GRACE_DAYS")
    all_measures = list(db.session.scalars(select(Measure).options(joinedload(Measure.community))))
    if not all_measures:
        return 0
    due = {m.id: last_closed_period(m, now.date(), grace_days=grace) for m in all_measures}
    by_id = {m.id: m for m in all_measures}
    return len(_remind(by_id, _late_cells(all_measures, due), due))


def submission_status(measure: Measure, *, by: object, today: date | None = None) -> Submissions:
    """For the measure's owners (and site admins): the last closed period and which sites taking part have sent
    it. Raises NotFound (not readable), PermissionDenied (not an owner)."""
    if not access(measure, by).can_edit:
        raise PermissionDenied("Only the measure's owners see who has submitted.")
    start = last_closed_period(measure, today or utcnow().date())
    taking = _sites_taking_part([measure])[measure.id]
    sent = {site for _, site in _sent({measure.id: start}, [measure])}
    sites = sorted(db.session.scalars(select(Institution).where(Institution.id.in_(taking))), key=lambda s: s.name)
    return Submissions(
        period_start=start,
        period_label=periods.short_label(start, measure.period.value),
        submitted=[s for s in sites if s.id in sent],
        late=[s for s in sites if s.id not in sent],
    )


def remind_late_sites(measure: Measure, *, by: User, now: datetime | None = None) -> list[Institution]:
    """An owner reminds the sites that have not sent the last closed period's data, now (before the automatic
    reminder's grace days are over). Each site is reminded this way at most once per period per day (UTC),
    whoever asks; the pages and API rate-limit the asking too. Flushes; sends signals.reminder_due.

    Returns the sites reminded now. Raises NotFound, PermissionDenied (not an owner)."""
    now = now or utcnow()
    status = submission_status(measure, by=by, today=now.date())
    due = {measure.id: status.period_start}
    late = [(measure.id, site.id) for site in status.late]
    done = {site for _, site in _remind({measure.id: measure}, late, due, suffix=f" asked {now.date().isoformat()}")}
    return [site for site in status.late if site.id in done]


# --- the submission grid --------------------------------------------------------------------------------------


@dataclass
class GridCell:
    period_start: date
    status: str  # SENT, LATE, NOT_DUE or BEFORE
    sent_at: datetime | None = None  # when the current value was sent


@dataclass
class GridRow:
    site: Institution
    cells: list[GridCell]


@dataclass
class SubmissionGrid:
    """The sites taking part × the last GRID_PERIODS periods (oldest first), for the owners (every site) or a
    site's team (its own sites, read-only)."""

    measure: Measure
    periods: list[date]
    rows: list[GridRow]
    late_from: date  # periods up to this one are late when nothing was sent (their grace days are over)
    reminder_period: date  # the period "remind the late sites" reminds of: the last closed one
    can_remind: bool  # the reader is an owner (remind_late_sites)

    def label(self, start: date) -> str:
        return periods.short_label(start, self.measure.period.value)

    @property
    def not_sent_last_period(self) -> list[Institution]:
        """The sites remind_late_sites would remind now: nothing sent for the reminder period."""
        return [row.site for row in self.rows
                if any(c.period_start == self.reminder_period and c.status != SENT for c in row.cells)]  # fmt: skip


def _status(measure: Measure, start: date, late_from: date, sent_at: datetime | None) -> str:
    if sent_at is not None:
        return SENT
    if not _asked_for(measure, start):
        return BEFORE
    return LATE if start <= late_from else NOT_DUE


def submission_grid(measure: Measure, *, by: object, today: date | None = None) -> SubmissionGrid:
    """Who has sent which of the last GRID_PERIODS periods: the measure's sites taking part (as the reminders count
    them) × the periods, each cell sent (when), late (its period ended more than REMINDER_SUBMISSION_GRACE_DAYS ago
    and nothing was sent), not due yet, or before the measure. Owners (and site admins) see every site and may
    remind; a site's team sees its own sites' rows. No values are shown. Reads only, in a fixed number of queries
    whatever the sites and periods.

    Raises NotFound (not readable), PermissionDenied (neither an owner nor on a site's team)."""
    acc = access(measure, by)
    if not (acc.can_edit or acc.submit_site_ids):
        raise PermissionDenied("Only the measure's owners, and each site's team for its own site, see who has sent.")
    today = today or utcnow().date()
    starts = periods.recent(today, measure.period.value, GRID_PERIODS)
    late_from = last_closed_period(measure, today, grace_days=reminders.setting("REMINDER_SUBMISSION_GRACE_DAYS"))
    taking = _sites_taking_part([measure])[measure.id]
    if not acc.can_edit:
        taking &= acc.submit_site_ids
    sites = sorted(db.session.scalars(select(Institution).where(Institution.id.in_(taking))), key=lambda s: s.name)
    sent = {
        (site_id, start): sent_at
        for site_id, start, sent_at in db.session.execute(
            select(DataPoint.institution_id, DataPoint.period_start, DataPoint.submitted_at).where(
                DataPoint.measure_id == measure.id,
                DataPoint.superseded_at.is_(None),
                DataPoint.institution_id.in_(taking),
                DataPoint.period_start.between(starts[0], starts[-1]),
            )
        )
    }
    rows = [
        GridRow(site, [GridCell(start, _status(measure, start, late_from, sent.get((site.id, start))),
                                sent.get((site.id, start))) for start in starts])
        for site in sites
    ]  # fmt: skip
    return SubmissionGrid(
        measure=measure,
        periods=starts,
        rows=rows,
        late_from=late_from,
        reminder_period=last_closed_period(measure, today),
        can_remind=acc.can_edit,
    )
