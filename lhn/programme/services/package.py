"""The change package: the changes that worked, each with the evidence that it did. A member proposes a change
from an idea a site adopted (a PDSA cycle that ended "adopt"); the community's owners accept it (a new version of
the package, its evidence frozen in it), decline it with a reason, or remove it later (another version).

Evidence is read from the network's own record, never typed: the PDSA cycles that tested the idea at every site
and how they ended, the sites that adopted it, and, at each adopting site, whether the measure's chart shows a
signal in its better direction since the site began testing. A chart is used only as the network sees it: a site
whose data is withheld from the network (no consent, or small numbers throughout) counts as "not shared", so no
reader, and no frozen version, learns from the package what the measure page would not show them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from lhn import phi
from lhn.accounts.models import User
from lhn.communities import services as communities
from lhn.communities.models import Community
from lhn.communities.permissions import can_manage, can_read
from lhn.database import find_one, reading, utcnow
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text, render_markdown
from lhn.measures import services as measures
from lhn.measures.models import Measure, PdsaAct, PdsaCycle
from lhn.posts import services as posts
from lhn.programme.models import EntryStatus, PackageEntry, PackageVersion

SUMMARY_MAX, NOTE_MAX = 10000, 500
DENIED = "The change package is curated by the community's owners."
# What an adopting site's chart shows since it began testing (improved and worsened: measures.outcome_of).
NO_SIGNAL, MIXED, NOT_SHARED, NO_DATA = "no signal", "mixed", "not shared", "no data"


def may_decide(viewer: object, community: Community) -> bool:
    """Accept, decline and remove changes: the community's owners."""
    return can_manage(viewer, community, communities.find_membership(viewer, community))


def _check_owner(by: User, community: Community) -> None:
    if not may_decide(by, community):
        raise PermissionDenied(DENIED)


# --- evidence ------------------------------------------------------------------------------------------------------


def _cycles(community_id: int, idea_ids: list[int]) -> dict[int, list[tuple[PdsaCycle, Measure]]]:
    """The PDSA cycles on the community's measures testing each idea, oldest first (one query)."""
    found: dict[int, list[tuple[PdsaCycle, Measure]]] = {i: [] for i in idea_ids}
    if not idea_ids:
        return found
    rows = db.session.execute(
        select(PdsaCycle, Measure).join(Measure, Measure.id == PdsaCycle.measure_id)
        .where(Measure.community_id == community_id, PdsaCycle.idea_id.in_(idea_ids))
        .options(joinedload(PdsaCycle.institution)).order_by(PdsaCycle.started_on, PdsaCycle.id)
    ).all()  # fmt: skip
    for cycle, measure in rows:
        found[cycle.idea_id or 0].append((cycle, measure))
    return found


class _Charts:
    """Each (measure, site) chart once per request, as `viewer` would see it with the network's view of the site."""

    def __init__(self, viewer: object) -> None:
        self.viewer = viewer
        self.data: dict[int, Any] = {}
        self.access: dict[int, Any] = {}
        self.views: dict[tuple[int, int], Any] = {}  # (measure, site) -> its chart for the reader, or None

    def signal(self, measure: Measure, cycle: PdsaCycle) -> dict[str, Any]:
        """Whether `measure`'s chart at the cycle's site signals in the periods after the one the cycle began in
        (that one is mostly before the change could act), and which way."""
        site = cycle.institution
        base = {"site": site.name, "site_slug": site.slug, "measure_id": measure.id, "measure": measure.name}
        if measure.id not in self.data:
            self.access[measure.id] = measures.access(measure, self.viewer)
            self.data[measure.id] = measures.load_data(measure)
        if site.id not in self.data[measure.id].cells:
            return base | {"outcome": NO_DATA, "since": ""}
        if (measure.id, site.id) not in self.views:  # many changes adopted at one site share its chart
            try:
                self.views[measure.id, site.id] = measures.chart_view(measure, self.access[measure.id], site=site,
                                                                      data=self.data[measure.id])  # fmt: skip
            except NotFound:  # the site's data isn't shared with this reader
                self.views[measure.id, site.id] = None
        view = self.views[measure.id, site.id]
        if view is None or view.restricted:  # withheld from the network: not evidence anyone else may read
            return base | {"outcome": NOT_SHARED, "since": ""}
        after = [s for s in view.signals if _period_start(view, s.period) > cycle.started_on]
        if not after:
            return base | {"outcome": NO_SIGNAL, "since": ""}
        outcome = measures.outcome_of(measure, {s.direction for s in after}) or MIXED
        return base | {"outcome": outcome, "since": after[0].period}


