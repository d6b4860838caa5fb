"""Small-cell and complementary suppression for cross-site outputs. Pure: no Flask, no database.

The rule (CMS cell-size policy, as LHN applies it): in any view shared beyond a site's own team, a count of
1–10 is not shown, nor anything it can be derived from. A cell is one site's value for one period; its
*counts* are the numbers a reader could learn people from:

- proportion: the numerator and denominator − numerator;  rate: the events;  count: the count;
- continuous: n, the number of people the mean is of.

A cell is *small* when any of its counts is 1–10 (zero may be shown). Small cells are masked (nothing of the
cell is shown: no value, numerator, denominator or limit). Every period also publishes a network total computed
on full data, so a lone masked cell would be the total minus the others: complementary suppression masks
further cells of the period until the masked cells are safe.

One pattern for every reader. Which cells are masked does not depend on who reads: a site's team sees its own
cells (they are its data) and otherwise the same pattern as everyone else. So two readers pooling what they see
learn nothing beyond what their sites' teams know anyway: the union of their views is the pattern plus their
own sites' cells. (Computing the pattern per reader, as this module once did, let a site's team recover a
masked cell by comparing its view with an outsider's, since the two views masked different cover cells.)

Safe against a coalition of sites. The teams of up to COALITION sites may pool their own cells, and each
knows its own. The masked cells M of a period are safe when, for every set S of at most COALITION sites,
the cells M − S they don't know are either free of small cells (what remains is nobody else's small count),
or at least two cells whose summed counts are each 0 or more than 10 (only the sum of M − S can be derived:
total − shown − S). Cover cells are added smallest first (the least information lost), ties broken by site.
If no choice of covers is safe (too few sites report in the period), the period's network total is hidden
instead and only the small cells are masked: without the total there is nothing to subtract from. A total
that is itself 1–10 is always hidden.

Other totals (a site's centre line over its baseline, the network centre line) are published only when none
of the cells they sum is masked for the reader; lhn/measures/charts.py applies that rule.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

SMALL_MIN, SMALL_MAX = 1, 10
# How many sites' teams may pool their own cells without recovering anyone else's small count.
COALITION = 2


def is_small_count(value: float) -> bool:
    return SMALL_MIN <= value <= SMALL_MAX


def counts_of(kind: str, numerator: float, denominator: float | None) -> tuple[float, ...]:
    """The counts a cell reveals, by measure type (see the module docstring)."""
    if kind == "proportion":
        return (numerator, (denominator or 0) - numerator)
    if kind == "continuous":
        return (denominator or 0,)
    return (numerator,)  # rate: events; count: the count


def is_small(counts: Sequence[float]) -> bool:
    return any(is_small_count(c) for c in counts)


def _sums(groups: Iterable[Sequence[float]]) -> tuple[float, ...]:
    totals: list[float] = []
    for counts in groups:
        if not totals:
            totals = [0.0] * len(counts)
        for i, c in enumerate(counts):
            totals[i] += c
    return tuple(totals)


def group_is_safe(masked: Sequence[Sequence[float]], *, coalition: int = COALITION) -> bool:
    """The masked cells of one published total, safe against any `coalition` sites pooling their own cells:
    whichever of them are known, the rest hold no small cell, or are two or more cells whose summed counts
    aren't 1–10 (the sum of the rest is all that can be derived).

    Checked without trying every coalition: (1) some small cell can be left alone only if fewer than
    coalition + 2 cells are masked; (2) a sum of cells that aren't small is never small (each count is 0 or
    more than 10), so it is enough that no set of at most `coalition` masked cells sums, in any count, to
    between total − 10 and total − 1.
    """
    if not any(is_small(counts) for counts in masked):
        return True
    if len(masked) < coalition + 2:
        return False
    total = _sums(masked)
    for j, whole in enumerate(total):
        if _some_sum_between([counts[j] for counts in masked], whole - SMALL_MAX, whole - SMALL_MIN, coalition):
            return False
    return True


def _some_sum_between(values: list[float], low: float, high: float, most: int) -> bool:
    """Whether at most `most` of `values` (the empty set included) sum to between low and high."""
    if low <= 0 <= high:
        return True
    if most >= 1 and any(low <= v <= high for v in values):
        return True
    if most == 2:  # pairs: for each value, binary-search its partners among the values after it
        ordered = sorted(values)
        for i, v in enumerate(ordered):
            k = bisect_left(ordered, low - v, i + 1)
            if k < len(ordered) and ordered[k] <= high - v:
                return True
        return False
    return any(low <= sum(chosen) <= high for size in range(3, most + 1) for chosen in combinations(values, size))


@dataclass
class Suppression:
    masked: set[tuple[Hashable, Hashable]]  # (site, period) cells withheld outside the site's team: one pattern
    hidden_totals: set[Hashable]  # periods whose network total nobody may see
    known: set[Hashable] = field(default_factory=set)  # sites whose team the reader is on: shown whole to them

    def is_masked(self, site: Hashable, period: Hashable) -> bool:
        """Whether this reader may not see the cell."""
        return site not in self.known and (site, period) in self.masked

    def withholds(self, site: Hashable) -> bool:
        """Whether any cell of `site` is masked for readers outside its team (restricted data, for the audit)."""
        return any(s == site for s, _ in self.masked)


def suppress(
    cells: Mapping[tuple[Hashable, Hashable], Sequence[float]],
    *,
    known_sites: Iterable[Hashable] = (),
    coalition: int = COALITION,
) -> Suppression:
    """Which cells and period totals to withhold, for a reader on the teams of `known_sites`.

    `cells` maps (site, period) to the cell's counts (counts_of). The pattern is the same for every reader
    (see the module docstring); `known_sites` only reveals those sites' own cells. Deterministic.
    """
    by_period: dict[Hashable, list[tuple[Hashable, Sequence[float]]]] = {}
    for (site, period), counts in cells.items():
        by_period.setdefault(period, []).append((site, counts))
    result = Suppression(masked=set(), hidden_totals=set(), known=set(known_sites))
    for period, row in by_period.items():
        small = [(site, counts) for site, counts in row if is_small(counts)]
        if is_small(_sums(counts for _, counts in row)):
            result.hidden_totals.add(period)  # the network itself has 1–10: nothing of it can be shown
        masked = list(small)
        if period not in result.hidden_totals:
            candidates = sorted(
                ((site, counts) for site, counts in row if not is_small(counts)),
                key=lambda item: (sum(item[1]), str(item[0])),
            )
            while not group_is_safe([c for _, c in masked], coalition=coalition) and candidates:
                masked.append(candidates.pop(0))
            if not group_is_safe([c for _, c in masked], coalition=coalition):
                result.hidden_totals.add(period)  # too few sites to cover: hide the total instead
                masked = list(small)
        result.masked.update((site, period) for site, _ in masked)
    return result
