"""The pages of charts as one reader sees them: a community's dashboard of measure cards, and a measure's chart page
(the chart, the sites they may pick, owners, cycles, notes)."""

from __future__ import annotations

from dataclasses import dataclass

from lhn.accounts import services as accounts
from lhn.accounts.models import Institution
from lhn.communities.models import Community
from lhn.errors import NotFound, ValidationFailed
from lhn.measures import spc
from lhn.measures.models import BaselineExclusion, Measure, MeasureOwner, OwnerInvitation, PdsaCycle, PhaseChange
from lhn.measures.services import charts, learning, periods
from lhn.measures.services.charts import Annotation, ChartView
from lhn.measures.services.core import Access, access
from lhn.measures.services.definitions import list_measures
from lhn.measures.services.funnel import FUNNEL_TYPES, Funnel, funnel
from lhn.measures.services.owners import co_owned, co_owned_by_id, list_owners, pending_invitation
from lhn.pagination import Page


@dataclass
class MeasureCard:
    """One measure on its community's dashboard: its default chart as the reader sees it."""

    measure: Measure
    view: ChartView
    co_owned: bool
    signals: list[str]  # the rules that fire on that chart, by label


def measure_cards(
    community: Community, *, viewer: object, cursor: str | None = None
) -> tuple[Page[Measure], list[MeasureCard]]:
    """A page of the community's measures and a card for each. Raises PermissionDenied (community unreadable),
    ValidationFailed (a bad cursor)."""
    page = list_measures(community, viewer=viewer, cursor=cursor)
    shared = co_owned_by_id([m.id for m in page.items])
    cards = []
    for measure in page.items:
        view = charts.chart_view(measure, access(measure, viewer))
        cards.append(MeasureCard(measure, view, shared[measure.id], sorted({s.rule_label for s in view.signals})))
    return page, cards


@dataclass
class ChartPage:
    measure: Measure
    acc: Access
    site: Institution | None  # None: the network aggregate
    view: ChartView
    title: str  # of the chart figure
    error: str  # why the chart or rules asked for aren't shown (the default chart is)
    chosen_kind: str  # the chart asked for and shown, "" for the recommended one
    sites: list[Institution]  # the sites the reader may pick, by name (charts.visible_sites)
    owners: list[MeasureOwner]
    co_owned: bool
    annotations: list[Annotation]
    cycles: list[PdsaCycle]
    phases: list[PhaseChange]
    exclusions: list[BaselineExclusion]  # points of this chart left out of their baseline
    funnel: Funnel | None  # on the network chart of a proportion or rate: the sites compared
    invitation: OwnerInvitation | None  # the reader's open invitation to co-own the measure
    annotation_site: list[tuple[str, str]]  # where the reader may add a note or phase: the chart shown, or nothing
    period_example: str


def chart_page(
    measure: Measure, *, viewer: object, site_slug: str | None, kind: str | None, rules: str | None
) -> ChartPage:
    """The chart page of `measure` for `viewer`: one site's chart or the network's, in the chart and rules asked for
    (or the measure's own, with the reason in `error`). Reads only; a restricted view is audited by the caller
    (charts.record_view) after it was shown. Raises NotFound (no such site, the measure or the site's data not
    visible to the viewer)."""
    acc = access(measure, viewer)
    site = accounts.find_institution(site_slug) if site_slug else None
    if site_slug and site is None:
        raise NotFound("No such site.")
    data = charts.load_data(measure)
    error = ""
    try:
        view = charts.chart_view(measure, acc, site=site, kind=kind, rules=rules, data=data)
    except ValidationFailed as exc:
        error = " ".join(exc.errors.values())
        view = charts.chart_view(measure, acc, site=site, data=data)
    site_id = site.id if site else None
    owners = list_owners(measure)
    return ChartPage(
        measure=measure,
        acc=acc,
        site=site,
        view=view,
        title=f"{measure.name} — {site.name if site else 'All sites'} — {spc.CHART_LABELS[view.kind]}",
        error=error,
        chosen_kind=kind if kind and not error else "",
        sites=sorted(charts.visible_sites(data, acc), key=lambda s: s.name),
        owners=owners,
        co_owned=co_owned([o.user for o in owners]),
        annotations=learning.chart_annotations(measure, site_id=site_id),
        cycles=learning.list_cycles(measure, site_id=site_id),
        phases=charts.phase_changes(measure, site_id),
        exclusions=charts.baseline_exclusions(measure, site_id),
        funnel=_funnel(data, acc) if site is None else None,
        invitation=pending_invitation(measure, viewer),
        annotation_site=annotation_site(acc, site),
        period_example=periods.EXAMPLES[measure.period.value],
    )


def _funnel(data: charts.MeasureData, acc: Access) -> Funnel | None:
    """The funnel plot when it can compare anything: a proportion or rate measure, two sites or more plotted."""
    if data.measure.type not in FUNNEL_TYPES:
        return None
    plot = funnel(data, acc)
    return plot if len(plot.sites) >= 2 else None


def annotation_site(acc: Access, site: Institution | None) -> list[tuple[str, str]]:
    """Notes and phases go on the chart being looked at, if the reader may annotate it: its site as a choice."""
    if site is None:
        return [("", "All sites (network chart)")] if acc.is_owner else []
    return [(site.slug, site.name)] if acc.can_annotate(site.id) else []
