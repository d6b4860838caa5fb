"""Run charts and Shewhart control charts with the special-cause rule sets LHN offers. Pure: no Flask, no database.

Charts (the qicharts2 names): ``run`` (median), ``p``, ``pp`` (Laney p′), ``u``, ``up`` (Laney u′), ``c`` and ``i``
(individuals, with its moving-range chart alongside). Formulas as in Montgomery, *Introduction to Statistical
Quality Control*, and ``anhoej/qicharts2`` ``R/helper.functions.R``:

- p: p̄ = Σd / Σn over the baseline; σᵢ = √(p̄(1−p̄)/nᵢ); limits clipped to [0, 1].
- u: ū = Σc / Σn; σᵢ = √(ū/nᵢ); LCL clipped at 0.      c: c̄ = mean(c); σ = √c̄; LCL clipped at 0.
- i: x̄ = mean(x); σ = MR̄ / 1.128 (MR̄ from moving ranges of neighbouring baseline points); MR chart UCL = 3.267·MR̄.
- p′, u′ (Laney 2002): σᵢ·σz with zᵢ = (yᵢ − CL)/σᵢ over the baseline and σz = mean|zᵢ − zᵢ₋₁| / 1.128.

Conventions that published tools disagree on, chosen here and pinned by tests:

- A point is outside the limits only if *strictly* beyond them (qicharts2; Minitab counts a point on the limit).
  Comparisons allow a relative 1e-9 so that floating rounding never turns "exactly on the limit" into a signal.
- Points on the centre line are not useful: they neither add to nor break a run (IHI, Anhøj, Life QI).
- In a trend, equal neighbours count once and neither make nor break it (Perla, Provost & Murray 2011).
- Limits are drawn only where there is spread to draw them from: σ = 0 (every value alike, p̄ or ū of 0 or 1, c̄ = 0,
  MR̄ = 0) draws none and so flags nothing, and a chart with no points has no phases. A number too large to compute
  with (a sum or a span that overflows) is missing, like a value never submitted: it never becomes inf or NaN.
- Limits come from the first ``baseline`` points of each phase (all of the phase if None) and are frozen after
  it. A phase starts only where the caller says (a deliberate change with a reason): never automatically.
- Rules that describe a whole phase (too few crossings, too few or too many runs) are reported once, at the
  phase's last point, with ``scope == "phase"``; point rules flag the points that make the pattern, except the
  Western Electric window rules, which flag the point that completes the pattern (Minitab's "test failed at").

Rule sets (what a measure owner chooses):

- ``shewhart_anhoj`` (default, as qicharts2): points beyond 3σ on control charts; Anhøj's longest run and
  crossings around the centre line on every chart.
- ``ihi``: the IHI run-chart rules of Perla, Provost & Murray 2011 (shift ≥ 6, trend ≥ 5, runs against their
  Table 1 for 10–60 useful points), applied from 10 useful points; on control charts also points beyond 3σ.
- ``western_electric``: WE1 beyond 3σ, WE2 2 of 3 beyond 2σ on one side, WE3 4 of 5 beyond 1σ on one side,
  WE4 8 in a row on one side of the centre line. On a run chart only WE4 (there is no sigma).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

RUN, P, PP, U, UP, C, I = "run", "p", "pp", "u", "up", "c", "i"  # noqa: E741 - "i" is the chart's usual name
CHARTS = (RUN, P, PP, U, UP, C, I)
CHART_LABELS = {
    RUN: "Run chart",
    P: "p chart",
    PP: "Laney p′ chart",
    U: "u chart",
    UP: "Laney u′ chart",
    C: "c chart",
    I: "I chart (individuals)",
}
NEEDS_DENOMINATOR = {P, PP, U, UP}

SHEWHART_ANHOJ, IHI, WESTERN_ELECTRIC = "shewhart_anhoj", "ihi", "western_electric"
RULESETS = {
    SHEWHART_ANHOJ: "Shewhart 3σ + Anhøj runs (default)",
    IHI: "IHI run-chart rules (Perla, Provost & Murray 2011)",
    WESTERN_ELECTRIC: "Western Electric rules",
}
DEFAULT_RULESET = SHEWHART_ANHOJ

RULE_LABELS = {
    "sigma": "Outside the 3-sigma control limits",
    "anhoj_run": "Unusually long run on one side of the centre line (Anhøj)",
    "anhoj_crossings": "Unusually few crossings of the centre line (Anhøj)",
    "ihi_shift": "Shift: 6 or more points in a row on one side of the centre line (IHI)",
    "ihi_trend": "Trend: 5 or more points all going up or all going down (IHI)",
    "ihi_runs_few": "Too few runs (IHI runs table)",
    "ihi_runs_many": "Too many runs (IHI runs table)",
    "we1": "Western Electric 1: a point beyond 3σ",
    "we2": "Western Electric 2: 2 of 3 points beyond 2σ on one side",
    "we3": "Western Electric 3: 4 of 5 points beyond 1σ on one side",
    "we4": "Western Electric 4: 8 points in a row on one side of the centre line",
}

RULE_SHORT = {
    "sigma": "beyond 3σ",
    "anhoj_run": "long run",
    "anhoj_crossings": "few crossings",
    "ihi_shift": "shift",
    "ihi_trend": "trend",
    "ihi_runs_few": "too few runs",
    "ihi_runs_many": "too many runs",
    "we1": "WE1",
    "we2": "WE2",
    "we3": "WE3",
    "we4": "WE4",
}

D2 = 1.128  # d2 for moving ranges of two points, as Montgomery and qicharts2 print it
D4 = 3.267  # D4 for moving ranges of two points
REL_TOL = 1e-9

# Perla RJ, Provost LP, Murray SK. The run chart. BMJ Qual Saf 2011;20:46–51, Table 1 ("Checking for too many
# or too few runs"), used verbatim: useful observations -> (lower limit, upper limit) for the number of runs.
PERLA_RUNS_TABLE: dict[int, tuple[int, int]] = {
    10: (3, 9),
    11: (3, 10),
    12: (3, 11),
    13: (4, 11),
    14: (4, 12),
    15: (5, 12),
    16: (5, 13),
    17: (5, 13),
    18: (6, 14),
    19: (6, 15),
    20: (6, 16),
    21: (7, 16),
    22: (7, 17),
    23: (7, 17),
    24: (8, 18),
    25: (8, 18),
    26: (9, 19),
    27: (10, 19),
    28: (10, 20),
    29: (10, 20),
    30: (11, 21),
    31: (11, 22),
    32: (11, 23),
    33: (12, 23),
    34: (12, 24),
    35: (12, 24),
    36: (13, 25),
    37: (13, 25),
    38: (14, 26),
    39: (14, 26),
    40: (15, 27),
    41: (15, 27),
    42: (16, 28),
    43: (16, 28),
    44: (17, 29),
    45: (17, 30),
    46: (17, 31),
    47: (18, 31),
    48: (18, 32),
    49: (19, 32),
    50: (19, 33),
    51: (20, 33),
    52: (20, 34),
    53: (21, 34),
    54: (21, 35),
    55: (22, 35),
    56: (22, 35),
    57: (23, 36),
    58: (23, 37),
    59: (24, 38),
    60: (24, 38),
}
IHI_MIN_USEFUL = 10
IHI_SHIFT, IHI_TREND = 6, 5
WE4_RUN = 8


@dataclass
class Point:
    index: int
    y: float | None
    cl: float | None = None
    lcl: float | None = None
    ucl: float | None = None
    sigma: float | None = None  # σᵢ for the zone rules (Laney-adjusted on prime charts)
    phase: int = 0
    baseline: bool = False
    excluded: bool = False  # left out of its phase's baseline by a person, with a reason (still plotted and judged)


@dataclass
class PhaseStats:
    number: int
    start: int  # first index of the phase
    end: int  # last index of the phase
    cl: float | None
    baseline_end: int | None  # last index whose value went into the centre line and limits
    n_useful: int = 0
    longest_run: int = 0
    longest_run_max: int | None = None
    crossings: int = 0
    crossings_min: int | None = None
    runs: int = 0
    runs_limits: tuple[int, int] | None = None  # IHI lower-upper, when the rule applies
    sigma_z: float | None = None  # Laney's correction on prime charts
    mr_cl: float | None = None  # I chart: mean moving range of the baseline
    mr_ucl: float | None = None


@dataclass(frozen=True, order=True)
class Signal:
    index: int
    rule: str
    scope: str = "point"  # "point" or "phase" (a property of the whole phase, reported at its last point)

    @property
    def label(self) -> str:
        return RULE_LABELS[self.rule]


@dataclass
class Chart:
    kind: str
    rules: str
    points: list[Point]
    phases: list[PhaseStats]
    signals: list[Signal] = field(default_factory=list)
    moving_ranges: list[float | None] = field(default_factory=list)  # I chart only

    def rules_at(self, index: int) -> list[str]:
        return [s.rule for s in self.signals if s.index == index and s.scope == "point"]

    def phase_signals(self) -> list[Signal]:
        return [s for s in self.signals if s.scope == "phase"]


# --- small exact helpers -----------------------------------------------------------------------------


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12)


def _finite(value: float | None) -> float | None:
    """The value, or None for an overflow (inf) or NaN: a number that can't be drawn or written as JSON."""
    return value if value is not None and math.isfinite(value) else None


