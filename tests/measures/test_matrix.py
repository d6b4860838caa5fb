"""The matrix of issue 9: every measure type × rule set × data shape, through every page a reader can reach.

No stored state may break a measure's pages for anyone: every chart, list and export answers 200 (or its
documented status) with well-formed content on empty, one-point, flat, zero, masked, withdrawn, gappy, long and
overflowing data. One app for the module (module_app); each cell builds its own community through the services.
"""

import csv
import io
import itertools
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from lhn.accounts import services as accounts
from lhn.measures import services as measures
from lhn.measures import spc
from lhn.measures.models import MeasureType
from lhn.measures.services import charts, learning
from tests import factories
from tests.conftest import committed, login
from tests.measures.conftest import make_network

TYPES = [t.value for t in MeasureType]
HUGE = 1.7e308  # near the largest float, and any finite number can be stored today


def usual(kind, i):
    """An ordinary value for period i: (numerator, denominator), (events, exposure), (count,) or (value, n)."""
    return {
        "proportion": (38 + i % 5, 50),
        "rate": (30 + i % 7, 1000),
        "count": (20 + i % 6,),
        "continuous": (7.5 + i % 4 * 0.3, 30),
    }[kind]


ZERO = {"proportion": (0, 50), "rate": (0, 1000), "count": (0,), "continuous": (0, 30)}
SMALL = {"proportion": (5, 50), "rate": (5, 1000), "count": (5,), "continuous": (7.5, 5)}  # a count of 1–10
# The largest numbers a site can store today, and their far end: sums, products and spans of them overflow.
LARGEST = {"proportion": (HUGE, HUGE), "rate": (HUGE, 1e12), "count": (HUGE,), "continuous": (HUGE, 30)}
FAR_END = {**ZERO, "continuous": (-HUGE, 30)}
# Neighbouring floats: values that differ in their last bit, so the axis' tick step is below their precision.
A_FLOAT_APART = {
    "proportion": [(2**53 - 1, 2**53), (2**53, 2**53)],
    "rate": [(2**60, 1), (2**60 + 256, 1)],
    "count": [(2**60,), (2**60 + 256,)],
    "continuous": [(2**60, 30), (2**60 + 256, 30)],
}


@dataclass(frozen=True)
class Shape:
    """What is stored for a measure: each site's runs of consecutive periods, and what happened around them."""

    series: Callable[[str], dict[str, list[tuple[str, list[tuple]]]]]  # kind -> site -> [(first period, values)]
    phases: tuple[str, ...] = ()  # new phases on the network chart and on north's chart
    withdrawn: bool = False  # north withdraws its consent after submitting
    definition: Callable[[str], dict] = lambda kind: {}
    quiet: bool = False  # too few points, or too flat, for any rule to signal

    @property
    def empty(self) -> bool:
        return not self.series("count")  # no data for one kind is no data for every kind


def north(values):
    return {"north": [("2023-01", values)]}


def twelve(kind):
    return north([usual(kind, i) for i in range(12)])


SHAPES = {
    "no data": Shape(lambda kind: {}, quiet=True),
    "one point": Shape(lambda kind: north([usual(kind, 0)]), quiet=True),
    "two points": Shape(lambda kind: north([usual(kind, 0), usual(kind, 1)]), quiet=True),
    "all equal": Shape(lambda kind: north([usual(kind, 0)] * 12), quiet=True),
    "all zero": Shape(lambda kind: north([ZERO[kind]] * 12), quiet=True),
    "all masked": Shape(lambda kind: north([SMALL[kind]] * 12), quiet=True),  # every value missing outside north
    "consent withdrawn": Shape(twelve, withdrawn=True),  # north's values leave the network: none are left
    "a phase after the last point": Shape(twelve, phases=("2024-01",)),
    "a phase of missing periods": Shape(
        lambda kind: {"north": [("2023-01", [usual(kind, 0), usual(kind, 1)]), ("2023-11", [usual(kind, 2)] * 2)]},
        phases=("2023-03", "2023-11"),  # March to October has no value at all
    ),
    "a long series": Shape(lambda kind: {"north": [("2010-01", [usual(kind, i * i % 11) for i in range(100)])]}),
    "values a float apart": Shape(
        lambda kind: north(A_FLOAT_APART[kind] * 6), definition=lambda kind: {"target": None}
    ),
    "the largest numbers": Shape(
        lambda kind: {site: [("2023-01", [LARGEST[kind], FAR_END[kind]] * 3)] for site in ("north", "south")},
        definition=lambda kind: {"multiplier": HUGE, "target": HUGE if kind == "proportion" else -HUGE},
    ),
}
TEAM = {"north": "doc", "south": "dr_south"}
_cells = itertools.count(1)


