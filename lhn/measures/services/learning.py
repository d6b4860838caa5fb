"""The learning loop on a chart: PDSA cycles (optionally testing an idea), notes, deliberate phase changes and
points left out of a baseline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lhn import phi, signals
from lhn.accounts import services as accounts
from lhn.accounts.models import Institution, User
from lhn.database import find_one, reading, utcnow
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text, render_markdown
from lhn.measures.models import BaselineExclusion, ChartNote, Measure, PdsaAct, PdsaCycle, PhaseChange
from lhn.measures.services import periods
from lhn.measures.services.charts import Annotation, baseline_exclusions, phase_changes
from lhn.measures.services.core import access, log_change

TITLE_MAX, TEXT_MAX, NOTE_MAX, REASON_MAX = 160, 20_000, 500, 500
PDSA_TEXT_FIELDS = ("plan", "prediction", "do_notes", "study", "act_notes")
PDSA_TEXTS = ("title", "plan", "prediction", "do_notes", "study")  # what people write while a cycle runs
ACT_WORDS = {PdsaAct.ADOPT: "adopted", PdsaAct.ADAPT: "adapted", PdsaAct.ABANDON: "abandoned"}


# --- ideas live in the posts feature: asked for through a signal, never imported ----------------------


def ideas(community_id: int, ids: list[int] | None = None) -> dict[int, dict[str, Any]] | None:
    """Ideas by id, merged from every receiver of signals.ideas_requested; None when nobody answers (the
    posts feature isn't installed), so pages can leave the idea picker out."""
    answers = signals.ideas_requested.send(community_id, ids=ids)
    if not answers:
        return None
    merged: dict[int, dict[str, Any]] = {}
    for _receiver, answer in answers:
        if isinstance(answer, dict):
            merged.update(answer)
    return merged


def _parse_day(value: Any, field_name: str, errors: dict[str, str], *, required: bool) -> date | None:
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    if not text:
        if required:
            errors[field_name] = "Give a date (YYYY-MM-DD)."
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field_name] = "Give a date as YYYY-MM-DD."
        return None


def _site(slug: str, errors: dict[str, str]) -> Institution | None:
    site = accounts.find_institution((slug or "").strip())
    if site is None:
        errors["site"] = "Choose a site."
    return site


# --- PDSA cycles -----------------------------------------------------------------------------------


@dataclass
class PdsaFields:
    site: str = ""
    title: str = ""
    plan: str = ""
    prediction: str = ""
    do_notes: str = ""
    study: str = ""
    started_on: Any = None
    idea_id: Any = None

    @classmethod
    def of(cls, item: PdsaCycle) -> PdsaFields:
        """The cycle's current plan, do and study, to change some of them (the API's PATCH)."""
        return cls(
            site=item.institution.slug,
            title=item.title,
            plan=item.plan,
            prediction=item.prediction,
            do_notes=item.do_notes,
            study=item.study,
            started_on=item.started_on,
            idea_id=item.idea_id,
        )


def _pdsa_values(measure: Measure, fields: PdsaFields) -> tuple[dict[str, Any], Institution | None]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"title": clean_text(fields.title or "").strip()}
    if not values["title"] or len(values["title"]) > TITLE_MAX:
        errors["title"] = f"Name the change you are testing (up to {TITLE_MAX} characters)."
    for name in ("plan", "prediction", "do_notes", "study"):
        values[name] = clean_text(getattr(fields, name) or "").strip()
        if len(values[name]) > TEXT_MAX:
            errors[name] = f"Use at most {TEXT_MAX} characters."
    if not values["prediction"]:
        errors["prediction"] = "Write down what you predict will happen: the study compares against it."
    values["started_on"] = _parse_day(fields.started_on, "started_on", errors, required=True)
    if values["started_on"] and values["started_on"] > utcnow().date():
        errors["started_on"] = "Give the date the cycle started (not in the future); plan ahead in the plan."
    site = _site(fields.site, errors)
    idea_id = None
    if fields.idea_id not in (None, ""):
        try:
            idea_id = int(fields.idea_id)
        except (TypeError, ValueError):
            errors["idea_id"] = "Choose an idea from the list."
        else:
            known = ideas(measure.community_id, [idea_id])
            if known is None:
                errors["idea_id"] = "Ideas can't be linked on this site."
            elif idea_id not in known:
                errors["idea_id"] = "No such idea in this community."
    values["idea_id"] = idea_id
    if errors:
        raise ValidationFailed(errors)
    return values, site


