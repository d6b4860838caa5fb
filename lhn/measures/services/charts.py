"""Chart views of a measure for one reader: per site or network aggregate, with suppression and annotations.

The statistics are lhn.measures.spc on full data; what the reader may see is decided here (visible_sites), with
lhn.measures.services.privacy: a site's team sees its own site whole; everyone else sees cross-site data after
small-cell and complementary suppression, and a centre line (with its limits) only when none of the values it is
computed from is masked for them. The network aggregate is Σ numerators / Σ denominators over the consenting sites.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lhn.accounts.models import Institution, User
from lhn.errors import NotFound, ValidationFailed
from lhn.extensions import db
from lhn.measures import spc
from lhn.measures.models import (
    BaselineExclusion,
    DataPoint,
    Improvement,
    Measure,
    MeasureType,
    PeriodMark,
    PhaseChange,
)
from lhn.measures.services import periods, privacy
from lhn.measures.services.core import Access, record_restricted_view
from lhn.measures.services.sites import consenting_sites

M = TypeVar("M", bound=PeriodMark)

KINDS_BY_TYPE = {
    MeasureType.PROPORTION: (spc.RUN, spc.P, spc.PP),
    MeasureType.RATE: (spc.RUN, spc.U, spc.UP),
    MeasureType.COUNT: (spc.RUN, spc.C),
    MeasureType.CONTINUOUS: (spc.RUN, spc.I),
}


@dataclass(frozen=True)
class Cell:
    numerator: float
    denominator: float | None
    version: int


@dataclass
class MeasureData:
    """Every current value of a measure, by site and period (one query)."""

    measure: Measure
    cells: dict[int, dict[date, Cell]]
    sites: dict[int, Institution]
    consenting: set[int]

    def network(self) -> dict[date, Cell]:
        """Σ over consenting sites: numerators and denominators (continuous: the n-weighted mean, and Σn).

        A period whose sums overflow (values near the largest float) is left out: missing, never inf or NaN."""
        totals: dict[date, list[float]] = {}
        for site_id in self.consenting:
            for start, cell in self.cells.get(site_id, {}).items():
                row = totals.setdefault(start, [0.0, 0.0])
                if self.measure.type == MeasureType.CONTINUOUS:
                    row[0] += cell.numerator * (cell.denominator or 0)
                else:
                    row[0] += cell.numerator
                row[1] += cell.denominator or 0
        out = {}
        for start, (num, den) in sorted(totals.items()):
            if not (math.isfinite(num) and math.isfinite(den)):
                continue
            if self.measure.type == MeasureType.CONTINUOUS:
                out[start] = Cell(num / den if den else 0.0, den, self.measure.version)
            elif self.measure.type == MeasureType.COUNT:
                out[start] = Cell(num, None, self.measure.version)
            else:
                out[start] = Cell(num, den, self.measure.version)
        return out

    def with_cells(self, cells: dict[tuple[int, date], Cell]) -> MeasureData:
        """The data once `cells` (new values of consenting sites, by site and period) are stored."""
        merged = {site_id: dict(by_period) for site_id, by_period in self.cells.items()}
        for (site_id, start), cell in cells.items():
            merged.setdefault(site_id, {})[start] = cell
        return MeasureData(self.measure, merged, self.sites, self.consenting | {site_id for site_id, _ in cells})

    def suppression(self, known_sites: set[int]) -> privacy.Suppression:
        kind = self.measure.type.value
        counts: dict[tuple[Hashable, Hashable], Sequence[float]] = {
            (site_id, start): privacy.counts_of(kind, cell.numerator, cell.denominator)
            for site_id in self.consenting
            for start, cell in self.cells.get(site_id, {}).items()
        }
        return privacy.suppress(
            counts, known_sites=known_sites, coalition=current_app.config["MEASURES_SUPPRESSION_COALITION"]
        )


def load_data(measure: Measure) -> MeasureData:
    rows = db.session.scalars(
        select(DataPoint)
        .where(DataPoint.measure_id == measure.id, DataPoint.superseded_at.is_(None))
        .options(joinedload(DataPoint.institution))
    )
    cells: dict[int, dict[date, Cell]] = {}
    sites: dict[int, Institution] = {}
    for row in rows:
        cells.setdefault(row.institution_id, {})[row.period_start] = Cell(
            row.numerator, row.denominator, row.measure_version
        )
        sites[row.institution_id] = row.institution
    return MeasureData(measure, cells, sites, consenting_sites(measure.community_id) & set(cells))


def visible_sites(data: MeasureData, acc: Access) -> list[Institution]:
    """The one rule of whose data a reader sees: the sites with data that share it with the network (consent),
    and the sites whose team the reader is on, even without consent. By slug. Pages, exports and FHIR use it;
    what of a shared site's data is masked for them is the suppression's business."""
    return sorted(
        (data.sites[i] for i in data.cells if i in data.consenting or i in acc.known_site_ids), key=lambda s: s.slug
    )


def default_kind(measure: Measure, *, network: bool) -> str:
    """The chart a measure opens on: a run chart under the IHI rules, else the control chart for its type
    (Laney's p′/u′ for the network aggregate, whose denominators are large)."""
    if measure.rule_set == spc.IHI:
        return spc.RUN
    return {
        MeasureType.PROPORTION: spc.PP if network else spc.P,
        MeasureType.RATE: spc.UP if network else spc.U,
        MeasureType.COUNT: spc.C,
        MeasureType.CONTINUOUS: spc.I,
    }[measure.type]


def _series(
    measure: Measure, cells: dict[date, Cell]
) -> tuple[list[date], list[float | None], list[float | None] | None]:
    starts = periods.span(min(cells), max(cells), measure.period.value) if cells else []
    num = [cells[s].numerator if s in cells else None for s in starts]
    if measure.type in (MeasureType.PROPORTION, MeasureType.RATE):
        return starts, num, [cells[s].denominator if s in cells else None for s in starts]
    return starts, num, None


def _phase_indices(starts: list[date], phase_starts: list[date]) -> list[int]:
    out = []
    for phase_start in phase_starts:
        index = next((i for i, s in enumerate(starts) if s >= phase_start), None)
        if index:
            out.append(index)
    return out


def _marks(model: type[M], measure: Measure, site_id: int | None) -> list[M]:
    return list(
        db.session.scalars(
            select(model)
            .where(
                model.measure_id == measure.id,
                model.institution_id.is_(site_id) if site_id is None else model.institution_id == site_id,
            )
            .options(joinedload(model.created_by).joinedload(User.institution))
            .order_by(model.period_start)
        )
    )


def phase_changes(measure: Measure, site_id: int | None) -> list[PhaseChange]:
    return _marks(PhaseChange, measure, site_id)


def baseline_exclusions(measure: Measure, site_id: int | None) -> list[BaselineExclusion]:
    return _marks(BaselineExclusion, measure, site_id)


def compute_chart(
    measure: Measure, cells: dict[date, Cell], *, kind: str, rules: str, site_id: int | None
) -> tuple[list[date], spc.Chart]:
    """The chart of `cells` on the chart of `site_id` (None: the network's), with its deliberate phases and the
    points left out of their phase's baseline."""
    starts, num, den = _series(measure, cells)
    phase_starts = [p.period_start for p in phase_changes(measure, site_id)]
    excluded = {x.period_start for x in baseline_exclusions(measure, site_id)}
    left_out = [i for i, s in enumerate(starts) if s in excluded]
    chart = spc.compute(kind, num, den, phases=_phase_indices(starts, phase_starts), baseline=measure.baseline_points,
                        excluded=left_out, rules=rules)  # fmt: skip
    return starts, chart


# --- which way signals point, and what that means for the measure ---------------------------------------


UNDIRECTED_RULES = {"anhoj_crossings", "ihi_runs_few", "ihi_runs_many"}  # about the runs, not a side


def signal_direction(chart: spc.Chart, signal: spc.Signal) -> str:
    """Which way a signal points: a trend by its last step, the others by their point's side of the centre."""
    point = chart.points[signal.index]
    if signal.rule in UNDIRECTED_RULES or point.y is None:
        return ""
    reference = point.cl
    if signal.rule == "ihi_trend":
        reference = chart.points[signal.index - 1].y if signal.index else None
    if reference is None or point.y == reference:
        return ""
    return "up" if point.y > reference else "down"


def outcome_of(measure: Measure, directions: set[str]) -> str:
    """"improved" when every directed signal points the measure's better way, "worsened" when all point the other
    way, "" when they disagree or none has a direction."""
    better = "up" if measure.improvement == Improvement.UP else "down"
    directed = directions - {""}
    if not directed:
        return ""
    if directed == {better}:
        return "improved"
    return "worsened" if better not in directed else ""


# --- the reader's view ------------------------------------------------------------------------------


@dataclass
class PointView:
    start: date
    period: str
    label: str
    value: float | None  # in display units (y × multiplier); None when missing or masked
    numerator: float | None
    denominator: float | None
    masked: bool
    cl: float | None
    lcl: float | None
    ucl: float | None
    rules: list[str]
    version: int | None
    phase: int
    baseline: bool
    excluded: bool  # left out of the baseline by a person (the reason is among the chart's annotations)


@dataclass
class SignalView:
    period: str
    label: str
    rule: str
    rule_label: str
    scope: str
    direction: str = ""  # "up", "down", or "" for rules about the runs as a whole


# What each rule means in plain words, for patients and families (the technical name is one click away).
SIGNAL_PLAIN = {
    "sigma": "a value far outside the usual range",
    "anhoj_run": "a long run of values on one side of the usual level",
    "anhoj_crossings": "values cross the usual level less often than chance would make them",
    "ihi_shift": "6 or more values in a row on one side of the usual level",
    "ihi_trend": "5 or more values in a row going the same way",
    "ihi_runs_few": "fewer swings above and below the usual level than chance would make",
    "ihi_runs_many": "more swings above and below the usual level than chance would make",
    "we1": "a value far outside the usual range",
    "we2": "2 of 3 values well away from the usual level, on one side",
    "we3": "4 of 5 values away from the usual level, on one side",
    "we4": "8 values in a row on one side of the usual level",
}


@dataclass
class SignalGroup:
    """One rule's signals on a chart, for the list under it."""

    rule: str
    technical: str  # the rule's name in the SPC literature
    plain: str
    scope: str
    when: str  # the periods, consecutive ones as ranges
    outcome: str  # "improved", "worsened", or "" (no direction, or directions that disagree)


@dataclass
class Annotation:
    on: date
    kind: str  # pdsa, idea, note, phase, exclusion
    text: str
    url: str = ""
    period_index: int | None = None


@dataclass
class ChartView:
    measure: Measure
    site: Institution | None
    kind: str
    rules: str
    points: list[PointView]
    signals: list[SignalView]
    phases: list[dict[str, Any]]
    full_access: bool  # the reader is on this site's team (or it's the network chart)
    moving_ranges: list[float | None] = field(default_factory=list)
    mr_limits: list[tuple[float | None, float | None]] = field(default_factory=list)  # (cl, ucl) per point
    annotations: list[Annotation] = field(default_factory=list)
    available_kinds: tuple[str, ...] = ()
    # The reader is on the site's team and sees data withheld from everyone else (masked cells, or a site whose
    # data isn't shared): record_view() audits it.
    restricted: bool = False

    @property
    def masked_count(self) -> int:
        return sum(1 for p in self.points if p.masked)

    @property
    def latest(self) -> PointView | None:
        return next((p for p in reversed(self.points) if p.value is not None or p.masked), None)

    def signal_groups(self) -> list[SignalGroup]:
        """Per rule: its signals' periods, consecutive ones written as ranges, and what they mean for the measure."""
        out = []
        index = {p.period: i for i, p in enumerate(self.points)}
        for rule in dict.fromkeys(s.rule for s in self.signals):
            hits = [s for s in self.signals if s.rule == rule]
            spans: list[list[int]] = []
            for i in sorted(index[s.period] for s in hits):
                if spans and i == spans[-1][-1] + 1:
                    spans[-1].append(i)
                else:
                    spans.append([i])
            text = ", ".join(
                self.points[span[0]].label
                if len(span) == 1
                else f"{self.points[span[0]].label} – {self.points[span[-1]].label} ({len(span)} points)"
                for span in spans
            )
            outcome = outcome_of(self.measure, {s.direction for s in hits})
            out.append(SignalGroup(rule, hits[0].rule_label, SIGNAL_PLAIN[rule], hits[0].scope, text, outcome))
        return out


def parse_options(measure: Measure, *, site_id: int | None, kind: str | None, rules: str | None) -> tuple[str, str]:
    kinds = KINDS_BY_TYPE[measure.type]
    kind = kind or default_kind(measure, network=site_id is None)
    errors = {}
    if kind not in kinds:
        errors["chart"] = f"A {measure.type.value} measure is shown as: {', '.join(kinds)}."
    rules = rules or measure.rule_set
    if rules not in spc.RULESETS:
        errors["rules"] = f"Choose one of: {', '.join(spc.RULESETS)}."
    if errors:
        raise ValidationFailed(errors)
    return kind, rules


def chart_view(
    measure: Measure,
    acc: Access,
    *,
    site: Institution | None = None,
    kind: str | None = None,
    rules: str | None = None,
    data: MeasureData | None = None,
) -> ChartView:
    """The chart of one site (or the network aggregate) as `acc`'s reader may see it.

    Raises NotFound for a site whose data the reader may not see (no data, or consent withdrawn and not
    their own site), ValidationFailed for a chart or rule set that doesn't fit the measure.
    """
    kind, rules = parse_options(measure, site_id=site.id if site else None, kind=kind, rules=rules)
    data = data or load_data(measure)
    known = acc.known_site_ids
    full = site is None or site.id in known
    if site is not None and site.id not in data.cells:
        raise NotFound("This site has no data for this measure yet.")
    if site is not None and site.id not in {s.id for s in visible_sites(data, acc)}:
        raise NotFound("This site's data isn't shared with the network.")
    cells = data.cells[site.id] if site is not None else data.network()
    starts, chart = compute_chart(
        measure,
        cells,
        kind=kind,
        rules=rules,
        site_id=site.id if site else None,
    )
    suppression = data.suppression(known)
    if site is not None:
        masked_at = {i for i, s in enumerate(starts) if not full and suppression.is_masked(site.id, s)}
    else:
        masked_at = {i for i, s in enumerate(starts) if s in suppression.hidden_totals}
    hidden_phases = {
        ph.number
        for ph in chart.phases
        if any(p.baseline and p.index in masked_at for p in chart.points[ph.start : ph.end + 1])
    }
    m = measure.multiplier
    scale = m if measure.type in (MeasureType.PROPORTION, MeasureType.RATE) else 1.0
    points = []
    for i, (start, point) in enumerate(zip(starts, chart.points, strict=True)):
        masked = i in masked_at
        hide_lines = masked or point.phase in hidden_phases
        cell = cells.get(start)
        lcl, ucl = (None, None) if hide_lines else (_in_units(point.lcl, scale), _in_units(point.ucl, scale))
        if lcl is None or ucl is None:  # limits come in pairs
            lcl = ucl = None
        points.append(
            PointView(
                start=start,
                period=periods.label(start, measure.period.value),
                label=periods.short_label(start, measure.period.value),
                value=None if masked else _in_units(point.y, scale),
                numerator=None if masked or cell is None else cell.numerator,
                denominator=None if masked or cell is None else cell.denominator,
                masked=masked,
                cl=None if hide_lines else _in_units(point.cl, scale),
                lcl=lcl,
                ucl=ucl,
                rules=chart.rules_at(i),
                version=cell.version if cell and not masked else None,
                phase=point.phase,
                baseline=point.baseline,
                excluded=point.excluded,
            )
        )
    view = ChartView(
        measure=measure,
        site=site,
        kind=kind,
        rules=rules,
        points=points,
        full_access=full,
        signals=[
            SignalView(points[s.index].period, points[s.index].label, s.rule, s.label, s.scope,
                       signal_direction(chart, s))
            for s in chart.signals
        ],
        phases=[
            {
                "number": ph.number,
                "start": points[ph.start].period if points else "",
                "cl": None if ph.number in hidden_phases else _in_units(ph.cl, scale),
                "hidden": ph.number in hidden_phases,
                "n_useful": ph.n_useful,
                "longest_run": ph.longest_run,
                "longest_run_max": ph.longest_run_max,
                "crossings": ph.crossings,
                "crossings_min": ph.crossings_min,
                "runs": ph.runs,
                "runs_limits": ph.runs_limits,
                "sigma_z": None if ph.number in hidden_phases else ph.sigma_z,
                "baseline_end": points[ph.baseline_end].period if ph.baseline_end is not None else None,
            }
            for ph in chart.phases
        ],
        available_kinds=KINDS_BY_TYPE[measure.type],
        restricted=site is not None
        and site.id in known
        and (site.id not in data.consenting or suppression.withholds(site.id)),
    )
    if kind == spc.I:
        for i, mr in enumerate(chart.moving_ranges):
            hidden = i in masked_at or (i - 1) in masked_at or chart.points[i].phase in hidden_phases
            view.moving_ranges.append(None if hidden else mr)
            phase = chart.phases[chart.points[i].phase]
            view.mr_limits.append(
                (None, None) if chart.points[i].phase in hidden_phases else (phase.mr_cl, phase.mr_ucl)
            )
    return view


def _in_units(value: float | None, scale: float) -> float | None:
    """A chart value in display units (× the measure's multiplier); None if missing or too large to show."""
    if value is None or not math.isfinite(value * scale):
        return None
    return value * scale


def record_view(view: ChartView, *, by: object) -> bool:
    """Audit a chart shown to a site's team when it holds data withheld from everyone else (`view.restricted`).

    Call after the view was shown (pages and API), inside transaction(); on a GET only for a restricted view, so
    readers of other charts never take SQLite's write lock. Returns whether a row was recorded.
    """
    if not view.restricted:
        return False
    record_restricted_view(view.measure, reader=by)  # type: ignore[arg-type]  # a team member is a User
    return True