@pytest.fixture(scope="module")
def readers(module_app):
    """North's team (the community's owner), a member, and anyone (the cells' communities are public)."""
    make_network(module_app)
    # The matrix draws hundreds of chart files in a minute: its readers aren't held to the CPU limit (tested in
    # test_chart_export.py); the limits are read per request, so the module's app takes a larger one here.
    module_app.config["RATE_LIMITS"] = module_app.config["NEW_ACCOUNT_RATE_LIMITS"] = {"preview": "100000 per minute"}
    clients = {name: module_app.test_client() for name in ("team", "member", "anyone")}
    login(clients["team"], "doc")
    login(clients["member"], "mum")
    return clients


def store(app, kind, rules, shape):
    """A community of its own with a measure (defined by a patient) holding `shape`'s data, through the
    services people use. Returns the measure's id, the community's slug and a PDSA cycle's id."""
    slug = f"cell-{next(_cells)}"
    with committed(app):
        doc, teen = accounts.get_user("doc"), accounts.get_user("teen")
        community = factories.community(doc, slug=slug)
        factories.member(community, teen)
        factories.member(community, accounts.get_user("mum"))
        fields = {"name": f"{kind} {rules}", "type": kind, "rule_set": rules, "unit": "units", **shape.definition(kind),
                  "stratifiers": "age_band: young, old"}  # fmt: skip
        measure = factories.measure(community, teen, **fields)
        for site, runs in shape.series(kind).items():
            team = accounts.get_user(TEAM[site])
            if site != "north":
                factories.member(community, team)
            factories.consent(measure, team, site)
            for start, values in runs:
                factories.values(measure, team, site, values, start=start)
        if shape.withdrawn:
            measures.withdraw_consent(measure, accounts.find_institution("north"), by=doc)
        for period in shape.phases:
            learning.add_phase(measure, site="", period=period, reason="Adopted the nurse line", by=teen)
            learning.add_phase(measure, site="north", period=period, reason="Adopted the nurse line", by=doc)
        # a point left out of the baseline on both charts (in shapes without a value there it changes nothing)
        learning.exclude_from_baseline(measure, site="", period="2023-02", reason="Registry outage", by=teen)
        learning.exclude_from_baseline(measure, site="north", period="2023-02", reason="Registry outage", by=doc)
        learning.add_note(measure, site="", on="2023-02-14", text="New referral form", by=teen)
        cycle = learning.create_cycle(
            measure,
            learning.PdsaFields(site="north", title="Nurse line", prediction="Fewer calls", started_on="2023-03-01"),
            by=doc,
        )
        return measure.id, slug, cycle.id


def chart_visits(measure_id, slug, kinds):
    """(reader, url) for every page and API answer that computes a chart: the community's dashboard and the
    measure's chart, with each chart its type offers. The network chart is the same for every reader; north's
    differs between its team (whole) and everyone else (suppressed)."""
    network = ["", *(f"?chart={k}" for k in kinds)]
    site = ["?site=north", *(f"?site=north&chart={k}" for k in kinds)]

    def both(queries):
        return [f"/measures/{measure_id}{q}" for q in queries] + [
            f"/api/v1/measures/{measure_id}/chart{q}" for q in queries
        ]

    member = [f"/c/{slug}/measures", f"/measures/{measure_id}", f"/api/v1/measures/{measure_id}/chart"]
    return (
        [("member", url) for url in member]
        + [("anyone", url) for url in [f"/c/{slug}/measures", *both(network + site)]]
        + [("team", url) for url in both(site)]
    )


def other_visits(measure_id, slug, cycle_id):
    """(reader, url) for the measure's other pages, lists and exports. They compute no chart, so the rule set
    doesn't change them; the team reaches them all, anyone the lists and exports."""
    m = f"/measures/{measure_id}"
    exports = [f"/api/v1/communities/{slug}/measures", f"{m}/data.csv", f"{m}/fhir/reports.json"]
    exports += [f"{m}/strata/age_band", f"/api/v1{m}/strata/age_band"]  # the strata side by side
    exports += [f"{m}/chart.svg?site=north", f"{m}/chart.png"]  # the chart as files for slides
    exports += [f"/api/v1{m}/chart.svg", f"/api/v1{m}/chart.png?site=north"]
    exports += [
        f"/api/v1{m}/data.csv",
        f"/api/v1{m}/fhir",
        f"{m}/sites/north/history",
        f"/api/v1{m}/sites/north/history",
    ]
    pages = [
        f"/c/{slug}/measures/new",
        *(f"{m}{p}" for p in ("/changes", "/owners", "/pdsa/new", f"/pdsa/{cycle_id}", "/data/new", "/data/upload")),
        f"{m}/submissions",  # the submission grid: the team sees its own site's row
        f"{m}/data/grid",  # many periods at once, prefilled with the team's own (overflowing, too) values
        f"{m}/strata/age_band/new",  # a site's breakdown by a stratifier
    ]
    pages += [f"{m}{p}" for p in ("/fhir/import", "/fhir/measure.json")]
    api = ("", "/fhir?resource=Measure", "/pdsa", f"/pdsa/{cycle_id}", "/notes", "/phases", "/exclusions",
           "/annotations", "/invitations", "/leads", "/consents", "/changes", "/funnel",
           "/submissions/grid")  # fmt: skip
    return (
        [("anyone", url) for url in exports]
        + [("team", url) for url in exports + pages]
        + [("team", f"/api/v1{m}{p}") for p in api]
    )