def _rendered(values: dict[str, Any]) -> dict[str, str]:
    """The stored HTML of the Markdown fields among `values`. Slow: services render in reading(), before their
    write transaction."""
    return {
        f"{name}_html": str(render_markdown(values[name], field=name)) if values[name] else ""
        for name in PDSA_TEXT_FIELDS
        if name in values
    }


def _check_can_annotate(measure: Measure, site_id: int, by: User, message: str) -> None:
    if not access(measure, by).can_annotate(site_id):
        raise PermissionDenied(message)


def _check_open(cycle: PdsaCycle, errors: dict[str, str], message: str = "This cycle is closed.") -> None:
    if cycle.closed_at is not None:
        errors[""] = message


def _check_phi(values: dict[str, Any], confirm_phi: bool, *, previous: str = "") -> list[phi.Finding]:
    """The PHI guard over a cycle's free text (title, plan, prediction, do, study, act notes present in `values`)."""
    texts = {name: values[name] for name in (*PDSA_TEXTS, "act_notes") if values.get(name)}
    return phi.check_texts(texts, confirm_phi, previous=previous)


def create_cycle(measure: Measure, fields: PdsaFields, *, by: User, confirm_phi: bool = False) -> PdsaCycle:
    """The site's team (or an owner) starts a PDSA cycle at a site. Checks, scans for PHI and renders in reading()
    (no write lock), then writes. Flushes. Raises PermissionDenied, ValidationFailed (phi.PHIConfirmationRequired
    when the text may identify someone and `confirm_phi` is false; a confirmed finding is recorded)."""
    refused = "PDSA cycles are run by a site's team or the measure's owners."
    with reading():
        acc = access(measure, by)
        values, site = _pdsa_values(measure, fields)
        site_id = site.id  # type: ignore[union-attr]  # _pdsa_values raises without a site
        if not acc.can_annotate(site_id):
            raise PermissionDenied(refused)
        findings = _check_phi(values, confirm_phi)
        html = _rendered(values)
    _check_can_annotate(measure, site_id, by, refused)  # again: the write depends on it and others write meanwhile
    cycle = PdsaCycle(measure_id=measure.id, institution_id=site_id, created_by=by, **values, **html)
    db.session.add(cycle)
    db.session.flush()
    phi.record_confirmed(findings, by=by, target_type="pdsa_cycle", target_id=cycle.id,
                         community_id=measure.community_id)  # fmt: skip
    return cycle


def get_cycle(measure: Measure, cycle_id: int, *, viewer: object) -> PdsaCycle:
    access(measure, viewer)
    cycle = db.session.get(PdsaCycle, cycle_id)
    if cycle is None or cycle.measure_id != measure.id:
        raise NotFound("No such PDSA cycle.")
    return cycle


def update_cycle(cycle: PdsaCycle, measure: Measure, fields: PdsaFields, *, by: User,
                 confirm_phi: bool = False) -> PdsaCycle:  # fmt: skip
    """Record the do and study as the cycle goes. Closed cycles don't change. Checks, scans for PHI (asking only
    about identifiers the cycle didn't already have) and renders in reading() (no write lock), then writes.
    Flushes. Raises PermissionDenied, ValidationFailed (phi.PHIConfirmationRequired too)."""
    refused = "Only the site's team or the measure's owners update this cycle."
    with reading():
        _check_can_annotate(measure, cycle.institution_id, by, refused)
        closed: dict[str, str] = {}
        _check_open(cycle, closed)
        if closed:
            raise ValidationFailed(closed)
        fields.site = cycle.institution.slug
        values, _site_unused = _pdsa_values(measure, fields)
        before = "\n".join(getattr(cycle, name) or "" for name in PDSA_TEXTS)
        findings = _check_phi(values, confirm_phi, previous=before)
        html = _rendered(values)
    # Again in the write transaction, which depends on them: someone may have closed the cycle meanwhile.
    _check_can_annotate(measure, cycle.institution_id, by, refused)
    _check_open(cycle, closed)
    if closed:
        raise ValidationFailed(closed)
    for key, value in {**values, **html}.items():
        setattr(cycle, key, value)
    db.session.flush()
    phi.record_confirmed(findings, by=by, target_type="pdsa_cycle", target_id=cycle.id,
                         community_id=measure.community_id)  # fmt: skip
    return cycle