def _period_start(view: measures.ChartView, period: str) -> date:
    return next(p.start for p in view.points if p.period == period)


def evidence(community: Community, idea_ids: list[int], *, viewer: object) -> dict[int, dict[str, Any]]:
    """{idea_id: {"cycles", "adopting_sites", "signals", "as_of"}}: what the record shows about each idea."""
    charts = _Charts(viewer)
    found = {}
    for idea_id, rows in _cycles(community.id, idea_ids).items():
        adopting = [(c, m) for c, m in rows if c.act == PdsaAct.ADOPT]
        found[idea_id] = {
            "cycles": [
                {"id": c.id, "site": c.institution.name, "measure_id": m.id, "measure": m.name, "title": c.title,
                 "started_on": c.started_on.isoformat(), "ended_on": c.ended_on.isoformat() if c.ended_on else None,
                 "act": c.act.value if c.act else None, "act_notes": c.act_notes}
                for c, m in rows
            ],
            "adopting_sites": sorted({c.institution.name for c, _m in adopting}),
            "signals": [charts.signal(m, c) for c, m in adopting],
            "as_of": utcnow().date().isoformat(),
        }  # fmt: skip
    return found


def adopted_ideas(community: Community) -> list[tuple[int, str]]:
    """The community's visible ideas that a site adopted and that are not in the package or waiting for a decision:
    what may be proposed, as (id, title). Three queries."""
    adopted: set[int] = set(db.session.scalars(
        select(PdsaCycle.idea_id).join(Measure, Measure.id == PdsaCycle.measure_id)
        .where(Measure.community_id == community.id, PdsaCycle.act == PdsaAct.ADOPT, PdsaCycle.idea_id.is_not(None))
    ))  # fmt: skip
    taken = set(db.session.scalars(select(PackageEntry.idea_id).where(
        PackageEntry.community_id == community.id,
        PackageEntry.status.in_([EntryStatus.PROPOSED, EntryStatus.ACCEPTED]))))  # fmt: skip
    ideas = posts.ideas_as_dicts(community.id, sorted(adopted - taken)) if adopted - taken else {}
    return sorted(((i, idea["title"]) for i, idea in ideas.items()), key=lambda pair: pair[1])


# --- proposing and deciding ---------------------------------------------------------------------------------------


def propose(community: Community, idea_id: int, summary: str, *, by: User, confirm_phi: bool = False) -> PackageEntry:
    """A member proposes an adopted idea for the package, with how to do it. A change declined or removed before
    may be proposed again. Flushes. Raises PermissionDenied (not a member), ValidationFailed (not adopted, already
    there, no summary; PHIConfirmationRequired)."""
    with reading():
        if communities.find_membership(by, community) is None:
            raise PermissionDenied("Join the community to propose changes for its package.")
        errors = {}
        choices = dict(adopted_ideas(community))
        if idea_id not in choices:
            errors["idea_id"] = "Choose an idea a site adopted that isn't in the package or waiting for a decision."
        text = clean_text(summary or "").strip()
        if not text or len(text) > SUMMARY_MAX:
            errors["summary"] = f"Say how to make this change and what it takes (up to {SUMMARY_MAX:,} characters)."
        if errors:
            raise ValidationFailed(errors)
        findings = phi.check_texts({"summary": text}, confirm_phi)
        html = str(render_markdown(text, field="summary"))
    values = {"title": choices[idea_id], "summary": text, "summary_html": html, "status": EntryStatus.PROPOSED,
              "proposed_by_id": by.id, "created_at": utcnow(), "decided_by_id": None, "decided_at": None,
              "decision_note": "", "evidence": None}  # fmt: skip
    entry = find_one(PackageEntry, community_id=community.id, idea_id=idea_id)
    if entry is None:
        entry = PackageEntry(community_id=community.id, idea_id=idea_id, **values)
        db.session.add(entry)
    elif entry.status in (EntryStatus.PROPOSED, EntryStatus.ACCEPTED):  # someone was quicker
        raise ValidationFailed({"idea_id": "This change was proposed meanwhile."})
    else:  # declined or removed before: proposed again
        for name, value in values.items():
            setattr(entry, name, value)
    db.session.flush()
    phi.record_confirmed(findings, by=by, target_type="change_package_entry", target_id=entry.id,
                         community_id=community.id)  # fmt: skip
    return entry