def strict_json(data):
    """JSON as the standard defines it: NaN and Infinity, which Python writes by default, are refused."""

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(data, parse_constant=refuse)


NOT_A_NUMBER = re.compile(r'(?:x|y|x1|x2|y1|y2|cx|cy|d)="[^"]*(?:nan|inf)', re.IGNORECASE)


def check(response, reader, url, shape, kind=None):
    """The answer `reader` should get: 200 with well-formed content, or the documented status."""
    site_hidden = shape.empty or (shape.withdrawn and reader != "team")  # north's data isn't theirs to see
    if "site=north" in url and site_hidden:
        assert response.status_code == 404
    elif url.endswith("/funnel") and kind not in ("proportion", "rate"):  # sites compared by proportion or rate
        assert response.status_code == 422
    elif "/history" in url and reader != "team":  # a site's submission history is its team's
        assert response.status_code == (401 if url.startswith("/api/") else 302)
    else:
        assert response.status_code == 200
    if response.is_json or response.mimetype == "application/fhir+json":
        body = strict_json(response.data)
        if "/chart" in url and response.status_code == 200:
            check_chart(body, shape)
    elif response.mimetype == "image/png" and response.status_code == 200:
        assert response.data.startswith(b"\x89PNG\r\n\x1a\n")
    elif response.mimetype == "image/svg+xml" and response.status_code == 200:
        assert ET.fromstring(response.data).tag == "{http://www.w3.org/2000/svg}svg"  # noqa: S314 - our own output
        assert not NOT_A_NUMBER.search(response.text)
    elif response.mimetype == "text/csv":
        header, *rows = csv.reader(io.StringIO(response.text))
        assert header[:2] == ["site", "period"]
        assert all(len(row) == len(header) for row in rows)
    else:
        assert not NOT_A_NUMBER.search(response.text)  # every coordinate of every SVG is a number


def check_chart(chart, shape):
    for point in chart["points"]:  # limits come as a band around the centre, or not at all (σ = 0, too few points)
        assert (point["lcl"] is None) == (point["ucl"] is None)
        assert point["lcl"] is None or point["lcl"] < point["ucl"]
    if shape.quiet:
        assert chart["signals"] == []
    if shape.empty:
        assert chart["points"] == chart["phases"] == []


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("rules", spc.RULESETS)
@pytest.mark.parametrize("kind", TYPES)
def test_every_chart_answers_on_any_stored_data(module_app, readers, kind, rules, shape):
    measure_id, slug, _cycle = store(module_app, kind, rules, SHAPES[shape])
    for reader, url in chart_visits(measure_id, slug, charts.KINDS_BY_TYPE[MeasureType(kind)]):
        check(readers[reader].get(url), reader, url, SHAPES[shape])


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", TYPES)
def test_every_list_and_export_answers_on_any_stored_data(module_app, readers, kind, shape):
    measure_id, slug, cycle_id = store(module_app, kind, spc.DEFAULT_RULESET, SHAPES[shape])
    for reader, url in other_visits(measure_id, slug, cycle_id):
        check(readers[reader].get(url), reader, url, SHAPES[shape], kind)


def test_the_matrix_visits_every_page_of_a_measure(module_app):
    """A new page or API answer of measures joins the matrix above, or this fails."""
    adapter = module_app.url_map.bind("localhost")
    visits = chart_visits(1, "ibd", ("run",)) + other_visits(1, "ibd", 1)
    visited = {adapter.match(url.split("?")[0], method="GET", return_rule=True)[0].rule for _, url in visits}
    readable = {
        rule.rule
        for rule in module_app.url_map.iter_rules()
        if "GET" in rule.methods and module_app.view_functions[rule.endpoint].__module__.startswith("lhn.measures")
    }
    owners_only = {"/measures/<int:measure_id>/edit", "/api/v1/measures/<int:measure_id>/submissions"}
    assert readable - owners_only <= visited  # the definition's form and who has sent the last period: no values
