"""Small-cell and complementary suppression for a stratified measure. Pure: no Flask, no database.

Per period a stratifier makes a 2-D table: sites × strata. Its published margins are each site's own total (the
1-D table that privacy.suppress already protects, with its own pattern), each stratum's network total, and the
network total. The rule is privacy.py's, applied to every line of the table:

- a small cell (a count of 1–10, privacy.is_small) is masked; so is the whole row of a site whose total the 1-D
  pattern masks (its strata would add up to it);
- complementary suppression, to a fixpoint: for every published line total (a site's row, a stratum's column)
  whose masked cells are not privacy.group_is_safe, mask the next smallest cell of that line. A row belongs to
  one site, whose team knows all of it or none: rows are checked against outsiders (coalition 0); a column's
  cells are different sites', checked against `coalition` sites pooling their own cells. A row can always be
  covered (its cells sum to the site's total, which is not small or the 1-D pattern masked it);
- a published line never has exactly one masked cell: its total would give that cell away, and a cover given
  away covers nothing in its other line;
- per-line rules don't see what only crossing lines show, so the result is then checked exactly: for every
  coalition of at most `coalition` sites, no small masked cell (or small masked site total) may be determined by
  the published sums (_some_small_determined: a bridge of the graph of unknown values);
- a column that can't be covered, or a pattern that fails the exact check, hides the period's stratum totals, all
  of them: the totals sum to the network total, so one hidden total would be the network total minus the
  others. They are hidden too when the 1-D pattern hides the network total. With no stratum total published the
  columns are no longer published lines, and the pattern is computed again from the small cells with the rows
  only (each row then holds two or more masked cells whose sum isn't small, or none).

One pattern for every reader (a site's team sees its own cells). Deterministic.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from lhn.measures.services.privacy import COALITION, group_is_safe, is_small

Cell = tuple[Hashable, Hashable, Hashable]  # (site, stratum, period)


@dataclass
class StrataSuppression:
    masked: set[Cell]  # (site, stratum, period) cells withheld outside the site's team: one pattern
    hidden_totals: set[tuple[Hashable, Hashable]]  # (stratum, period) network totals nobody may see
    known: set[Hashable] = field(default_factory=set)  # sites whose team the reader is on

    def is_masked(self, site: Hashable, stratum: Hashable, period: Hashable) -> bool:
        """Whether this reader may not see the cell."""
        return site not in self.known and (site, stratum, period) in self.masked

    def total_hidden(self, stratum: Hashable, period: Hashable) -> bool:
        return (stratum, period) in self.hidden_totals


def suppress_strata(
    cells: Mapping[Cell, Sequence[float]],
    *,
    masked_sites: Iterable[tuple[Hashable, Hashable]] = (),
    hidden_network: Iterable[Hashable] = (),
    known_sites: Iterable[Hashable] = (),
    coalition: int = COALITION,
) -> StrataSuppression:
    """Which stratum cells and stratum totals to withhold.

    `cells` maps (site, stratum, period) to the cell's counts (privacy.counts_of); `masked_sites` are the
    (site, period) totals the 1-D pattern masks and `hidden_network` the periods whose network total it hides.
    `known_sites` only reveals those sites' own cells.
    """
    by_period: dict[Hashable, dict[tuple[Hashable, Hashable], Sequence[float]]] = {}
    for (site, stratum, period), counts in cells.items():
        by_period.setdefault(period, {})[(site, stratum)] = counts
    masked_rows = set(masked_sites)
    hidden = set(hidden_network)
    result = StrataSuppression(masked=set(), hidden_totals=set(), known=set(known_sites))
    for period in sorted(by_period, key=str):
        table = by_period[period]
        rows = {site for site, _ in table if (site, period) in masked_rows}
        masked, covered = _pattern(table, rows, with_columns=True, coalition=coalition)
        if covered and period not in hidden:
            covered = not _some_small_determined(table, masked, rows, coalition=coalition)
        if period in hidden or not covered:  # the network total is hidden, or a column can't be covered
            result.hidden_totals.update((stratum, period) for stratum in {s for _, s in table})
            masked, _ = _pattern(table, rows, with_columns=False, coalition=coalition)  # rows always are
        result.masked.update((site, stratum, period) for site, stratum in masked)
    return result


def _pattern(
    table: Mapping[tuple[Hashable, Hashable], Sequence[float]],
    masked_rows: set[Hashable],
    *,
    with_columns: bool,
    coalition: int,
) -> tuple[set[tuple[Hashable, Hashable]], bool]:
    """The masked cells of one period's table, and whether every published line could be covered."""
    masked = {key for key, counts in table.items() if is_small(counts) or key[0] in masked_rows}
    lines: list[tuple[int, list[tuple[Hashable, Hashable]]]] = []
    for site in sorted({s for s, _ in table} - masked_rows, key=str):
        lines.append((0, sorted((key for key in table if key[0] == site), key=str)))
    if with_columns:
        for stratum in sorted({s for _, s in table}, key=str):
            lines.append((coalition, sorted((key for key in table if key[1] == stratum), key=str)))
    changed = True
    while changed:
        changed = False
        for line_coalition, line in lines:
            while not _line_safe([table[key] for key in line if key in masked], line_coalition):
                candidates = sorted(
                    (key for key in line if key not in masked), key=lambda key: (sum(table[key]), str(key))
                )
                if not candidates:
                    return masked, False  # only a column can run out (see the module docstring)
                masked.add(candidates[0])
                changed = True
    return masked, True


