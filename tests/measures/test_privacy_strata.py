"""Suppression of a stratified table (sites × strata, per period): no stratum lets a small count be derived, checked
with exact linear algebra over everything a reader and a coalition of sites see."""

import itertools
import random
from fractions import Fraction

import pytest

from lhn.measures.services import privacy
from lhn.measures.services.privacy_strata import StrataSuppression, suppress_strata


def test_a_small_stratum_cell_is_covered_in_its_row_and_its_column():
    cells = {}
    for site, row in {
        "a": (5, 40, 50),
        "b": (30, 40, 50),
        "c": (30, 45, 50),
        "d": (35, 45, 55),
        "e": (60, 70, 80),
    }.items():
        for stratum, count in zip(("young", "mid", "old"), row, strict=True):
            cells[(site, stratum, 1)] = (count,)
    result = suppress_strata(cells)
    masked_a = {s for site, s, _ in result.masked if site == "a"}
    assert "young" in masked_a
    assert len(masked_a) >= 2  # the row a's total is published: a second cell covers it
    young = {site for site, s, _ in result.masked if s == "young"}
    assert len(young) >= privacy.COALITION + 2  # the column: safe against two sites pooling their cells
    assert not result.hidden_totals
    assert result.is_masked("a", "young", 1)
    assert not StrataSuppression(result.masked, set(), known={"a"}).is_masked("a", "young", 1)


def test_a_site_masked_in_the_total_pattern_is_masked_in_every_stratum():
    cells = {("a", "x", 1): (40,), ("a", "y", 1): (50,), ("b", "x", 1): (60,), ("b", "y", 1): (70,)}
    result = suppress_strata(cells, masked_sites={("a", 1)})
    assert {("a", "x", 1), ("a", "y", 1)} <= result.masked


def test_a_column_that_cannot_be_covered_hides_every_stratum_total_of_the_period():
    cells = {("a", "x", 1): (3,), ("a", "y", 1): (50,), ("b", "x", 1): (60,), ("b", "y", 1): (70,)}
    result = suppress_strata(cells)
    assert result.hidden_totals == {("x", 1), ("y", 1)}  # two sites can't cover a column
    assert result.masked == {("a", "x", 1), ("a", "y", 1)}  # only the row a's total remains to protect
    hidden = suppress_strata(cells, hidden_network={1})
    assert hidden.hidden_totals == {("x", 1), ("y", 1)}


# --- the differencing test ------------------------------------------------------------------------------------


def determined(equations, unknowns):
    """Which of `unknowns` (variable names) are fixed by the linear `equations` (dicts variable -> coefficient):
    a variable is determined iff its unit vector lies in the row space. Exact: Fractions, Gaussian elimination."""
    names = sorted({v for eq in equations for v in eq} | set(unknowns), key=str)
    index = {name: i for i, name in enumerate(names)}
    pivots = {}  # pivot column -> reduced row
    for eq in equations:
        row = [Fraction(0)] * len(names)
        for name, coefficient in eq.items():
            row[index[name]] += coefficient
        reduce(row, pivots)
    found = set()
    for name in unknowns:
        unit = [Fraction(0)] * len(names)
        unit[index[name]] = Fraction(1)
        if not any(reduce(unit, pivots, add=False)):
            found.add(name)
    return found


def reduce(row, pivots, *, add=True):
    for column, pivot in sorted(pivots.items()):
        if row[column]:
            factor = row[column] / pivot[column]
            row[:] = [a - factor * b for a, b in zip(row, pivot, strict=True)]
    if add:
        lead = next((i for i, a in enumerate(row) if a), None)
        if lead is not None:
            for column, pivot in list(pivots.items()):  # keep the rows reduced at their pivots
                if pivot[lead]:
                    factor = pivot[lead] / row[lead]
                    pivots[column] = [a - factor * b for a, b in zip(pivot, row, strict=True)]
            pivots[lead] = row
    return row


def test_determined_finds_exactly_the_variables_the_equations_fix():
    equations = [{"x": 1, "y": 1}, {"x": 1}, {"u": 1, "v": 1, "w": 1}, {"u": 1, "v": -1}]
    assert determined(equations, ["x", "y", "u", "v", "w"]) == {"x", "y"}
    assert determined([*equations, {"v": 1, "w": 1}], ["u", "v", "w"]) == {"u", "v", "w"}


