"""Small-cell and complementary suppression: no count of 1–10 is shown to, or recoverable by, a reader outside
the site's team from any cross-site output (chart API, CSV, FHIR), including by subtraction from the network
total or from a centre line; aggregates are still computed on full data."""

import csv
import io
import itertools
import random

import pytest

from lhn.measures.services import privacy
from tests import factories
from tests.conftest import committed, login

# Per site, 8 months of (numerator, denominator); small cells (1–10 in numerator or denominator − numerator) marked.
SERIES = {
    "north": [(60, 100), (55, 90), (8, 40), (70, 100), (66, 95), (64, 90), (61, 99), (58, 97)],  # Mar: 8 small
    "south": [(40, 50), (38, 52), (41, 55), (45, 50), (37, 49), (44, 53), (42, 51), (43, 55)],  # Apr: 50−45 = 5
    "east": [(5, 20), (3, 18), (6, 21), (4, 19), (7, 22), (2, 20), (6, 18), (5, 19)],  # small every month
    "west": [(30, 60), (31, 62), (29, 58), (33, 61), (32, 60), (35, 64), (30, 59), (34, 63)],  # never small
    "central": [(150, 250), (140, 240), (160, 255), (155, 250), (150, 245), (148, 250), (152, 251), (149, 247)],
    "harbor": [(120, 200), (118, 205), (125, 210), (122, 200), (119, 199), (121, 204), (124, 206), (120, 200)],
}


# --- the pure algorithm -----------------------------------------------------------------------------------


def test_a_lone_small_cell_gets_a_complementary_cell_masked():
    cells = {("a", 1): (5, 50), ("b", 1): (40, 40), ("c", 1): (30, 30), ("d", 1): (60, 60)}
    result = privacy.suppress(cells, coalition=0)  # against outsiders only: the classic rule
    assert result.masked == {("a", 1), ("c", 1)}  # the smallest other cell covers it
    assert not result.hidden_totals


def test_masked_cells_whose_sum_is_still_small_take_another_cell():
    cells = {("a", 1): (3, 40), ("b", 1): (4, 40), ("c", 1): (50, 50), ("d", 1): (70, 70)}
    result = privacy.suppress(cells, coalition=0)
    assert result.masked == {("a", 1), ("b", 1), ("c", 1)}  # 3 + 4 = 7 would be recoverable as a group


def test_every_reader_gets_the_same_pattern_and_a_team_sees_only_its_own_cells():
    cells = {("a", 1): (5, 50), ("b", 1): (40, 40), ("c", 1): (30, 30), ("d", 1): (60, 60), ("e", 1): (70, 70)}
    outsider = privacy.suppress(cells)
    for_b = privacy.suppress(cells, known_sites={"b"})
    assert for_b.masked == outsider.masked  # b's cell may cover a's: b sees it, as its own data
    assert not for_b.is_masked("b", 1)
    assert outsider.is_masked("b", 1)
    assert for_b.is_masked("a", 1)
    for_a = privacy.suppress(cells, known_sites={"a"})
    assert not for_a.is_masked("a", 1)  # a knows its own small cell
    assert for_a.withholds("a")  # ... which is restricted data: withheld from everyone else


def test_a_lone_small_cell_is_covered_against_two_sites_pooling_their_own_cells():
    cells = {("a", 1): (5, 50), ("b", 1): (40, 40), ("c", 1): (30, 30), ("d", 1): (60, 60), ("e", 1): (70, 70)}
    result = privacy.suppress(cells)
    assert result.masked == {("a", 1), ("b", 1), ("c", 1), ("d", 1)}  # b and c pooled still leave a with d
    assert not result.hidden_totals
    single = privacy.suppress(cells, coalition=1)
    assert single.masked == {("a", 1), ("b", 1), ("c", 1)}


def test_too_few_sites_to_cover_hide_the_total_and_only_the_small_cell():
    cells = {("a", 1): (5, 50), ("b", 1): (40, 40), ("c", 1): (30, 30)}
    result = privacy.suppress(cells)
    assert result.hidden_totals == {1}
    assert result.masked == {("a", 1)}  # no total to subtract from: b and c may be shown


def recovered(cells, views, coalition):
    """Small cells of sites outside `coalition` that readers pooling `views` can derive: per period whose network
    total any view shows, the cells no view shows sum to total − seen; one such cell alone, or a group whose summed
    counts are 1–10, gives a small count away."""
    found = []
    for period in {p for _, p in cells}:
        if all(period in view.hidden_totals for view in views):
            continue
        unseen = [(s, p) for s, p in cells if p == period and all(view.is_masked(s, p) for view in views)]
        if not any(s not in coalition and privacy.is_small(cells[(s, p)]) for s, p in unseen):
            continue
        summed = tuple(map(sum, zip(*(cells[c] for c in unseen), strict=True)))
        if len(unseen) == 1 or privacy.is_small(summed):
            found.append(sorted(unseen))
    return found