def _sd(variance: float) -> float | None:
    """√variance, or None where there is no spread to draw limits from (zero, or not a finite positive number)."""
    return math.sqrt(variance) if variance > 0 and math.isfinite(variance) else None


def _log_comb(n: int, k: int) -> float:
    """log C(n, k)."""
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def beyond(y: float, lcl: float | None, ucl: float | None) -> bool:
    """Strictly outside the limits; a point on a limit (up to floating rounding) is inside."""
    above = ucl is not None and y > ucl and not _close(y, ucl)
    below = lcl is not None and y < lcl and not _close(y, lcl)
    return above or below


def longest_run_max(n_useful: int) -> int:
    """Anhøj: upper 95% prediction limit for the longest run, round(log2(n)) + 3 (Schilling 2012)."""
    return round(math.log2(n_useful)) + 3


def crossings_min(n_useful: int) -> int:
    """Anhøj: the 5% quantile of Binomial(n − 1, ½), i.e. R's qbinom(0.05, n − 1, 0.5).

    In logarithms (lgamma), so that a long series costs linear time; P(X ≤ k) is never exactly 5% (2ⁿ⁻¹ / 20 is
    not a whole number), so floating rounding can't move the quantile."""
    trials = max(n_useful - 1, 0)
    cumulative = 0.0
    for k in range(trials + 1):
        cumulative += math.exp(_log_comb(trials, k) - trials * math.log(2))
        if cumulative >= 0.05:  # P(X <= k) >= 0.05
            return k
    return trials


