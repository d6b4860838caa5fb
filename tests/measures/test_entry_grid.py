"""Entering many periods at once: a site's last 12 periods as a grid, prefilled, stored all or nothing through the
import, every typed value kept and every problem shown beside its cell when something is wrong."""

import re

from sqlalchemy import func, select

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.database import utcnow
from lhn.extensions import db
from lhn.measures import services as measures
from lhn.measures.models import DataPoint
from lhn.measures.services import periods
from tests import factories
from tests.conftest import committed, login
from tests.forms import forms_on, submit
from tests.measures.test_audit import events

SAVE = "Save these periods"


def months():
    """The grid's periods today, oldest first, as the checks write them."""
    return [periods.label(s, "month") for s in periods.recent(utcnow().date(), "month", 12)]


def seed(app, *, kind="proportion"):
    """North (doc's site) and South sent the three months before last; West's team never recorded consent."""
    with committed(app):
        community = communities.get_community("ibd")
        doc, south = accounts.get_user("doc"), accounts.get_user("dr_south")
        fields = {} if kind == "proportion" else {"type": kind, "unit": "", "target": None}
        measure = factories.measure(community, doc, **fields)
        factories.consent(measure, doc, "north")
        factories.consent(measure, south, "south")
        series = [(30, 50), (31, 50), (32.0, 50)] if kind == "proportion" else [(4,), (5,), (6,)]
        factories.values(measure, doc, "north", series, start=months()[8])
        theirs = [(row[0], 60) if kind == "proportion" else row for row in series]
        factories.values(measure, south, "south", theirs, start=months()[8])
        return measure.id


def current(app, measure_id, site):
    """{period: (numerator, denominator)} of the site's current values."""
    with app.app_context():
        rows = db.session.execute(
            select(DataPoint.period_start, DataPoint.numerator, DataPoint.denominator)
            .join(DataPoint.institution)
            .where(DataPoint.measure_id == measure_id, DataPoint.superseded_at.is_(None),
                   DataPoint.institution.has(slug=site))
        )  # fmt: skip
        return {periods.label(start, "month"): (a, b) for start, a, b in rows}


def stored(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(DataPoint))


def value_of(html, name):
    match = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{re.escape(name)}"', html
    )
    return match[1] if match else ""


def test_a_site_team_enters_many_periods_prefilled_with_what_is_stored(app, client, network):
    measure_id = seed(app)
    url = f"/measures/{measure_id}/data/grid"
    login(client, "doc")
    assert f'href="{url}?site=north"' in client.get(f"/measures/{measure_id}?site=north").text  # beside "Submit"
    assert f'href="{url}"' in client.get(f"/measures/{measure_id}/data/new").text
    page = client.get(url).text
    assert "Enter many periods: North Hospital" in page
    rows = [value_of(page, f"rows-{i}-period") for i in range(12)]
    assert rows == months()
    assert [value_of(page, f"rows-{i}-first") for i in (7, 8, 9, 10, 11)] == ["", "30", "31", "32", ""]
    assert value_of(page, "rows-8-second") == "50"
    assert '<label class="visually-hidden" for="rows-8-first">Numerator, ' in page
    before = stored(app)
    done = submit(client, url, SAVE, follow_redirects=True, **{
        "rows-9-first": "35",  # changed
        "rows-11-second": "50", "rows-11-first": "41",  # filled in
        "rows-3-first": "2", "rows-3-second": "3",  # an older month, never sent
    })  # fmt: skip
    assert done.status_code == 200
    assert done.request.path == f"/measures/{measure_id}"
    assert "Saved 3 values for North Hospital (1 replaced earlier ones)." in done.text
    assert stored(app) == before + 3  # the unchanged rows stored nothing
    now = current(app, measure_id, "north")
    assert now[months()[9]] == (35, 50)
    assert now[months()[11]] == (41, 50)
    assert now[months()[10]] == (32, 50)
    assert now[months()[3]] == (2, 3)
    assert now[months()[8]] == (30, 50)
    again = submit(client, url, SAVE, follow_redirects=True)  # the grid as stored, sent back as it is
    assert "Nothing changed: every value was already stored." in again.text
    assert stored(app) == before + 3


