"""Signals that new data makes fire on a measure's own charts, which way they point, and who is told.

Computed on full data, in memory, before an import's write transaction (new_signals); sent in it
(notify_new_signals). The notice says "improved" or "worsened" when the newest period's signals all point one way.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from lhn import database, signals
from lhn.accounts.models import Institution, User
from lhn.extensions import db
from lhn.measures import spc
from lhn.measures.models import Measure
from lhn.measures.services import periods
from lhn.measures.services.charts import (
    Cell,
    MeasureData,
    compute_chart,
    default_kind,
    load_data,
    outcome_of,
    signal_direction,
)
from lhn.measures.services.core import site_teams
from lhn.measures.services.owners import list_owners


def signal_keys(measure: Measure, data: MeasureData, site_id: int | None) -> set[tuple[str, str, str]]:
    """(period, rule, direction) of every signal on the measure's own chart for a site or the network, on full
    data; the direction is "up" or "down" (the way the signal points), or "" for rules about runs as a whole."""
    cells = data.cells.get(site_id, {}) if site_id is not None else data.network()
    if not cells:
        return set()
    starts, chart = compute_chart(
        measure,
        cells,
        kind=default_kind(measure, network=site_id is None),
        rules=measure.rule_set,
        site_id=site_id,
    )
    label = measure.period.value
    return {(periods.label(starts[s.index], label), s.rule, signal_direction(chart, s)) for s in chart.signals}


# Per chart scope (a site id, or None for the network): the (period, rule, direction) of signals new data made fire.
NewSignals = dict[int | None, list[tuple[str, str, str]]]


def new_signals(measure: Measure, cells: dict[tuple[int, date], Cell]) -> NewSignals:
    """The signals that storing `cells` (new values by site and period) will newly make fire on the measure's own
    charts of their sites and of the network, computed in memory from the data as it is now. Slow: imports call
    it before their write transaction, and notify_new_signals() sends what it found."""
    database.slow_work("computing charts")
    before = load_data(measure)
    after = before.with_cells(cells)
    out: NewSignals = {}
    for scope in (*sorted({site_id for site_id, _ in cells}), None):
        new = sorted(signal_keys(measure, after, scope) - signal_keys(measure, before, scope))
        if new:
            out[scope] = new
    return out


def notify_new_signals(measure: Measure, new: NewSignals, *, by: User) -> int:
    """Tell the owners (and the site's team) about rules that newly fired (from new_signals()). Cheap: a few
    queries for the recipients, so imports call it in their write transaction.

    Sends signals.measure_signal_detected once per site (and once for the network). Returns how many sent.
    """
    if not new:
        return 0
    owners = [o.user for o in list_owners(measure)]
    site_ids = {scope for scope in new if scope is not None}
    sites = {s.id: s for s in db.session.scalars(select(Institution).where(Institution.id.in_(site_ids)))}
    teams = site_teams(measure, set(sites))
    sent = 0
    for scope, keys in new.items():
        rules = sorted({spc.RULE_LABELS[rule].split(" (")[0] for _, rule, _ in keys})
        latest = max(period for period, _, _ in keys)  # what the newest data shows (a shift up also leaves a
        # long run below the new centre line behind it: old news, pointing the other way)
        outcome = outcome_of(measure, {direction for period, _, direction in keys if period == latest})
        site = sites.get(scope)  # type: ignore[arg-type]  # None (the network) finds nothing
        if scope is None:
            where, recipients, url = "the network", owners, f"/measures/{measure.id}"
        else:
            where = site.name if site else "a site"
            recipients = list({u.id: u for u in [*owners, *teams.get(scope, [])]}.values())
            url = f"/measures/{measure.id}?site={site.slug}" if site else f"/measures/{measure.id}"
        what = f"“{measure.name}” {outcome} at {where}" if outcome else f"New signal on “{measure.name}” at {where}"
        signals.measure_signal_detected.send(
            measure, recipients=recipients, text=f"{what}: {'; '.join(rules)}.", url=url, actor=by,
            community_id=measure.community_id, outcome=outcome,
        )  # fmt: skip
        sent += 1
    return sent