def swed_eisenhart_limits(above: int, below: int, tail: float = 0.025) -> tuple[int, int]:
    """Exact runs distribution for `above` and `below` useful points: the fewest and the most runs that are
    not signals at `tail` in each tail. Used beyond Perla's table (more than 60 useful points)."""
    n = above + below
    if above == 0 or below == 0:
        return 1, 1
    # In logarithms (lgamma), so that a long series costs linear time: exact binomials of thousands of points
    # took seconds on every chart view.
    log_total = _log_comb(n, above)

    def term(k_above: int, k_below: int) -> float:
        if not (0 <= k_above <= above - 1 and 0 <= k_below <= below - 1):
            return 0.0
        return math.exp(_log_comb(above - 1, k_above) + _log_comb(below - 1, k_below) - log_total)

    def probability(runs: int) -> float:
        k, odd = divmod(runs, 2)
        if not odd:
            return 2 * term(k - 1, k - 1)
        return term(k - 1, k) + term(k, k - 1)

    most = 2 * min(above, below) + (1 if above != below else 0)
    dist = {r: probability(r) for r in range(2, most + 1)}
    low, cumulative = 2, 0.0
    for r in range(2, most + 1):
        cumulative += dist[r]
        if cumulative > tail * (1 + REL_TOL):  # a tail of exactly 2.5% (as 2/80) is not more than 2.5%
            low = r
            break
    high, cumulative = most, 0.0
    for r in range(most, 1, -1):
        cumulative += dist[r]
        if cumulative > tail * (1 + REL_TOL):
            high = r
            break
    return low, high