def close_cycle(cycle: PdsaCycle, measure: Measure, *, act: str, act_notes: str, ended_on: Any, by: User,
                confirm_phi: bool = False) -> PdsaCycle:  # fmt: skip
    """Act: adopt, adapt or abandon, with what was learned. If the cycle tests an idea, its summary is posted
    on the idea (signals.pdsa_cycle_closed). Checks, scans the notes for PHI and renders in reading() (no write
    lock), then writes. Flushes. Raises PermissionDenied, ValidationFailed (phi.PHIConfirmationRequired too)."""
    refused = "Only the site's team or the measure's owners close this cycle."
    with reading():
        _check_can_annotate(measure, cycle.institution_id, by, refused)
        errors: dict[str, str] = {}
        _check_open(cycle, errors, "This cycle is already closed.")
        try:
            decision = PdsaAct(act)
        except ValueError:
            decision = None
            errors["act"] = "Choose adopt, adapt or abandon."
        notes = clean_text(act_notes or "").strip()
        if not notes:
            errors["act_notes"] = "Say what you learned and why you decided so."
        ended = _parse_day(ended_on, "ended_on", errors, required=True)
        if ended and ended < cycle.started_on:
            errors["ended_on"] = "The cycle can't end before it started."
        if ended and ended > utcnow().date():
            errors["ended_on"] = "Give the day the cycle ended (not in the future)."
        if errors:
            raise ValidationFailed(errors)
        findings = _check_phi({"act_notes": notes}, confirm_phi)
        html = _rendered({"act_notes": notes})
        # The idea's receiver renders its comment now and hands back what stores it (signals.pdsa_cycle_closed).
        summary = cycle_summary(cycle, measure, act=decision, act_notes=notes, ended_on=ended)
        stores = [] if cycle.idea_id is None else [
            store for _receiver, store in signals.pdsa_cycle_closed.send(cycle, idea_id=cycle.idea_id, by=by,
                                                                          summary=summary) if callable(store)
        ]  # fmt: skip
    # Again in the write transaction, which depends on them: someone may have closed the cycle meanwhile.
    _check_can_annotate(measure, cycle.institution_id, by, refused)
    _check_open(cycle, errors, "This cycle is already closed.")
    if errors:
        raise ValidationFailed(errors)
    cycle.act, cycle.act_notes, cycle.ended_on, cycle.closed_at = decision, notes, ended, utcnow()
    cycle.act_notes_html = html["act_notes_html"]
    db.session.flush()
    phi.record_confirmed(findings, by=by, target_type="pdsa_cycle", target_id=cycle.id,
                         community_id=measure.community_id)  # fmt: skip
    for store in stores:
        store()
    return cycle


def cycle_summary(cycle: PdsaCycle, measure: Measure, *, act: PdsaAct | None, act_notes: str,
                  ended_on: date | None) -> str:  # fmt: skip
    """The Markdown posted on the linked idea when a cycle closes with this act, notes and end date."""
    return (
        f"**PDSA cycle at {cycle.institution.name}: {act.value if act else 'closed'}.** {cycle.title}\n\n"
        f"*Measure:* [{measure.name}](/measures/{measure.id}?site={cycle.institution.slug}) · "
        f"{cycle.started_on.isoformat()} to {ended_on.isoformat() if ended_on else '…'}\n\n"
        f"*Prediction:* {cycle.prediction}\n\n*What we learned:* {act_notes}"
    )


def list_cycles(measure: Measure, *, site_id: int | None = None) -> list[PdsaCycle]:
    stmt = (
        select(PdsaCycle)
        .where(PdsaCycle.measure_id == measure.id)
        .options(joinedload(PdsaCycle.institution), joinedload(PdsaCycle.created_by).joinedload(User.institution))
    )
    if site_id is not None:
        stmt = stmt.where(PdsaCycle.institution_id == site_id)
    return list(db.session.scalars(stmt.order_by(PdsaCycle.started_on.desc(), PdsaCycle.id.desc())))


# --- notes and phases ---------------------------------------------------------------------------------