def _note(note: str, *, required: bool) -> str:
    text = " ".join(clean_text(note or "").split())
    if len(text) > NOTE_MAX or (required and not text):
        raise ValidationFailed({"note": f"Say why, for the person who proposed it (up to {NOTE_MAX} characters)."})
    return text


def _locked_entry(entry: PackageEntry, status: EntryStatus) -> PackageEntry:
    """The entry re-read under the community's lock (PostgreSQL: two owners deciding at once take turns, so
    version numbers never collide), still in `status`."""
    db.session.execute(select(Community.id).where(Community.id == entry.community_id).with_for_update())
    db.session.refresh(entry)
    if entry.status != status:
        raise ValidationFailed({"": f"This change is {entry.status.value} already."})
    return entry


def _publish(community: Community, summary: str, by: User, frozen: dict[int, dict[str, Any]]) -> PackageVersion:
    """A new version holding every accepted change; `frozen` supplies evidence just computed for some of them."""
    accepted = db.session.scalars(select(PackageEntry).where(PackageEntry.community_id == community.id,
                                                             PackageEntry.status == EntryStatus.ACCEPTED)
                                  .order_by(PackageEntry.title)).all()  # fmt: skip
    number = (db.session.scalar(select(func.max(PackageVersion.number))
                                .where(PackageVersion.community_id == community.id)) or 0) + 1  # fmt: skip
    snapshot = [{"idea_id": e.idea_id, "title": e.title, "summary": e.summary,
                 "accepted_at": e.decided_at.isoformat() if e.decided_at else None,
                 "evidence": frozen.get(e.idea_id, e.evidence)} for e in accepted]  # fmt: skip
    version = PackageVersion(community_id=community.id, number=number, summary=summary[:400], snapshot=snapshot,
                             created_by_id=by.id)  # fmt: skip
    db.session.add(version)
    db.session.flush()
    return version


def _decide(entry: PackageEntry, by: User, note: str, *, was: EntryStatus, becomes: EntryStatus) -> PackageEntry:
    """An owner's decision moves the entry from `was` to `becomes`, with its note; in the write, checked again."""
    _check_owner(by, entry.community)
    text = _note(note, required=becomes != EntryStatus.ACCEPTED)  # a refusal says why
    entry = _locked_entry(entry, was)
    entry.status, entry.decided_by_id, entry.decided_at, entry.decision_note = becomes, by.id, utcnow(), text
    return entry


def accept(entry: PackageEntry, *, by: User, note: str = "") -> PackageVersion:
    """An owner accepts a proposed change: its evidence as it stands now is frozen into a new version."""
    with reading():  # the charts are drawn before the write lock
        _check_owner(by, entry.community)
        _note(note, required=False)
        frozen = evidence(entry.community, [entry.idea_id], viewer=by)
    entry = _decide(entry, by, note, was=EntryStatus.PROPOSED, becomes=EntryStatus.ACCEPTED)
    entry.evidence = frozen[entry.idea_id]
    return _publish(entry.community, f"Added “{entry.title}”", by, frozen)