def runs_limits(n_useful: int, above: int, below: int) -> tuple[int, int] | None:
    """IHI runs test limits: Perla's Table 1 for 10–60 useful points, the exact distribution beyond."""
    if n_useful < IHI_MIN_USEFUL:
        return None
    if n_useful in PERLA_RUNS_TABLE:
        return PERLA_RUNS_TABLE[n_useful]
    return swed_eisenhart_limits(above, below)


# --- pattern finders (also used directly by the tests) ---------------------------------------------------


def sides(values: Sequence[float | None], centre: Sequence[float | None]) -> list[tuple[int, int]]:
    """(index, +1 above / −1 below) for useful points: present, with a centre, and not on it."""
    out = []
    for i, (y, cl) in enumerate(zip(values, centre, strict=True)):
        if y is None or cl is None or _close(y, cl):
            continue
        out.append((i, 1 if y > cl else -1))
    return out


def runs_of(useful: list[tuple[int, int]]) -> list[list[int]]:
    """Consecutive useful points on the same side, as lists of indices."""
    runs: list[list[int]] = []
    last_side = 0
    for index, side in useful:
        if side == last_side:
            runs[-1].append(index)
        else:
            runs.append([index])
            last_side = side
    return runs


def trends(values: Sequence[float | None], minimum: int = IHI_TREND) -> list[list[int]]:
    """Runs of `minimum` or more points all going up or all going down; equal neighbours count once.

    Returns the indices of every point in each trend (ties included). Missing values are skipped."""
    groups: list[tuple[float, list[int]]] = []  # equal neighbours collapsed into one step
    for i, y in enumerate(values):
        if y is None:
            continue
        if groups and _close(groups[-1][0], y):
            groups[-1][1].append(i)
        else:
            groups.append((y, [i]))
    found: list[list[int]] = []
    start = 0
    while start < len(groups) - 1:
        rising = groups[start + 1][0] > groups[start][0]
        end = start + 1
        while end + 1 < len(groups) and (groups[end + 1][0] > groups[end][0]) == rising:
            end += 1
        if end - start + 1 >= minimum:
            found.append([i for _, indices in groups[start : end + 1] for i in indices])
        start = end  # the turning point starts the next run
    return found


# --- limits ------------------------------------------------------------------------------------------


def _mean_moving_range(values: list[float | None]) -> float | None:
    ranges = [abs(b - a) for a, b in itertools.pairwise(values) if a is not None and b is not None]
    return sum(ranges) / len(ranges) if ranges else None


def _phase_limits(
    kind: str, y: list[float | None], num: list[float | None], den: list[float | None], base: list[int]
) -> tuple[float | None, list[float | None], PhaseStats]:
    """Centre line and σᵢ for every point of one phase, from the baseline indices `base` (phase-relative)."""
    stats = PhaseStats(number=0, start=0, end=0, cl=None, baseline_end=None)
    sigmas: list[float | None] = [None] * len(y)
    if not base:
        return None, sigmas, stats
    in_base = set(base)
    # Moving ranges join neighbours only: a missing or excluded point breaks them.
    span = [y[i] if i in in_base else None for i in range(base[0], base[-1] + 1)]
    if kind == RUN:
        return _finite(statistics.median(y[i] for i in base)), sigmas, stats  # type: ignore[type-var]
    if kind in (P, PP, U, UP):
        total = _finite(sum(den[i] for i in base))  # type: ignore[misc]
        cl = _finite(sum(num[i] for i in base) / total) if total else None  # type: ignore[misc]
        if cl is None:
            return None, sigmas, stats
        for i, n in enumerate(den):
            if n:
                sigmas[i] = _sd(cl * (1 - cl) / n) if kind in (P, PP) else _sd(cl / n)
        if kind in (PP, UP):
            z = [
                (v - cl) / s if v is not None and s else None
                for v, s in zip(span, sigmas[base[0] : base[-1] + 1], strict=True)
            ]
            mr = _mean_moving_range(z)
            stats.sigma_z = _finite(mr / D2) if mr is not None else None
            sigmas = [s * stats.sigma_z if s is not None and stats.sigma_z is not None else None for s in sigmas]
        return cl, sigmas, stats
    if kind == C:
        cl = _finite(sum(y[i] for i in base) / len(base))  # type: ignore[misc]
        return cl, [_sd(cl) if cl is not None else None] * len(y), stats
    if kind == I:
        cl = _finite(sum(y[i] for i in base) / len(base))  # type: ignore[misc]
        mr = _finite(_mean_moving_range(span))
        stats.mr_cl = mr
        stats.mr_ucl = _finite(D4 * mr) if mr else None  # MR̄ = 0: no spread, no limit
        return cl, [mr / D2 if mr is not None else None] * len(y), stats
    raise ValueError(f"unknown chart {kind!r}")