def test_bad_input_keeps_every_typed_value_and_shows_each_problem_beside_its_cell(app, client, network):
    measure_id = seed(app)
    url = f"/measures/{measure_id}/data/grid"
    login(client, "doc")
    before = stored(app)
    bad = submit(client, url, SAVE, **{
        "rows-2-first": "60", "rows-2-second": "50",  # more than the denominator
        "rows-4-first": "lots", "rows-4-second": "50",  # not a number
        "rows-5-first": "7",  # half a row
        "rows-6-first": "3", "rows-6-second": "9",  # fine, but nothing is stored while others are wrong
    })  # fmt: skip
    assert bad.status_code == 422
    assert stored(app) == before
    html = bad.text
    for name, typed in (("rows-2-first", "60"), ("rows-4-first", "lots"), ("rows-5-first", "7"),
                        ("rows-6-first", "3"), ("rows-6-second", "9"), ("rows-8-first", "30")):  # fmt: skip
        assert value_of(html, name) == typed
    assert re.search(r'id="rows-2-first-error">The numerator can&#39;t be larger than the denominator', html)
    assert re.search(r'id="rows-4-first-error">Give numerator as a whole number', html)
    assert re.search(r'id="rows-5-second-error">Give denominator as a whole number', html)
    assert 'aria-invalid="true"' in html
    assert "rows-6-first-error" not in html
    assert "Nothing was saved: 3 rows need fixing." in html
    fixed = submit(client, url, SAVE, page=bad, **{"rows-2-first": "40", "rows-4-first": "20", "rows-5-second": "10"})
    assert fixed.status_code == 302
    assert stored(app) == before + 4
    assert current(app, measure_id, "north")[months()[6]] == (3, 9)


def test_text_the_form_refuses_is_shown_beside_its_cell(app, client, network):
    measure_id = seed(app)
    login(client, "doc")
    before = stored(app)
    bad = submit(client, f"/measures/{measure_id}/data/grid", SAVE, **{"rows-9-first": "\u202e12"})
    assert bad.status_code == 422
    assert 'id="rows-9-first-error"' in bad.text
    assert stored(app) == before


def test_empty_rows_are_skipped_and_an_empty_grid_is_refused(app, client, network):
    with committed(app):
        doc = accounts.get_user("doc")
        measure = factories.measure(communities.get_community("ibd"), doc)
        factories.consent(measure, doc, "north")
        measure_id = measure.id
    url = f"/measures/{measure_id}/data/grid"
    login(client, "doc")
    empty = submit(client, url, SAVE)
    assert empty.status_code == 422
    assert "Every row is empty" in empty.text
    one = submit(client, url, SAVE, page=empty, **{"rows-11-first": "4", "rows-11-second": "8"})
    assert one.status_code == 302
    assert current(app, measure_id, "north") == {months()[11]: (4, 8)}


def test_the_import_rules_apply_consent_future_periods_and_another_sites_rows(app, client, network):
    measure_id = seed(app)
    url = f"/measures/{measure_id}/data/grid"
    with committed(app):
        measure = measures.find_measure(measure_id)
        measures.appoint_site_lead(measure, "dr_south", "west", by=accounts.get_user("doc"))  # west: no consent
    login(client, "dr_south")
    page = client.get(url).text
    assert "Enter many periods: South Hospital" in page  # the first of their sites by name
    assert [o for o in ("South Hospital", "West Hospital") if f">{o}</option>" in page] == ["South Hospital",
                                                                                          "West Hospital"]
    west = submit(client, url, "Show the site", site="west")
    assert "Enter many periods: West Hospital" in west.text
    refused = submit(client, f"{url}?site=west", SAVE, **{"rows-11-first": "1", "rows-11-second": "2"})
    assert refused.status_code == 422
    assert "West Hospital hasn&#39;t recorded its consent to contribute data yet." in refused.text
    future = submit(client, url, SAVE, forge={"rows-11-period": "2999-01", "rows-11-first": "1",
                                              "rows-11-second": "2"})  # fmt: skip
    assert future.status_code == 422
    assert "That period hasn&#39;t started yet" in future.text
    assert value_of(future.text, "rows-11-first") == "1"
    before = stored(app)
    assert submit(client, url, SAVE, forge={"site": "north", "rows-0-first": "1", "rows-0-second": "2"}).status_code \
        == 404  # another site's rows: not theirs to see or enter
    assert client.get(f"{url}?site=north").status_code == 404
    assert stored(app) == before