def test_no_two_readers_from_different_sites_recover_a_small_cell_by_pooling_their_views():
    rng = random.Random(20240105)  # noqa: S311 - reproducible test tables
    for _trial in range(250):
        sites = range(rng.randint(2, 7))
        cells = {
            (site, period): tuple(rng.choice([0, rng.randint(1, 10), rng.randint(11, 90)]) for _ in range(2))
            for site in sites
            for period in range(3)
        }
        readers = [None, *sites]  # None: a reader on no site's team
        views = {r: privacy.suppress(cells, known_sites={r} - {None}) for r in readers}
        for first, second in itertools.combinations(readers, 2):
            coalition = {first, second} - {None}
            assert not recovered(cells, [views[first], views[second]], coalition), (cells, first, second)


def test_the_quick_safety_check_agrees_with_trying_every_coalition():
    def by_enumeration(masked, coalition):
        for size in range(min(coalition, len(masked)) + 1):
            for known in itertools.combinations(range(len(masked)), size):
                rest = [c for i, c in enumerate(masked) if i not in known]
                if any(privacy.is_small(c) for c in rest) and (
                    len(rest) < 2 or privacy.is_small(tuple(map(sum, zip(*rest, strict=True))))
                ):
                    return False
        return True

    rng = random.Random(7)  # noqa: S311 - reproducible test tables
    for _trial in range(400):
        masked = [
            tuple(rng.choice([0, rng.randint(1, 10), rng.randint(11, 40)]) for _ in range(2))
            for _ in range(rng.randint(0, 6))
        ]
        for coalition in range(4):
            assert privacy.group_is_safe(masked, coalition=coalition) == by_enumeration(masked, coalition), (
                masked,
                coalition,
            )


def test_a_network_total_of_1_to_10_is_hidden_and_zero_is_shown():
    assert privacy.suppress({("a", 1): (3, 40), ("b", 1): (2, 50)}).hidden_totals == {1}
    zero = privacy.suppress({("a", 1): (0, 0), ("b", 1): (40, 40)})
    assert zero.masked == set()
    assert zero.hidden_totals == set()
    lone = privacy.suppress({("a", 1): (5, 50), ("b", 1): (0, 0)})  # b can't cover a: 5 + 0 is still 5
    assert lone.hidden_totals == {1}


def test_counts_by_measure_type():
    assert privacy.counts_of("proportion", 45, 50) == (45, 5)
    assert privacy.counts_of("rate", 4, 1200.0) == (4,)
    assert privacy.counts_of("continuous", 52.5, 8) == (8,)
    assert privacy.is_small((0, 11)) is False
    assert privacy.is_small((0, 10)) is True


# --- every cross-site output, for a reader outside the teams -------------------------------------------------


def build(app):
    with committed(app):
        for slug in SERIES:
            factories.institution(slug=slug, name=f"{slug.capitalize()} Hospital")
        doc = factories.user("clinician", username="doc", verified=True, institution="north")
        community = factories.community(doc, slug="ibd")
        factories.member(community, factories.user("patient", username="teen"))
        measure = factories.measure(community, doc, baseline_points=4)
        for slug, series in SERIES.items():
            person = doc if slug == "north" else factories.site_clinician(community, slug, username=f"dr_{slug}")
            factories.consent(measure, person, slug)
            factories.values(measure, person, slug, series, start="2024-01")
        return measure.id


def published(client, measure_id):
    """What the reader gets from the API chart of every site and the network, the CSV and the FHIR Bundle."""
    sites = {}
    for slug in SERIES:
        body = client.get(f"/api/v1/measures/{measure_id}/chart?site={slug}&chart=p").get_json()
        sites[slug] = body
    network = client.get(f"/api/v1/measures/{measure_id}/chart?chart=p").get_json()
    rows = list(csv.DictReader(io.StringIO(client.get(f"/api/v1/measures/{measure_id}/data.csv").text)))
    bundle = client.get(f"/api/v1/measures/{measure_id}/fhir").get_json()
    return sites, network, rows, bundle


def small(*counts):
    return any(1 <= c <= 10 for c in counts if c is not None)