def add_note(measure: Measure, *, site: str, on: Any, text: str, by: User, confirm_phi: bool = False) -> ChartNote:
    """A note on a date of a site's chart (its team or owners) or the network chart (`site` empty; owners).
    Checks and scans for PHI in reading() (no write lock). Flushes. Raises PermissionDenied, ValidationFailed
    (phi.PHIConfirmationRequired when the note may identify someone and `confirm_phi` is false)."""
    with reading():
        acc = access(measure, by)
        errors: dict[str, str] = {}
        place = _site(site, errors) if site else None
        day = _parse_day(on, "on", errors, required=True)
        body = clean_text(text or "").strip()
        if not body or len(body) > NOTE_MAX:
            errors["text"] = f"Write the note (up to {NOTE_MAX} characters)."
        if errors:
            raise ValidationFailed(errors)
        if not acc.can_annotate(place.id if place else None):
            raise PermissionDenied("Notes are added by the measure's owners, or by a site's team on its own chart.")
        findings = phi.check_texts({"text": body}, confirm_phi)
    if not access(measure, by).can_annotate(place.id if place else None):  # again, in the write
        raise PermissionDenied("Notes are added by the measure's owners, or by a site's team on its own chart.")
    note = ChartNote(measure_id=measure.id, institution=place, on=day, text=body, created_by=by)
    db.session.add(note)
    db.session.flush()
    phi.record_confirmed(findings, by=by, target_type="chart_note", target_id=note.id,
                         community_id=measure.community_id)  # fmt: skip
    return note


@dataclass(frozen=True)
class MarkWords:
    """What people are told about one kind of period mark (a phase change, a baseline exclusion)."""

    model: type[PhaseChange | BaselineExclusion]
    log_kind: str  # the change log's kind
    target_type: str  # the PHI guard's record
    no_reason: str
    denied: str
    taken: str  # the period is marked already
    no_such: str
    added: str  # for the change log: {where}, {period}, {reason}
    removed: str  # {where}, {period}


PHASE = MarkWords(
    PhaseChange, "phase", "phase_change",
    no_reason="Say why the process changed (for example the change you adopted).",
    denied="New phases are started by the measure's owners, or by a site's team on its own chart.",
    taken="A phase already starts there.",
    no_such="No such phase change.",
    added="New phase on {where} from {period}: {reason}",
    removed="Phase on {where} from {period} removed.",
)  # fmt: skip
EXCLUSION = MarkWords(
    BaselineExclusion, "baseline", "baseline_exclusion",
    no_reason="Say what made this point special (for example a new material, a new operator, a data error).",
    denied="Points are left out of a baseline by the measure's owners, or by a site's team on its own chart.",
    taken="This point is already left out of the baseline.",
    no_such="No such exclusion.",
    added="{period} on {where} left out of the baseline: {reason}",
    removed="{period} on {where} back in the baseline.",
)  # fmt: skip


def _add_mark(words: MarkWords, measure: Measure, *, site: str, period: str, reason: str, by: User,
              confirm_phi: bool) -> PhaseChange | BaselineExclusion:  # fmt: skip
    acc = access(measure, by)
    errors: dict[str, str] = {}
    place = _site(site, errors) if site else None
    start = None
    try:
        start = periods.parse(period, measure.period.value)
    except periods.PeriodError as exc:
        errors["period"] = str(exc)
    why = clean_text(reason or "").strip()
    if not why or len(why) > REASON_MAX:
        errors["reason"] = words.no_reason
    if errors:
        raise ValidationFailed(errors)
    with reading():
        findings = phi.check_texts({"reason": why}, confirm_phi)
    if not acc.can_annotate(place.id if place else None):
        raise PermissionDenied(words.denied)
    model = words.model
    if find_one(model, measure_id=measure.id, period_start=start, institution_id=place.id if place else None):
        raise ValidationFailed({"period": words.taken})
    mark = model(measure_id=measure.id, institution=place, period_start=start, reason=why, created_by=by)
    db.session.add(mark)
    where = place.name if place else "the network chart"
    log_change(measure, words.log_kind, words.added.format(where=where, period=period, reason=why), by=by)
    db.session.flush()
    phi.record_confirmed(findings, by=by, target_type=words.target_type, target_id=mark.id,
                         community_id=measure.community_id)  # fmt: skip
    return mark


def _remove_mark(words: MarkWords, measure: Measure, mark_id: int, *, by: User) -> None:
    acc = access(measure, by)
    mark = find_one(words.model, id=mark_id)
    if mark is None or mark.measure_id != measure.id:
        raise NotFound(words.no_such)
    if not acc.can_annotate(mark.institution_id):
        raise PermissionDenied(words.denied)
    label = periods.label(mark.period_start, measure.period.value)
    where = mark.institution.name if mark.institution else "the network chart"
    log_change(measure, words.log_kind, words.removed.format(where=where, period=label), by=by)
    db.session.delete(mark)
    db.session.flush()