def test_refusals_anonymous_outsiders_and_members_on_no_team(app, client, network):
    measure_id = seed(app)
    url = f"/measures/{measure_id}/data/grid"
    assert client.get(url).status_code == 302  # to the login page
    assert client.post(url, data={"site": "north", "rows-0-first": "1"}).status_code == 302
    for person in ("intruder", "teen", "claimed"):  # not a member; a patient; an unverified clinician
        login(client, person)
        assert client.get(url).status_code == 403
        assert client.post(url, data={"site": "north", "rows-0-period": months()[0], "rows-0-first": "1",
                                      "rows-0-second": "2"}).status_code == 403  # fmt: skip
    login(client, "doc")
    assert client.get("/measures/999/data/grid").status_code == 404


def test_more_rows_than_the_grid_are_not_read(app, client, network):
    measure_id = seed(app)
    url = f"/measures/{measure_id}/data/grid"
    login(client, "doc")
    before = stored(app)
    extra = {"rows-12-period": months()[0], "rows-12-first": "9", "rows-12-second": "9"}
    done = submit(client, url, SAVE, forge=extra, **{"rows-0-first": "1", "rows-0-second": "2"})
    assert done.status_code == 302
    assert stored(app) == before + 1


def test_a_count_measure_has_one_column(app, client, network):
    measure_id = seed(app, kind="count")
    url = f"/measures/{measure_id}/data/grid"
    login(client, "doc")
    page = client.get(url).text
    assert "rows-0-second" not in page
    assert value_of(page, "rows-9-first") == "5"
    assert submit(client, url, SAVE, **{"rows-11-first": "9"}).status_code == 302
    assert current(app, measure_id, "north")[months()[11]] == (9, None)


def test_the_form_is_rate_limited_like_the_upload_keeping_what_was_typed(make_app, network):
    app = make_app(RATE_LIMITS={"import": "1 per hour"}, NEW_ACCOUNT_RATE_LIMITS={"import": "1 per hour"})
    client = app.test_client()
    measure_id = seed(app)
    url = f"/measures/{measure_id}/data/grid"
    login(client, "doc")
    assert submit(client, url, SAVE, **{"rows-0-first": "1", "rows-0-second": "2"}).status_code == 302
    before = stored(app)
    limited = submit(client, url, SAVE, **{"rows-1-first": "3", "rows-1-second": "4"})
    assert limited.status_code == 429
    assert "Too many attempts" in limited.text
    assert value_of(limited.text, "rows-1-first") == "3"
    assert stored(app) == before


def test_showing_a_sites_withheld_values_is_audited_as_on_its_chart(app, client, network):
    with committed(app):
        doc = accounts.get_user("doc")
        measure = factories.measure(communities.get_community("ibd"), doc)
        factories.consent(measure, doc, "north")
        factories.consent(measure, accounts.get_user("dr_south"), "south")
        factories.values(measure, doc, "north", [(60, 100), (8, 40)], start=months()[9])  # 8: a small cell
        factories.values(measure, accounts.get_user("dr_south"), "south", [(40, 60), (41, 62)], start=months()[9])
        measure_id, community_id = measure.id, measure.community_id
    login(client, "dr_south")
    client.get(f"/measures/{measure_id}/data/grid")  # nothing of South's is withheld
    assert events(app) == []
    login(client, "doc")
    page = client.get(f"/measures/{measure_id}/data/grid")
    assert value_of(page.text, "rows-10-first") == "8"
    with app.app_context():
        doc_id = accounts.get_user("doc").id
    assert events(app) == [("measure.viewed", "measure", measure_id, doc_id, "member", community_id)]


def test_every_row_of_the_form_is_labelled(app, client, network):
    measure_id = seed(app)
    login(client, "doc")
    url = f"/measures/{measure_id}/data/grid"
    (form,) = [f for f in forms_on(client, url) if SAVE in f.button_labels()]
    names = [c.name for c in form.controls if c.kind == "text"]
    assert len(names) == 24
    page = client.get(url).text
    assert all(f'<label class="visually-hidden" for="{name}">' in page for name in names)
    assert f'for="rows-11-second">Denominator, {periods.short_label(utcnow().date().replace(day=1), "month")}' in page