def _clip(kind: str, lcl: float, ucl: float) -> tuple[float, float]:
    if kind in (P, PP):
        return max(lcl, 0.0), min(ucl, 1.0)
    if kind in (U, UP, C):
        return max(lcl, 0.0), ucl
    return lcl, ucl


# --- the chart ---------------------------------------------------------------------------------------


def compute(
    kind: str,
    num: Sequence[float | None],
    den: Sequence[float | None] | None = None,
    *,
    phases: Sequence[int] = (),
    baseline: int | None = None,
    excluded: Collection[int] = (),
    rules: str = DEFAULT_RULESET,
) -> Chart:
    """Compute a chart over points in time order.

    `num` are the values (counts for p/u/c, the measurements for i and run charts of counts or values) and
    `den` the denominators (needed for p, p′, u, u′; on a run chart the plotted value is num/den when given).
    `phases` are the indices where deliberate new phases start; `baseline` is how many points of each phase
    make its centre line and limits (frozen after), or None for all; `excluded` are indices left out of the
    baseline (a special cause someone explained: Montgomery's revised limits), still plotted and judged against
    the limits. Missing points are None.
    """
    if kind not in CHARTS:
        raise ValueError(f"unknown chart {kind!r}")
    if rules not in RULESETS:
        raise ValueError(f"unknown rule set {rules!r}")
    if kind in NEEDS_DENOMINATOR and den is None:
        raise ValueError(f"a {kind} chart needs denominators")
    n = len(num)
    denominators: list[float | None] = list(den) if den is not None else [None] * n
    if len(denominators) != n:
        raise ValueError("num and den must have the same length")
    values: list[float | None] = []
    for a, b in zip(num, denominators, strict=True):
        if a is None or (den is not None and not b):
            values.append(None)
        elif b is None:  # no denominators: the value itself
            values.append(_finite(float(a)))
        else:
            values.append(_finite(a / b))
    starts = sorted({0, *(p for p in phases if 0 < p < n)}) if n else []
    left_out = set(excluded)
    points = [Point(index=i, y=values[i], excluded=i in left_out) for i in range(n)]
    chart = Chart(kind=kind, rules=rules, points=points, phases=[])
    if kind == I:  # one per point: the first has no neighbour before it
        ranges = [
            _finite(abs(b - a)) if a is not None and b is not None else None for a, b in itertools.pairwise(values)
        ]
        chart.moving_ranges = [None, *ranges][:n]
    for number, start in enumerate(starts):
        end = (starts[number + 1] if number + 1 < len(starts) else n) - 1
        chart.phases.append(_phase(chart, number, start, end, values, num, denominators, baseline, left_out))
    chart.signals = sorted(set(chart.signals))
    return chart