def test_no_count_1_to_10_is_shown_or_recoverable_by_an_outsider(app, client):
    measure_id = build(app)
    login(client, "teen")
    sites, network, rows, bundle = published(client, measure_id)
    periods = [p["period"] for p in network["points"]]
    shown = {}
    for slug, chart in sites.items():
        for point in chart["points"]:
            if point["masked"]:
                assert point["value"] is None
                assert point["numerator"] is None
                assert point["ucl"] is None
                continue
            num, den = point["numerator"], point["denominator"]
            assert not small(num, den - num), (slug, point["period"])  # nothing 1–10 on show
            shown[(slug, point["period"])] = (num, den)
        for phase in chart["phases"]:  # a published centre line must not sum any masked value
            baseline = [p for p in chart["points"] if p["phase"] == phase["number"] and p["baseline"]]
            if phase["cl"] is not None:
                assert not any(p["masked"] for p in baseline), (slug, phase)
    masked = {(slug, p["period"]) for slug, c in sites.items() for p in c["points"] if p["masked"]}
    assert ("north", "2024-03") in masked
    assert ("south", "2024-04") in masked
    assert ("east", "2024-01") in masked
    for index, period in enumerate(periods):  # subtraction from the network total
        total = network["points"][index]
        cells = [(slug, period) for slug in SERIES]
        hidden = [c for c in cells if c in masked]
        if total["masked"]:
            continue
        assert len(hidden) != 1, period  # one masked cell would be total minus the others
        if hidden:
            missing_num = total["numerator"] - sum(shown[c][0] for c in cells if c in shown)
            missing_rest = (
                total["denominator"] - total["numerator"] - sum(shown[c][1] - shown[c][0] for c in cells if c in shown)
            )
            assert not small(missing_num, missing_rest), period
    # the CSV and the FHIR Bundle withhold exactly the same cells
    csv_masked = {(r["site"], r["period"]) for r in rows if r["masked"] == "yes"}
    assert csv_masked == masked
    assert all(r["numerator"] == "" for r in rows if r["masked"] == "yes")
    fhir_masked = set()
    for entry in bundle["entry"]:
        report = entry["resource"]
        identifier = report["reporter"]["identifier"]
        population = report["group"][0]["population"]
        if any("_count" in p for p in population):
            assert all("count" not in p for p in population)
            if identifier["system"] == "urn:lhn:site":
                fhir_masked.add((identifier["value"], report["period"]["start"][:7]))
        else:
            counts = {p["code"]["coding"][0]["code"]: p["count"] for p in population}
            assert not small(counts["numerator"], counts["denominator"] - counts["numerator"])
    assert fhir_masked == masked


def test_aggregates_use_full_data_and_each_team_sees_its_own_site_whole(app, client):
    measure_id = build(app)
    login(client, "dr_east")
    east = client.get(f"/api/v1/measures/{measure_id}/chart?site=east&chart=p").get_json()
    assert east["full_access"]
    assert not any(p["masked"] for p in east["points"])
    assert east["points"][0]["numerator"] == 5
    network = client.get(f"/api/v1/measures/{measure_id}/chart?chart=p").get_json()
    jan = network["points"][0]
    assert (jan["numerator"], jan["denominator"]) == tuple(map(sum, zip(*(s[0] for s in SERIES.values()), strict=True)))
    north = client.get(f"/api/v1/measures/{measure_id}/chart?site=north&chart=p").get_json()
    march = next(p for p in north["points"] if p["period"] == "2024-03")
    assert march["masked"]  # dr_east is outside North's team


def masked_cells(client, measure_id):
    return {
        (slug, p["period"])
        for slug in SERIES
        for p in client.get(f"/api/v1/measures/{measure_id}/chart?site={slug}&chart=p").get_json()["points"]
        if p["masked"]
    }


def test_two_readers_from_different_sites_pooling_their_views_recover_no_small_cell(app, client):
    measure_id = build(app)
    login(client, "teen")
    outsider = masked_cells(client, measure_id)
    network = client.get(f"/api/v1/measures/{measure_id}/chart?chart=p").get_json()["points"]
    views = {}
    for reader, site in (("doc", "north"), ("dr_south", "south"), ("dr_east", "east"), ("dr_west", "west")):
        login(client, reader)
        views[site] = masked_cells(client, measure_id)
        assert views[site] == {c for c in outsider if c[0] != site}  # the outsiders' pattern, minus its own cells
    truth = {
        (slug, f"2024-{m + 1:02d}"): (n, d - n) for slug, series in SERIES.items() for m, (n, d) in enumerate(series)
    }
    for first, second in itertools.combinations(views, 2):
        for point in network:
            if point["masked"]:
                continue
            unseen = [c for c in outsider if c[1] == point["period"] and c in views[first] and c in views[second]]
            if not any(privacy.is_small(truth[c]) for c in unseen):
                continue
            summed = tuple(map(sum, zip(*(truth[c] for c in unseen), strict=True)))
            assert len(unseen) >= 2, (first, second, unseen)  # a lone cell would be total − everything seen
            assert not privacy.is_small(summed), (first, second, unseen)


def test_operators_choose_how_many_sites_may_pool_their_data(make_app):
    """The same database read by two apps: a coalition of one site hides less than the default of two."""
    strict, lenient = make_app(), make_app(MEASURES_SUPPRESSION_COALITION=1)
    measure_id = build(strict)
    masked = {}
    for name, app in (("strict", strict), ("lenient", lenient)):
        client = app.test_client()
        login(client, "teen")
        masked[name] = masked_cells(client, measure_id)
    assert masked["lenient"] < masked["strict"]
    assert ("east", "2024-01") in masked["lenient"]
    with pytest.raises(RuntimeError, match="1, 2 or 3"):
        make_app(MEASURES_SUPPRESSION_COALITION=0)