def add_phase(measure: Measure, *, site: str, period: str, reason: str, by: User,
              confirm_phi: bool = False) -> PhaseChange:  # fmt: skip
    """Start new limits from a period on, deliberately and with a reason (after an adopted change). Logged.

    Owners anywhere; a site's team on its own chart. The reason goes through the PHI guard (it is shown on the
    chart and in the public change log). Raises PermissionDenied, ValidationFailed (phi.PHIConfirmationRequired).
    """
    phase = _add_mark(PHASE, measure, site=site, period=period, reason=reason, by=by, confirm_phi=confirm_phi)
    assert isinstance(phase, PhaseChange)  # noqa: S101 - PHASE makes one
    return phase


def remove_phase(measure: Measure, phase_id: int, *, by: User) -> None:
    _remove_mark(PHASE, measure, phase_id, by=by)


def exclude_from_baseline(measure: Measure, *, site: str, period: str, reason: str, by: User,
                          confirm_phi: bool = False) -> BaselineExclusion:  # fmt: skip
    """Leave one period's point out of its phase's baseline, with the special cause that explains it (Montgomery's
    revised limits): the centre line and limits are computed without it; the point stays on the chart, marked, and
    is still judged against them. Logged. Who may: as for phases. Raises PermissionDenied, ValidationFailed."""
    mark = _add_mark(EXCLUSION, measure, site=site, period=period, reason=reason, by=by, confirm_phi=confirm_phi)
    assert isinstance(mark, BaselineExclusion)  # noqa: S101 - EXCLUSION makes one
    return mark


def include_in_baseline(measure: Measure, exclusion_id: int, *, by: User) -> None:
    """Put an excluded point back into its baseline. Logged. Raises NotFound, PermissionDenied."""
    _remove_mark(EXCLUSION, measure, exclusion_id, by=by)


def list_notes(measure: Measure, *, site_id: int | None) -> list[ChartNote]:
    return list(
        db.session.scalars(
            select(ChartNote)
            .where(
                ChartNote.measure_id == measure.id,
                ChartNote.institution_id == site_id if site_id is not None else ChartNote.institution_id.is_(None),
            )
            .options(joinedload(ChartNote.created_by).joinedload(User.institution))
            .order_by(ChartNote.on, ChartNote.id)
        )
    )


def chart_annotations(measure: Measure, *, site_id: int | None) -> list[Annotation]:
    """What a chart marks on its timeline: PDSA cycles (a site's own; on the network chart the adopted ones),
    ideas those cycles tested once adopted, notes, phase changes and points left out of the baseline."""
    out: list[Annotation] = []
    stmt = select(PdsaCycle).where(PdsaCycle.measure_id == measure.id).options(joinedload(PdsaCycle.institution))
    if site_id is not None:
        stmt = stmt.where(PdsaCycle.institution_id == site_id)
    else:
        stmt = stmt.where(PdsaCycle.act == PdsaAct.ADOPT)
    cycles = list(db.session.scalars(stmt))
    for cycle in cycles:
        state = ACT_WORDS[cycle.act] if cycle.act else "in progress"
        where = "" if site_id is not None else f" at {cycle.institution.name}"
        out.append(
            Annotation(
                cycle.started_on,
                "pdsa",
                f"PDSA{where}: {cycle.title} ({state})",
                f"/measures/{measure.id}/pdsa/{cycle.id}",
            )
        )
    linked = sorted({c.idea_id for c in cycles if c.idea_id is not None})
    found = ideas(measure.community_id, linked) if linked else None
    for idea in (found or {}).values():
        if idea.get("adopted_at"):
            # Dated when the change was adopted in practice, the end of the cycle that adopted it, not when someone
            # got round to closing the cycle or moving the idea (the status change's time is the fallback).
            ends = [c.ended_on for c in cycles if c.idea_id == idea.get("id") and c.act == PdsaAct.ADOPT and c.ended_on]
            adopted = max(ends) if ends else idea["adopted_at"]
            out.append(
                Annotation(
                    adopted.date() if isinstance(adopted, datetime) else adopted,
                    "idea",
                    f"Idea adopted: {idea.get('title', '')}",
                    idea.get("url", ""),
                )
            )
    out += [Annotation(n.on, "note", n.text) for n in list_notes(measure, site_id=site_id)]
    out += [Annotation(p.period_start, "phase", f"New phase: {p.reason}") for p in phase_changes(measure, site_id)]
    out += [
        Annotation(x.period_start, "exclusion", f"Left out of the baseline: {x.reason}")
        for x in baseline_exclusions(measure, site_id)
    ]
    return sorted(out, key=lambda a: (a.on, a.kind))