def _phase(
    chart: Chart,
    number: int,
    start: int,
    end: int,
    values: list[float | None],
    num: Sequence[float | None],
    den: list[float | None],
    baseline: int | None,
    excluded: set[int],
) -> PhaseStats:
    kind = chart.kind
    y = values[start : end + 1]
    present = [i for i, v in enumerate(y) if v is not None]
    base = [i for i in (present[:baseline] if baseline else present) if start + i not in excluded]
    cl, sigmas, stats = _phase_limits(kind, y, list(num[start : end + 1]), den[start : end + 1], base)
    stats.number, stats.start, stats.end, stats.cl = number, start, end, cl
    stats.baseline_end = start + base[-1] if base else None
    in_base = set(base)  # a set: `in` on the list made long series quadratic
    for offset in range(len(y)):
        point = chart.points[start + offset]
        point.phase, point.cl, point.baseline = number, cl, offset in in_base
        sigma = _finite(sigmas[offset])
        if cl is not None and sigma and kind != RUN:  # σ = 0: no limits, so no point can be beyond them
            lcl, ucl = _clip(kind, cl - 3 * sigma, cl + 3 * sigma)
            if math.isfinite(lcl) and math.isfinite(ucl):
                point.sigma, point.lcl, point.ucl = sigma, lcl, ucl
    _apply_rules(chart, stats, start, end)
    return stats


def _apply_rules(chart: Chart, stats: PhaseStats, start: int, end: int) -> None:
    points = chart.points[start : end + 1]
    y = [p.y for p in points]
    useful = sides(y, [p.cl for p in points])
    runs = runs_of(useful)
    stats.n_useful = len(useful)
    stats.runs = len(runs)
    stats.crossings = max(len(runs) - 1, 0)
    stats.longest_run = max((len(r) for r in runs), default=0)
    control = chart.kind != RUN
    last = max((p.index for p in points if p.y is not None), default=None)
    if last is None:
        return
    found: list[Signal] = []
    if control and chart.rules in (SHEWHART_ANHOJ, IHI):
        found += [Signal(p.index, "sigma") for p in points if p.y is not None and beyond(p.y, p.lcl, p.ucl)]
    if chart.rules == SHEWHART_ANHOJ and useful:
        stats.longest_run_max = longest_run_max(stats.n_useful)
        stats.crossings_min = crossings_min(stats.n_useful)
        for run in runs:
            if len(run) > stats.longest_run_max:
                found += [Signal(start + i, "anhoj_run") for i in run]
        if stats.crossings < stats.crossings_min:
            found.append(Signal(last, "anhoj_crossings", "phase"))
    if chart.rules == IHI and stats.n_useful >= IHI_MIN_USEFUL:
        for run in runs:
            if len(run) >= IHI_SHIFT:
                found += [Signal(start + i, "ihi_shift") for i in run]
        for trend in trends(y):
            found += [Signal(start + i, "ihi_trend") for i in trend]
        above = sum(1 for _, side in useful if side > 0)
        stats.runs_limits = runs_limits(stats.n_useful, above, stats.n_useful - above)
        if stats.runs_limits is not None:
            low, high = stats.runs_limits
            if stats.runs < low:
                found.append(Signal(last, "ihi_runs_few", "phase"))
            elif stats.runs > high:
                found.append(Signal(last, "ihi_runs_many", "phase"))
    if chart.rules == WESTERN_ELECTRIC:
        found += _western_electric(points, control, start, runs)
    chart.signals.extend(found)


def _western_electric(points: list[Point], control: bool, start: int, runs: list[list[int]]) -> list[Signal]:
    found = []
    for run in runs:  # WE4: from the 8th point of a run on one side onwards
        found += [Signal(start + i, "we4") for i in run[WE4_RUN - 1 :]]
    if not control:
        return found
    present = [p for p in points if p.y is not None and p.sigma]
    found += [Signal(p.index, "we1") for p in present if beyond(p.y, p.lcl, p.ucl)]  # type: ignore[arg-type]
    z = [(p.y - p.cl) / p.sigma for p in present]  # type: ignore[operator]
    for width, needed, limit, rule in ((3, 2, 2.0, "we2"), (5, 4, 1.0, "we3")):
        for last in range(width - 1, len(present)):
            window = z[last - width + 1 : last + 1]
            high = sum(1 for v in window if v > limit and not _close(v, limit))
            low = sum(1 for v in window if v < -limit and not _close(v, -limit))
            if high >= needed or low >= needed:
                found.append(Signal(present[last].index, rule))
    return found