def decline(entry: PackageEntry, *, by: User, note: str) -> None:
    """An owner declines a proposal, saying why (the proposer may propose it again with more evidence)."""
    _decide(entry, by, note, was=EntryStatus.PROPOSED, becomes=EntryStatus.DECLINED)


def remove(entry: PackageEntry, *, by: User, note: str) -> PackageVersion:
    """An owner takes an accepted change out of the package, saying why: a new version without it."""
    entry = _decide(entry, by, note, was=EntryStatus.ACCEPTED, becomes=EntryStatus.REMOVED)
    return _publish(entry.community, f"Removed “{entry.title}”: {entry.decision_note}", by, {})


# --- reading -------------------------------------------------------------------------------------------------------


def attaches_to_entry(entry: PackageEntry, viewer: object, can_decide: bool | None = None) -> bool:
    """Files on a change: its proposer and the community's owners (`can_decide`, when the caller asked already)."""
    if can_decide is None:
        can_decide = may_decide(viewer, entry.community)
    return can_decide or getattr(viewer, "id", None) == entry.proposed_by_id


def get_entry(entry_id: int, *, viewer: object) -> PackageEntry:
    """An entry of a community `viewer` may read. Raises NotFound."""
    entry = db.session.scalars(select(PackageEntry).where(PackageEntry.id == entry_id)
                               .options(joinedload(PackageEntry.community))).first()  # fmt: skip
    if entry is None or not can_read(viewer, entry.community, communities.find_membership(viewer, entry.community)):
        raise NotFound("No such change.")
    return entry


@dataclass
class EntryView:
    entry: PackageEntry
    idea: dict[str, Any] | None  # {"id", "title", "url", ...}; None when the idea is hidden or withdrawn
    evidence: dict[str, Any]  # live, for the reader
    may_attach: bool  # files: its proposer and the community's owners (attaches_to_entry)


@dataclass
class PackageView:
    community: Community
    version: PackageVersion | None  # the latest; None before the first change is accepted
    accepted: list[EntryView]
    proposed: list[EntryView]
    can_decide: bool
    can_propose: bool


def package_view(community: Community, *, viewer: object) -> PackageView:
    """The package as `viewer` may read it: accepted changes and open proposals, each with its live evidence."""
    entries = db.session.scalars(
        select(PackageEntry).where(PackageEntry.community_id == community.id,
                                   PackageEntry.status.in_([EntryStatus.ACCEPTED, EntryStatus.PROPOSED]))
        .options(joinedload(PackageEntry.proposed_by), joinedload(PackageEntry.decided_by))
        .order_by(PackageEntry.title)
    ).all()  # fmt: skip
    ids = [e.idea_id for e in entries]
    ideas = posts.ideas_as_dicts(community.id, ids) if ids else {}
    found = evidence(community, ids, viewer=viewer)
    can_decide = may_decide(viewer, community)  # asked once for the page
    views = [EntryView(e, ideas.get(e.idea_id), found[e.idea_id], attaches_to_entry(e, viewer, can_decide))
             for e in entries]  # fmt: skip
    latest = db.session.scalars(select(PackageVersion).where(PackageVersion.community_id == community.id)
                                .order_by(PackageVersion.number.desc()).limit(1)).first()  # fmt: skip
    member = communities.find_membership(viewer, community) is not None
    return PackageView(community, latest, [v for v in views if v.entry.status == EntryStatus.ACCEPTED],
                       [v for v in views if v.entry.status == EntryStatus.PROPOSED], can_decide, member)  # fmt: skip


def package_versions(community: Community) -> list[PackageVersion]:
    """Every version of the package, newest first."""
    return list(db.session.scalars(select(PackageVersion).where(PackageVersion.community_id == community.id)
                                   .options(joinedload(PackageVersion.created_by))
                                   .order_by(PackageVersion.number.desc())))  # fmt: skip