def _line_safe(masked: list[Sequence[float]], coalition: int) -> bool:
    """A published line's masked cells: safe as a group (privacy.group_is_safe), and never one alone, which the
    line's total would give away (a cover cell given away covers nothing in its other line)."""
    return len(masked) != 1 and group_is_safe(masked, coalition=coalition)


def _some_small_determined(
    table: Mapping[tuple[Hashable, Hashable], Sequence[float]],
    masked: set[tuple[Hashable, Hashable]],
    masked_rows: set[Hashable],
    *,
    coalition: int,
) -> bool:
    """Whether, with every line total of the period published, some small masked cell (or small masked site total)
    of a site outside some coalition of at most `coalition` sites is determined by what they know.

    The published equations are a graph: a vertex per site row (its strata add up to its total), per stratum column
    and for the network total; an edge per value the readers don't know (a masked cell joins its row and column, a
    masked site total its row and the network). An unknown value is determined by such sums exactly when its edge
    is a bridge of that graph: cutting it leaves a side whose sums, rows added and columns subtracted, give it
    alone; on a cycle it can move up and down with the others. The per-line cover above misses what only
    crosses lines shows (tests/measures/test_privacy_strata.py found such tables).
    """
    sites = sorted({site for site, _ in table}, key=str)
    for size in range(coalition + 1):
        for known in combinations(sites, size):
            edges: list[tuple[Hashable, Hashable, bool]] = []  # (row vertex, other vertex, whether it is small)
            for (site, stratum), counts in table.items():
                if (site, stratum) in masked and site not in known:
                    edges.append((("row", site), ("column", stratum), is_small(counts)))
            for site in masked_rows - set(known):
                total = [sum(c) for c in zip(*(counts for (s, _), counts in table.items() if s == site), strict=False)]
                edges.append((("row", site), ("network",), is_small(total)))
            if any(edges[i][2] for i in _bridges(edges)):
                return True
    return False


def _bridges(edges: list[tuple[Hashable, Hashable, bool]]) -> set[int]:
    """The indexes of the bridges of a multigraph given as edges (parallel edges are never bridges). Iterative
    Tarjan: no recursion limit however large the table."""
    adjacent: dict[Hashable, list[tuple[Hashable, int]]] = {}
    for index, (a, b, _) in enumerate(edges):
        adjacent.setdefault(a, []).append((b, index))
        adjacent.setdefault(b, []).append((a, index))
    order: dict[Hashable, int] = {}
    low: dict[Hashable, int] = {}
    found: set[int] = set()
    for root in adjacent:
        if root in order:
            continue
        order[root] = low[root] = len(order)
        stack: list[tuple[Hashable, int, int]] = [(root, -1, 0)]  # vertex, the edge it was reached by, next neighbour
        while stack:
            vertex, via, next_index = stack[-1]
            if next_index < len(adjacent[vertex]):
                stack[-1] = (vertex, via, next_index + 1)
                other, index = adjacent[vertex][next_index]
                if index == via:
                    continue
                if other in order:
                    low[vertex] = min(low[vertex], order[other])
                else:
                    order[other] = low[other] = len(order)
                    stack.append((other, index, 0))
                continue
            stack.pop()
            if stack:
                parent = stack[-1][0]
                low[parent] = min(low[parent], low[vertex])
                if low[vertex] > order[parent]:
                    found.add(via)
    return found
