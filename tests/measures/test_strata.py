"""Equity strata: stratifiers in the versioned definition (form and API), a site's breakdown that must add up to its
total (form, API), and the strata side by side with suppression per stratum (page and API)."""

import pytest
from fhir.resources.measurereport import MeasureReport  # R5 (fhir.resources 8.x default), as services/fhir.py
from sqlalchemy import select

from lhn import demo
from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.database import transaction
from lhn.errors import ValidationFailed
from lhn.extensions import db
from lhn.measures import demo as demo_measures
from lhn.measures import services as measures
from lhn.measures.models import DataPoint, StratumDataPoint
from lhn.measures.services import privacy
from lhn.measures.services.stratifiers import parse_stratifiers, stratifiers_text
from lhn.moderation.models import AuditEvent
from tests import factories
from tests.api.test_api import bearer, token_for
from tests.conftest import committed, login
from tests.forms import submit

AGE = "age_band: 0-11, 12-17, 18+"
# Per site, three months of totals (numerator, denominator) and their breakdown by age band (0-11, 12-17, 18+): no
# count is 1-10 but north's February 0-11 (3 of 14). In February only north and south send a breakdown.
TOTALS = {
    "north": [(60, 100), (62, 100), (64, 100)],
    "south": [(45, 80), (48, 84), (50, 86)],
    "east": [(70, 120), (72, 120), (75, 120)],
    "west": [(40, 76), (41, 76), (44, 80)],
}
BREAKDOWN = {
    "north": [((20, 33), (20, 33), (20, 34)), ((3, 14), (29, 43), (30, 43)), ((22, 33), (21, 34), (21, 33))],
    "south": [((15, 26), (15, 27), (15, 27)), ((16, 28), (16, 28), (16, 28)), ((17, 29), (16, 28), (17, 29))],
    "east": [((24, 40), (23, 40), (23, 40)), None, ((25, 40), (25, 40), (25, 40))],
    "west": [((13, 25), (13, 25), (14, 26)), None, ((15, 27), (14, 26), (15, 27))],
}
MONTHS = ("2024-01", "2024-02", "2024-03")


def seed(app, *, breakdowns=True):
    with committed(app):
        community = communities.get_community("ibd")
        doc = accounts.get_user("doc")
        measure = factories.measure(community, doc, stratifiers=AGE)
        for slug, series in TOTALS.items():
            person = accounts.get_user("doc" if slug == "north" else f"dr_{slug}")
            factories.consent(measure, person, slug)
            factories.values(measure, person, slug, series, start="2024-01")
            for month, strata in zip(MONTHS, BREAKDOWN[slug], strict=True) if breakdowns else ():
                if strata is None:
                    continue
                values = {
                    code: {"numerator": a, "denominator": b}
                    for code, (a, b) in zip(("0-11", "12-17", "18+"), strata, strict=True)
                }
                measures.record_strata(measure, slug, month, "age_band", values, by=person, source="test")
        measure_id = measure.id
    return measure_id


# --- the definition ------------------------------------------------------------------------------------------


def test_stratifiers_read_from_text_or_a_list_always_end_with_not_recorded():
    parsed = parse_stratifiers("age_band: 0-11, 12-17, 18+\nsex (Sex recorded): female, male")
    assert [s["code"] for s in parsed] == ["age_band", "sex"]
    assert parsed[0]["label"] == "Age band"
    assert parsed[1]["label"] == "Sex recorded"
    assert [s["code"] for s in parsed[0]["strata"]] == ["0-11", "12-17", "18+", "unknown"]
    assert parsed[0]["strata"][-1]["label"] == "Not recorded"
    assert parse_stratifiers([{"code": "sex", "strata": ["female", {"code": "male", "label": "Male"}]}])[0]["strata"][
        1
    ] == {
        "code": "male",
        "label": "Male",
    }
    assert stratifiers_text(parsed) == "age_band: 0-11, 12-17, 18+\nsex (Sex recorded): female, male"
    assert parse_stratifiers("") == []


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("age band 0-11", "Line 1"),
        ("Age: 0-11, 12+", "lower-case"),
        ("age: 0-11", "2 to 12 strata"),
        ("age: a, a", "each stratum once"),
        ("age: a, b\nage: c, d", "its own code"),
        ([{"code": "age"}], '{"code"'),
        (42, "as text"),
    ],
)
def test_a_bad_stratifier_is_refused_with_a_message(given, says):
    with pytest.raises(ValidationFailed) as refused:
        parse_stratifiers(given)
    assert says in refused.value.errors["stratifiers"]


