"""Sites compared in a funnel plot: limits checked against a hand calculation, what each site's position means,
that no site's total gives back a masked or small count, and the chart page's plot and table."""

import re

import pytest

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.measures import services as measures
from lhn.measures.services import charts, funnel
from tests import factories
from tests.conftest import committed, login

TEAMS = {"north": "doc", "south": "dr_south", "east": "dr_east", "west": "dr_west"}


def build(app, values):
    """A proportion measure with `values` ({site: [(numerator, denominator), ...]} from 2024-01) at consenting sites."""
    with committed(app):
        measure = factories.measure(communities.get_community("ibd"), accounts.get_user("doc"))
        for site, series in values.items():
            team = accounts.get_user(TEAMS[site])
            factories.consent(measure, team, site)
            factories.values(measure, team, site, series, start="2024-01")
        return measure.id


def plot(measure_id, reader):
    measure = measures.find_measure(measure_id)
    return funnel.funnel(charts.load_data(measure), measures.access(measure, accounts.get_user(reader)))


def test_limits_match_a_hand_calculation_and_name_each_sites_position(app, ctx, network):
    measure_id = build(app, {"north": [(30, 100)], "south": [(45, 100)], "east": [(120, 400)], "west": [(250, 400)]})
    seen = plot(measure_id, "teen")
    # By hand: p̄ = 445 / 1000 = 0.445; σ(n) = √(0.445 · 0.555 / n): 0.049696 at n = 100, 0.024848 at n = 400.
    assert seen.centre == pytest.approx(0.445)
    by_site = {s.site.slug: s for s in seen.sites}
    # 95 %: ± 1.96 σ; 99.8 %: ± 3.09 σ (to the 5 decimals worked by hand)
    assert by_site["north"].limits95 == pytest.approx((0.34760, 0.54240), abs=1e-5)
    assert by_site["north"].limits998 == pytest.approx((0.29144, 0.59856), abs=1e-5)
    assert by_site["east"].limits95 == pytest.approx((0.39630, 0.49370), abs=1e-5)
    assert by_site["east"].limits998 == pytest.approx((0.36822, 0.52178), abs=1e-5)
    assert {slug: s.position for slug, s in by_site.items()} == {
        "north": "warning",  # 0.30: below the 95 % limit, within 99.8 % (a small site: chance could do this)
        "south": "within",
        "east": "below",  # 0.30 at four times the size: beyond 99.8 %
        "west": "above",
    }
    assert (seen.window, seen.left_out) == ("2024-01 – 2024-01", 0)


def test_the_window_is_the_latest_twelve_periods(app, ctx, network):
    measure_id = build(app, {"north": [(50, 100)] * 6 + [(80, 100)] * 12, "south": [(50, 100)] * 18})
    seen = plot(measure_id, "teen")
    assert seen.window == "2024-07 – 2025-06"
    assert {s.site.slug: s.numerator for s in seen.sites} == {"north": 960, "south": 600}


def test_a_site_whose_total_would_reveal_a_small_or_masked_count_is_left_out_for_everyone(app, ctx, network):
    measure_id = build(app, {
        "north": [(60, 100), (62, 100)],
        "south": [(5, 100), (50, 100)],  # 2024-01 is a small count: masked, and the total minus 2024-02 gives it back
        "east": [(3, 40)],  # a small total
        "west": [(55, 100), (58, 100)],
    })  # fmt: skip
    outsider = plot(measure_id, "teen")
    assert sorted(s.site.slug for s in outsider.sites) == ["north", "west"]
    assert outsider.left_out == 2
    assert outsider.centre == pytest.approx((60 + 62 + 55 + 58) / 400)  # pooled over what is plotted
    south_team = plot(measure_id, "dr_south")  # a shared view: its own team sees south's cells on south's chart
    assert sorted(s.site.slug for s in south_team.sites) == ["north", "west"]


def test_the_network_chart_page_compares_the_sites_in_a_funnel_and_a_table(app, client, network):
    measure_id = build(app, {"north": [(30, 100)], "south": [(45, 100)], "east": [(120, 400)], "west": [(250, 400)]})
    login(client, "teen")
    page = client.get(f"/measures/{measure_id}").text
    assert '<h3 id="funnel-heading">Sites compared</h3>' in page
    assert "all plotted sites together (44.5%)" in page
    svg = re.search(r'<svg class="spc-chart funnel".*?</svg>', page, re.S).group(0)
    assert len(re.findall(r'<circle class="point signal"', svg)) == 2  # east below, west above
    assert len(re.findall(r"<circle ", svg)) == 4
    rows = re.findall(r'<th scope="row">(\w+) Hospital</th>\s*<td>([\d.]+)%</td><td>(\d+) / (\d+)</td>\s*'
                      r"<td>([\d.]+) – ([\d.]+)</td><td>([^<]+)</td>", page)  # fmt: skip
    assert [(r[0], r[1], r[4], r[5], r[6].split(":")[0]) for r in rows] == [
        ("East", "30", "36.82", "52.18", "below the 99.8 % limit"),
        ("North", "30", "29.14", "59.86", "outside the 95 % limits only"),
        ("South", "45", "29.14", "59.86", "within the limits"),
        ("West", "62.5", "36.82", "52.18", "above the 99.8 % limit"),
    ]
    assert "Sites compared" not in client.get(f"/measures/{measure_id}?site=north").text  # one site's chart


def test_the_funnel_over_the_api(app, client, network):
    measure_id = build(app, {"north": [(30, 100)], "south": [(45, 100)], "east": [(120, 400)], "west": [(250, 400)]})
    answer = client.get(f"/api/v1/measures/{measure_id}/funnel").get_json()  # a public community: anyone reads it
    assert (answer["window"], answer["centre"], answer["left_out"]) == (
        {"from": "2024-01-01", "to": "2024-01-01"}, pytest.approx(44.5), 0)  # fmt: skip
    west = next(s for s in answer["sites"] if s["site"]["slug"] == "west")
    assert (west["value"], west["position"]) == (62.5, "above")
    assert west["limits998"] == pytest.approx([36.822, 52.178], abs=1e-3)
    with committed(app):
        count_id = factories.measure(communities.get_community("ibd"), accounts.get_user("doc"), type="count").id
    refused = client.get(f"/api/v1/measures/{count_id}/funnel")
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (422, "validation_failed")
