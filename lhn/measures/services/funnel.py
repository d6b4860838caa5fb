"""Sites compared: a funnel plot of a proportion or rate measure (Spiegelhalter, "Funnel plots for comparing
institutional performance", Stat Med 2005). Each site's total over a window of recent periods is plotted against
its denominator; the limits around the pooled value narrow as the denominator grows, so a small site is not
flagged for what chance alone would give it.

Limits for a site with denominator n: p̄ ± z·√(p̄(1 − p̄)/n) for a proportion, ū ± z·√(ū/n) for a rate, at
z = 1.96 (95 %) and z = 3.09 (99.8 %), clipped at 0 (and 1 for a proportion). p̄ (ū) pools the sites plotted.

Privacy: only sites whose data the reader may see (charts.visible_sites). A site is left out when its total over
the window would reveal a masked cell (the visible cells subtracted from the total give it back) or is itself a
small count. The plot is a shared view, the same for every reader: a site's own team sees its withheld cells on
its own chart (audited there), not here. The pooled value comes from the sites plotted, so everything in it is
on the plot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from lhn.accounts.models import Institution
from lhn.measures.models import Measure, MeasureType
from lhn.measures.services import periods, privacy
from lhn.measures.services.charts import MeasureData, visible_sites
from lhn.measures.services.core import Access

WINDOW = 12  # periods: the latest year of a monthly measure
Z95, Z998 = 1.96, 3.09
FUNNEL_TYPES = (MeasureType.PROPORTION, MeasureType.RATE)


@dataclass
class FunnelSite:
    site: Institution
    numerator: float
    denominator: float
    value: float  # numerator / denominator
    limits95: tuple[float, float]
    limits998: tuple[float, float]

    @property
    def position(self) -> str:
        """"above" or "below" the 99.8 % limits (a special cause worth a look), "warning" outside only the 95 % ones,
        else "within"."""
        low, high = self.limits998
        if self.value > high:
            return "above"
        if self.value < low:
            return "below"
        return "warning" if not self.limits95[0] <= self.value <= self.limits95[1] else "within"


@dataclass
class Funnel:
    measure: Measure
    first: date | None  # the window's first and last periods
    last: date | None
    centre: float | None  # pooled over the sites plotted
    sites: list[FunnelSite]
    left_out: int  # visible sites not plotted (small or masked counts in the window)

    def limits(self, denominator: float, z: float) -> tuple[float, float]:
        return limits_at(self.measure, self.centre or 0.0, denominator, z)

    @property
    def window(self) -> str:
        if self.first is None or self.last is None:
            return ""
        kind = self.measure.period.value
        return f"{periods.label(self.first, kind)} – {periods.label(self.last, kind)}"


def limits_at(measure: Measure, centre: float, denominator: float, z: float) -> tuple[float, float]:
    variance = centre * (1 - centre) if measure.type == MeasureType.PROPORTION else centre
    spread = z * math.sqrt(max(variance, 0.0) / denominator)
    high = centre + spread
    return max(0.0, centre - spread), min(1.0, high) if measure.type == MeasureType.PROPORTION else high


def funnel(data: MeasureData, acc: Access) -> Funnel:
    """The funnel plot of the latest WINDOW periods with data, as `acc`'s reader may see it. Reads only."""
    measure = data.measure
    starts = sorted({start for site_id in data.consenting for start in data.cells.get(site_id, {})})
    window = set(starts[-WINDOW:])
    suppression = data.suppression(set())  # a shared view: the same for every reader, a site's own team included
    kind = measure.type.value
    totals: list[tuple[Institution, float, float]] = []
    left_out = 0
    for site in visible_sites(data, acc):
        cells = {s: c for s, c in data.cells.get(site.id, {}).items() if s in window}
        numerator = sum(c.numerator for c in cells.values())
        denominator = sum(c.denominator or 0.0 for c in cells.values())
        if not cells or not (math.isfinite(numerator) and math.isfinite(denominator)) or denominator <= 0:
            continue  # nothing to plot, or sums past the largest float (as the network chart leaves them out)
        hides = any((site.id, s) in suppression.masked for s in cells)
        if hides or privacy.is_small(privacy.counts_of(kind, numerator, denominator)):
            left_out += 1
            continue
        totals.append((site, numerator, denominator))
    pooled_den = sum(d for _, _, d in totals)
    centre = sum(n for _, n, _ in totals) / pooled_den if pooled_den else None
    sites = [
        FunnelSite(site, n, d, n / d, limits_at(measure, centre, d, Z95), limits_at(measure, centre, d, Z998))
        for site, n, d in totals
        if centre is not None
    ]
    return Funnel(measure, min(window, default=None), max(window, default=None), centre, sites, left_out)