def test_stratifiers_are_defined_on_the_form_and_versioned(app, client, network):
    login(client, "teen")
    made = submit(
        client, "/c/ibd/measures/new", "Define the measure", name="Remission", type="proportion", stratifiers=AGE
    )
    assert made.status_code == 302
    url = made.headers["Location"]
    assert "By age band" in client.get(url).text  # the measure page links to the strata page
    bad = submit(client, url + "/edit", "Save a new version", stratifiers="Age: young, old")
    assert bad.status_code == 422
    assert "lower-case letters" in bad.text
    assert "Age: young, old" in bad.text  # the text is kept
    saved = submit(
        client, url + "/edit", "Save a new version", stratifiers=AGE + "\nsex: female, male", follow_redirects=True
    )
    assert "version 2" in saved.text
    assert "stratifiers: age_band: 0-11, 12-17, 18+; sex: female, male" in client.get(url + "/changes").text
    with app.app_context():
        measure = measures.find_measure(int(url.rsplit("/", 1)[1]))
        assert [s["code"] for s in measure.stratifiers] == ["age_band", "sex"]
        change = measures.list_changes(measure, viewer=accounts.get_user("teen")).items[0]  # newest first
        assert change.definition["stratifiers"][1]["code"] == "sex"


def test_stratifiers_over_the_api(app, client, network):
    measure_id = seed(app, breakdowns=False)
    headers = bearer(token_for(client, "doc"))
    body = client.get(f"/api/v1/measures/{measure_id}").get_json()
    assert body["stratifiers"][0]["code"] == "age_band"
    changed = client.patch(
        f"/api/v1/measures/{measure_id}",
        json={"stratifiers": [{"code": "sex", "label": "Sex", "strata": ["female", "male"]}]},
        headers=headers,
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["stratifiers"][0]["strata"][-1]["code"] == "unknown"
    refused = client.patch(f"/api/v1/measures/{measure_id}", json={"stratifiers": [{"code": 5}]}, headers=headers)
    assert refused.status_code == 422
    assert "stratifiers" in refused.get_json()["error"]["fields"]


# --- a site's breakdown --------------------------------------------------------------------------------------


def current(app, measure_id, slug, month):
    """The site's current breakdown of `month` by stratum, and how many stratum rows it ever sent."""
    with app.app_context():
        site = accounts.find_institution(slug)
        rows = db.session.scalars(
            select(StratumDataPoint).where(
                StratumDataPoint.measure_id == measure_id, StratumDataPoint.institution_id == site.id
            )
        ).all()
        now = {r.stratum: (r.numerator, r.denominator) for r in rows
               if r.superseded_at is None and r.period_start.isoformat()[:7] == month}  # fmt: skip
        return now, len(rows)


def test_a_breakdown_must_add_up_to_the_sites_total(app, network):
    measure_id = seed(app, breakdowns=False)
    with app.app_context():
        measure, doc = measures.find_measure(measure_id), accounts.get_user("doc")

        def record(month, **strata):
            with transaction():
                values = {code.replace("_", "-"): {"numerator": a, "denominator": b} for code, (a, b) in strata.items()}
                return measures.record_strata(measure, "north", month, "age_band", values, by=doc)

        with pytest.raises(ValidationFailed) as wrong:
            record("2024-01", **{"0_11": (20, 30), "12_17": (20, 35)})  # 40 of 65, the total is 60 of 100
        assert "add up to 40, but the site's total numerator is 60" in wrong.value.errors[""]
        with pytest.raises(ValidationFailed) as early:
            record("2024-06", **{"0_11": (20, 30)})
        assert "total for 2024-06 first" in early.value.errors[""]
        with pytest.raises(ValidationFailed) as other, transaction():
            measures.record_strata(
                measure, "south", "2024-01", "age_band", {"0-11": {"numerator": 45, "denominator": 80}}, by=doc
            )
        assert "only its own team" in other.value.errors["site"]
        with pytest.raises(ValidationFailed) as empty, transaction():  # nobody in any stratum: still south's to send
            measures.record_strata(measure, "south", "2024-01", "age_band", {}, by=doc)
        assert "only its own team" in empty.value.errors["site"]
        with pytest.raises(ValidationFailed) as unknown:
            record("2024-01", **{"0_5": (60, 100)})
        assert "No stratum" in unknown.value.errors["stratum"]
        record("2024-01", **{"0_11": (20, 30), "12_17": (20, 35), "unknown": (20, 35)})
        record("2024-01", **{"0_11": (20, 30), "12_17": (20, 35), "18+": (20, 35)})  # again, corrected
    now, stored = current(app, measure_id, "north", "2024-01")
    assert now == {"0-11": (20, 30), "12-17": (20, 35), "18+": (20, 35)}
    assert stored == 4  # the replaced "unknown" row stays as history


def test_a_site_enters_its_breakdown_on_the_form(app, client, network):
    measure_id = seed(app, breakdowns=False)
    login(client, "dr_south")
    url = f"/measures/{measure_id}/strata/age_band/new"
    cells = {"rows-0-first": "15", "rows-0-second": "26", "rows-1-first": "15", "rows-1-second": "27"}
    bad = submit(client, url, "Save the breakdown", site="south", period="2024-01", **cells)
    assert bad.status_code == 422
    assert "add up to 30, but the site&#39;s total numerator is 45" in bad.text
    assert 'value="26"' in bad.text  # what was typed is kept
    cells |= {"rows-2-first": "15", "rows-2-second": "27", "rows-0-second": "x"}
    bad = submit(client, url, "Save the breakdown", site="south", period="2024-01", **cells)
    assert "Give denominator as a whole number." in bad.text
    cells["rows-0-second"] = "26"
    done = submit(client, url, "Save the breakdown", site="south", period="2024-01", **cells)
    assert done.status_code == 302
    assert current(app, measure_id, "south", "2024-01")[0]["18+"] == (15, 27)
    login(client, "teen")
    assert "Only a site's team submits its data." in client.get(url).text


def test_a_breakdown_over_the_api(app, client, network):
    measure_id = seed(app, breakdowns=False)
    headers = bearer(token_for(client, "dr_east"))
    url = f"/api/v1/measures/{measure_id}/strata"
    strata = {"0-11": {"numerator": 24, "denominator": 40}, "12-17": {"numerator": 23, "denominator": 40},
              "18+": {"numerator": 23, "denominator": 40}}  # fmt: skip
    body = {"site": "east", "period": "2024-01", "stratifier": "age_band", "strata": strata}
    made = client.post(url, json=body, headers=headers)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["strata"]["18+"] == {"numerator": 23, "denominator": 40}
    wrong = client.post(url, json=body | {"strata": {"0-11": {"numerator": 1, "denominator": 2}}}, headers=headers)
    assert wrong.status_code == 422
    assert "must match" in wrong.get_json()["error"]["fields"][""]
    for bad in (
        {"strata": []},
        {"strata": {"0-11": 3}},
        {"stratifier": "sex"},
        {"strata": {"0-11": {"numerator": "x"}}},
        {"period": "soon", "strata": {"0-11": {"numerator": 0, "denominator": 0}}},  # nobody in it: no row to check
    ):
        answer = client.post(url, json=body | bad, headers=headers)
        assert answer.status_code == 422, bad
        assert answer.get_json()["error"]["fields"]
    assert client.post(url, json=body).status_code == 401


# --- what a reader sees ---------------------------------------------------------------------------------------


def test_the_strata_page_shows_each_stratum_and_the_gap_with_small_numbers_hidden(app, client, network):
    measure_id = seed(app)
    login(client, "teen")
    page = client.get(f"/measures/{measure_id}/strata/age_band")
    assert page.status_code == 200
    assert '<svg class="spc-chart strata-chart"' in page.text
    assert '<svg class="spc-chart gap-chart"' in page.text
    assert "Not recorded" in page.text
    assert "2024-02: hidden (small numbers)" in page.text  # north's 3 of 14 aged 0-11, only south to cover it
    assert "Shown with small-cell suppression" in page.text
    body = client.get(f"/api/v1/measures/{measure_id}/strata/age_band").get_json()
    young = next(s for s in body["series"] if s["stratum"] == "0-11")
    assert [p["hidden"] for p in young["points"]] == [False, True, False]
    assert (young["points"][0]["numerator"], young["points"][0]["denominator"]) == (72, 124)
    assert body["gaps"][1] is None
    january = [s["points"][0]["value"] for s in body["series"] if s["stratum"] != "unknown"]
    assert january == pytest.approx([100 * 72 / 124, 100 * 71 / 125, 100 * 72 / 127])
    assert body["gaps"][0] == pytest.approx(max(january) - min(january))
    assert not any(c["masked"] for c in body["cells"] if c["period"] != "2024-02")
    north_feb = {c["stratum"]: c for c in body["cells"] if c["site"]["slug"] == "north" and c["period"] == "2024-02"}
    assert north_feb["0-11"]["masked"]
    assert north_feb["0-11"]["numerator"] is None
    shown = [c for c in body["cells"] if not c["masked"] and c["numerator"] is not None]
    assert all(not 1 <= c["numerator"] <= 10 and not 1 <= c["denominator"] - c["numerator"] <= 10 for c in shown)
    login(client, "doc")  # north's own team sees its own cells
    mine = client.get(f"/api/v1/measures/{measure_id}/strata/age_band").get_json()
    assert next(c for c in mine["cells"] if c["site"]["slug"] == "north" and c["period"] == "2024-02" and
                c["stratum"] == "0-11")["numerator"] == 3  # fmt: skip
    assert client.get(f"/measures/{measure_id}/strata/sex").status_code == 404
    assert client.get(f"/api/v1/measures/{measure_id}/strata/sex").status_code == 404


def test_the_demo_quality_of_life_measure_has_an_age_band_breakdown_with_a_month_hidden(app):
    with app.app_context():
        for _name, step in demo.STEPS:
            with transaction():
                step()
        community = communities.get_community("pediatric-ibd")
        measure = next(m for m in measures.list_measures(community, viewer=None).items if m.name.startswith("Quality"))
        view = measures.strata_view(measure, "age_band", viewer=None)
        recorded = sorted({c.period for c in view.cells if c.stratum == "18+" and (c.masked or c.denominator)})
        assert len(recorded) == demo_measures.STRATA_MONTHS
        first = {c.site.slug: c for c in view.cells if c.period == recorded[0] and c.stratum == "18+"}
        assert set(first) == {s.slug for s in demo_measures.IBD_SITES}
        assert first["lakeside-clinic"].masked  # a band of 1-10 patients
        young_adults = next(s for s in view.series if s.code == "18+")
        shown = {p.period: p.value for p in young_adults.points if p.period in recorded}
        assert shown[recorded[0]] is None  # Lakeside's small band can't be covered by two other sites: hidden
        assert sum(shown[period] is not None for period in recorded[1:]) >= 3  # Northgate's own small bands hide more
        gaps = dict(zip(view.periods, view.gaps, strict=True))
        assert all(gaps[period] > 0 for period in recorded if shown[period] is not None)


# --- CSV in and out ------------------------------------------------------------------------------------------

HEADER = "site,period,numerator,denominator,stratifier,stratum\n"


def test_a_csv_file_carries_totals_and_their_breakdowns_all_or_nothing(app, client, network):
    measure_id = seed(app)
    headers = bearer(token_for(client, "doc")) | {"Content-Type": "text/csv"}
    url = f"/api/v1/measures/{measure_id}/data.csv"
    rows = ["north,2024-04,60,100,,", "north,2024-04,20,30,age_band,0-11", "north,2024-04,20,35,age_band,12-17",
            "north,2024-04,20,35,age_band,18+"]  # fmt: skip
    wrong = HEADER + "\n".join([*rows[:3], "north,2024-04,25,35,age_band,18+", "north,2024-04,1,1,sex,female"])
    refused = client.post(url, data=wrong, headers=headers)
    assert refused.status_code == 422
    fields = refused.get_json()["error"]["fields"]
    assert "the site's total numerator is 60" in fields["line 3"]  # reported on the breakdown's first row
    assert "no stratifier “sex”" in fields["line 6"]
    preview = client.post(url + "/preview", data=wrong, headers=headers)
    assert preview.status_code == 200
    assert current(app, measure_id, "north", "2024-04") == ({}, 9)  # nothing stored, not even the total:
    with app.app_context():
        stored = db.session.scalars(select(DataPoint.period_start).where(DataPoint.measure_id == measure_id)).all()
        assert "2024-04" not in {start.isoformat()[:7] for start in stored}
    done = client.post(url, data=HEADER + "\n".join(rows), headers=headers)
    assert done.status_code == 201, done.get_json()
    assert current(app, measure_id, "north", "2024-04")[0] == {"0-11": (20, 30), "12-17": (20, 35), "18+": (20, 35)}
    only_strata = (
        HEADER
        + "north,2024-04,21,30,age_band,0-11\nnorth,2024-04,19,35,age_band,12-17\nnorth,2024-04,20,35,age_band,18+"
    )
    assert client.post(url, data=only_strata, headers=headers).status_code == 201  # against the stored total
    assert current(app, measure_id, "north", "2024-04")[0]["0-11"] == (21, 30)


def test_the_csv_export_carries_the_strata_masked_as_on_the_page(app, client, network):
    measure_id = seed(app)
    login(client, "teen")
    lines = client.get(f"/measures/{measure_id}/data.csv").text.splitlines()
    assert lines[0] == "site,period,numerator,denominator,measure_version,masked,stratifier,stratum"
    assert "north,2024-02,,,,yes,age_band,0-11" in lines
    assert "south,2024-01,15,26,1,no,age_band,0-11" in lines
    assert not any(line.startswith("east,2024-02") and "age_band" in line for line in lines)  # east sent none
    login(client, "doc")
    own = client.get(f"/measures/{measure_id}/data.csv").text.splitlines()
    assert "north,2024-02,3,14,1,no,age_band,0-11" in own
    north = [line for line in own if line.startswith("north,") and not line.endswith(",,")]
    again = client.post(  # the site's own rows read back as they were written
        f"/api/v1/measures/{measure_id}/data.csv",
        data="\n".join([own[0], *north]),
        headers=bearer(token_for(client, "doc")) | {"Content-Type": "text/csv"},
    )
    assert again.status_code == 201, again.get_json()


# --- FHIR R5 MeasureReport.group.stratifier in and out ---------------------------------------------------------


def stratifiers_of(bundle, reporter, period):
    report = next(e["resource"] for e in bundle["entry"] if e["resource"]["reporter"]["identifier"]["value"] == reporter
                  and e["resource"]["period"]["start"].startswith(period))  # fmt: skip
    return report["group"][0].get("stratifier", [])


def strata_counts(stratifier):
    out = {}
    for stratum in stratifier["stratum"]:
        counts = {p["code"]["coding"][0]["code"]: p.get("count") for p in stratum["population"]}
        out[stratum["valueCodeableConcept"]["coding"][0]["code"]] = (counts["numerator"], counts["denominator"])
    return out


def test_a_stratified_measure_report_round_trips_through_fhir_r5(app, client, network):
    measure_id = seed(app)
    headers = bearer(token_for(client, "doc"))
    bundle = client.get(f"/api/v1/measures/{measure_id}/fhir", headers=headers).get_json()
    for entry in bundle["entry"]:  # every report, strata and all, is a valid R5 MeasureReport
        MeasureReport.model_validate(entry["resource"])
    (north_feb,) = stratifiers_of(bundle, "north", "2024-02")
    assert north_feb["code"]["coding"][0] == {"system": "urn:lhn:stratifier", "code": "age_band"}
    assert strata_counts(north_feb)["0-11"] == (3, 14)  # north's own team sees its own small cell
    assert stratifiers_of(bundle, "east", "2024-02") == []  # east sent no breakdown that month
    (network_jan,) = stratifiers_of(bundle, "network", "2024-01")
    assert strata_counts(network_jan)["0-11"] == (72, 124)
    # North's reports, as exported, read back: the same totals and breakdowns, nothing refused
    own = [e for e in bundle["entry"] if e["resource"]["reporter"]["identifier"]["value"] == "north"]
    again = client.post(f"/api/v1/measures/{measure_id}/fhir", json=bundle | {"entry": own}, headers=headers)
    assert again.status_code == 201, again.get_json()
    assert current(app, measure_id, "north", "2024-02") == (
        {"0-11": (3, 14), "12-17": (29, 43), "18+": (30, 43)},
        9,  # the same values again: nothing superseded, nothing added
    )
    changed = own[0]["resource"]["group"][0]["stratifier"][0]["stratum"]
    changed[0]["population"][0]["count"] += 1  # 0-11 of January one more in remission: no longer adds up
    refused = client.post(f"/api/v1/measures/{measure_id}/fhir", json=bundle | {"entry": own}, headers=headers)
    assert refused.status_code == 422
    assert "must match" in str(refused.get_json()["error"]["fields"])


def test_an_outsider_gets_the_stratified_reports_masked(app, client, network):
    measure_id = seed(app)
    login(client, "teen")
    bundle = client.get(f"/api/v1/measures/{measure_id}/fhir").get_json()
    (north_feb,) = stratifiers_of(bundle, "north", "2024-02")
    young = next(s for s in north_feb["stratum"] if s["valueCodeableConcept"]["coding"][0]["code"] == "0-11")
    assert all("count" not in p and p["_count"]["extension"][0]["valueCode"] == "masked" for p in young["population"])
    (network_feb,) = stratifiers_of(bundle, "network", "2024-02")
    assert all("count" not in p for s in network_feb["stratum"] for p in s["population"])  # hidden: every stratum
    masked = privacy.is_small  # what is shown is never 1-10
    for entry in bundle["entry"]:
        for stratifier in entry["resource"]["group"][0].get("stratifier", []):
            for num, den in strata_counts(stratifier).values():
                assert num is None or not masked((num, den - num))


def test_a_team_reading_its_own_withheld_stratum_cells_is_audited_nobody_else_is(app, client, network):
    measure_id = seed(app)
    url = f"/api/v1/measures/{measure_id}/strata/age_band"
    login(client, "teen")
    client.get(url)
    client.get(f"/measures/{measure_id}/strata/age_band")  # the page shows network values only
    login(client, "dr_east")  # east's own cells are withheld from nobody
    client.get(url)
    assert audit_events(app) == []
    client.get(url, headers=bearer(token_for(client, "doc")))  # north's 3 of 14 is withheld from everyone else
    with app.app_context():
        doc_id = accounts.get_user("doc").id
    assert audit_events(app) == [("measure.viewed", measure_id, doc_id)]


def audit_events(app):
    with app.app_context():
        return [
            (e.action, e.object_id, e.actor_id) for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


def test_a_file_of_breakdowns_for_another_site_tells_nothing_of_its_stored_total(app, client, network):
    """A breakdown is checked against the site's stored total, and a mismatch names that total: only a site's own
    team may learn it. Someone on no team is refused; a team names only its own sites."""
    measure_id = seed(app)
    probe = HEADER + "east,2024-03,0,0,age_band,unknown"  # east's stored total for March is 75 of 120
    url = f"/api/v1/measures/{measure_id}/data.csv"
    # a patient member (on no team): refused; north's clinician (not east's team): told east isn't theirs
    for username, statuses in (("teen", (403, 403)), ("doc", (200, 422))):
        headers = bearer(token_for(client, username)) | {"Content-Type": "text/csv"}
        preview = client.post(url + "/preview", data=probe, headers=headers)
        sent = client.post(url, data=probe, headers=headers)
        assert (preview.status_code, sent.status_code) == statuses
        for answer in (preview, sent):
            assert "75" not in answer.get_data(as_text=True)
            assert "120" not in answer.get_data(as_text=True)
    assert sent.get_json()["error"]["fields"]["line 2"].endswith("You don't submit data for “east”.")
    headers = bearer(token_for(client, "dr_east")) | {"Content-Type": "text/csv"}
    own = client.post(url + "/preview", data=probe, headers=headers)  # east's own team: its own total, as before
    assert "the site's total numerator is 75" in own.get_data(as_text=True)