def leaks(cells, site_cells, one_d, strata, coalition):
    """The small counts (stratum cells, site totals) of sites outside `coalition` that a reader pooling the
    coalition's own data with everything published can determine exactly."""
    sites = {s for s, _ in site_cells}
    periods = {p for _, p in site_cells}
    equations = []
    for period in periods:
        stratum_codes = {k for _, k, p in cells if p == period}
        for site in sites:  # a site's strata add up to its total: everyone knows that identity
            eq = {("cell", site, k, period): 1 for k in stratum_codes}
            eq[("total", site, period)] = -1
            equations.append(eq)
            if site in coalition or (site, period) not in one_d.masked:
                equations.append({("total", site, period): 1})
            for k in stratum_codes:
                if site in coalition or (site, k, period) not in strata.masked:
                    equations.append({("cell", site, k, period): 1})
        for k in stratum_codes:
            if (k, period) not in strata.hidden_totals:
                equations.append({("cell", site, k, period): 1 for site in sites})
        if period not in one_d.hidden_totals:
            equations.append({("total", site, period): 1 for site in sites})
    small = [("cell", *key) for key, counts in cells.items() if key[0] not in coalition and privacy.is_small(counts)]
    small += [("total", *key) for key, c in site_cells.items() if key[0] not in coalition and privacy.is_small(c)]
    return determined(equations, small)


# Two kinds of table: CROWDED (few sites, most counts small: most periods can only hide their stratum totals) and
# SPARSE (more sites, a small count now and then: stratum totals published, columns covered by other sites' cells).
CROWDED = {"sites": (2, 6), "choices": lambda rng: [0, rng.randint(1, 10), rng.randint(1, 10), rng.randint(11, 60)]}
SPARSE = {"sites": (4, 7), "choices": lambda rng: [0, rng.randint(1, 10), *(rng.randint(11, 80) for _ in range(6))]}


def random_tables(rng, trials, kind):
    for _ in range(trials):
        sites = [f"s{i}" for i in range(rng.randint(*kind["sites"]))]
        strata = [f"k{i}" for i in range(rng.randint(2, 4))]
        cells = {
            (site, k, period): tuple(rng.choice(kind["choices"](rng)) for _ in range(2))
            for site in sites
            for k in strata
            for period in range(3)
        }
        site_cells = {
            (site, period): tuple(map(sum, zip(*(cells[(site, k, period)] for k in strata), strict=True)))
            for site in sites
            for period in range(3)
        }
        yield sites, cells, site_cells


def coalitions(sites):
    for size in range(privacy.COALITION + 1):
        yield from (set(chosen) for chosen in itertools.combinations(sites, size))


# Sized for CI's time: the first 30 sparse tables hold 4 where per-line covers alone leak (tables 2, 3, 13, 15 of
# this seed), so the exact check is exercised; the tests of the test below catch their leaks within fewer tables.
@pytest.mark.parametrize(("kind", "trials"), [(CROWDED, 60), (SPARSE, 30)])
def test_no_stratum_lets_a_small_count_be_derived_by_up_to_two_sites_pooling_what_they_see(kind, trials):
    rng = random.Random(20261206)  # noqa: S311 - reproducible test tables
    checked = covered = 0
    for sites, cells, site_cells in random_tables(rng, trials, kind):
        one_d = privacy.suppress(site_cells)
        strata = suppress_strata(cells, masked_sites=one_d.masked, hidden_network=one_d.hidden_totals)
        for coalition in coalitions(sites):
            assert not leaks(cells, site_cells, one_d, strata, coalition), (cells, coalition)
            checked += 1
        # periods whose stratum totals are published although some stratum cell is small: columns were covered
        covered += len(
            {p for (_, _, p), c in cells.items() if privacy.is_small(c)} - {p for _, p in strata.hidden_totals}
        )
    assert checked > 500
    assert covered > (20 if kind is SPARSE else 0)


def test_the_differencing_test_catches_masking_only_the_small_cells():
    rng = random.Random(20261206)  # noqa: S311 - the same tables
    caught = 0
    for sites, cells, site_cells in random_tables(rng, 30, CROWDED):
        one_d = privacy.suppress(site_cells)
        naive = StrataSuppression(
            masked={
                key for key, counts in cells.items() if privacy.is_small(counts) or (key[0], key[2]) in one_d.masked
            },
            hidden_totals=set(),
        )
        caught += any(leaks(cells, site_cells, one_d, naive, coalition) for coalition in coalitions(sites))
    assert caught > 10


def test_the_differencing_test_catches_per_line_covers_without_the_exact_check(monkeypatch):
    monkeypatch.setattr("lhn.measures.services.privacy_strata._some_small_determined", lambda *_a, **_k: False)
    rng = random.Random(20261206)  # noqa: S311 - the same tables
    caught = 0
    for sites, cells, site_cells in random_tables(rng, 20, SPARSE):
        one_d = privacy.suppress(site_cells)
        strata = suppress_strata(cells, masked_sites=one_d.masked, hidden_network=one_d.hidden_totals)
        caught += any(leaks(cells, site_cells, one_d, strata, coalition) for coalition in coalitions(sites))
    assert caught >= 1
