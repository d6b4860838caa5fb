"""The submission grid: the sites taking part in a measure × its last 12 periods, each cell sent (when), late, not due
yet or before the measure; owners see every site and remind the late ones from it, a site's team sees its own row."""

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from lhn.accounts import services as accounts
from lhn.communities.models import Visibility
from lhn.database import utcnow
from lhn.errors import NotFound, PermissionDenied
from lhn.measures import services as measures
from lhn.measures.services import periods
from lhn.measures.services.submissions import last_closed_period
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.conftest import committed, login
from tests.forms import submit
from tests.measures.test_reminders import MARCH_10, make_measure, reminded, user


def statuses(grid):
    """{site slug: [status, ...]} in the grid's period order."""
    return {row.site.slug: [cell.status for cell in row.cells] for row in grid.rows}


def test_owners_see_every_site_taking_part_over_the_last_twelve_periods(ctx, network):
    measure = make_measure()  # north sent Jan and Feb 2023, south Jan, east (a data lead) nothing; west takes no part
    grid = measures.submission_grid(measure, by=user("doc"), today=MARCH_10.date())
    assert [grid.label(s) for s in (grid.periods[0], grid.periods[-1])] == ["Apr 2022", "Mar 2023"]
    assert len(grid.periods) == measures.GRID_PERIODS == 12
    before = ["before"] * 9  # Apr–Dec 2022 ended before the measure was defined (1 Jan 2023): nobody was asked
    assert statuses(grid) == {
        "east": [*before, "late", "late", "not_due"],
        "north": [*before, "sent", "sent", "not_due"],
        "south": [*before, "sent", "late", "not_due"],
    }
    assert [row.site.name for row in grid.rows] == ["East Hospital", "North Hospital", "South Hospital"]
    sent = grid.rows[1].cells[9]
    assert sent.sent_at is not None
    assert sent.sent_at.tzinfo is not None
    assert grid.can_remind
    assert grid.label(grid.reminder_period) == "Feb 2023"
    assert [s.slug for s in grid.not_sent_last_period] == ["east", "south"]
    # The reminders' notion of late: February is late only once its grace days are over (5 by default) ...
    early = measures.submission_grid(measure, by=user("doc"), today=date(2023, 3, 3))
    assert statuses(early)["south"][-2:] == ["not_due", "not_due"]
    # ... though the owners may remind of it already, as on the owners page
    assert [s.slug for s in early.not_sent_last_period] == ["east", "south"]
    # A site that withdraws its consent no longer takes part (its data would be refused)
    measures.withdraw_consent(measure, accounts.find_institution("south"), by=user("dr_south"))
    assert set(statuses(measures.submission_grid(measure, by=user("doc"), today=MARCH_10.date()))) == {"east", "north"}


def test_a_site_team_sees_its_own_row_only_and_others_are_refused(ctx, network):
    measure = make_measure()
    south = measures.submission_grid(measure, by=user("dr_south"), today=MARCH_10.date())
    assert list(statuses(south)) == ["south"]
    assert not south.can_remind
    lead = measures.submission_grid(measure, by=user("lead_person"), today=MARCH_10.date())
    assert list(statuses(lead)) == ["east"]  # a data lead: the site they were appointed for
    for outsider in ("teen", "mum", "claimed"):  # members on no site's team (a claimed badge isn't verified)
        with pytest.raises(PermissionDenied):
            measures.submission_grid(measure, by=user(outsider))
    with pytest.raises(PermissionDenied):
        measures.submission_grid(measure, by=user("intruder"))  # not a member of the (public) community


def test_a_restricted_community_grid_is_not_found_for_outsiders(ctx, network):
    measure = make_measure()
    measure.community.visibility = Visibility.RESTRICTED
    with pytest.raises(NotFound):
        measures.submission_grid(measure, by=user("intruder"))


def test_the_grid_runs_a_fixed_number_of_queries(app, network, count_queries):
    """No N+1: more sites and more data give the same queries (pinned)."""
    with committed(app):
        measure_id = make_measure().id

    def count() -> int:
        with app.app_context():
            measure, doc = measures.find_measure(measure_id), user("doc")
            with count_queries() as queries:
                measures.submission_grid(measure, by=doc, today=MARCH_10.date())
            return len(queries)

    few = count()
    with committed(app):
        measure = measures.find_measure(measure_id)
        factories.consent(measure, user("dr_west"), "west")
        factories.values(measure, user("dr_west"), "west", [(5, 10)] * 14, start="2022-01")
        factories.values(measure, user("dr_east"), "east", [(5, 10)] * 2)
        for slug in ("s1", "s2", "s3"):
            factories.institution(slug=slug)
            measures.appoint_site_lead(measure, "lead_person", slug, by=user("doc"))
    with app.app_context():
        grid = measures.submission_grid(measures.find_measure(measure_id), by=user("doc"), today=MARCH_10.date())
        assert len(grid.rows) == 4  # the new sites have a data lead but no consent: they don't take part yet
    assert count() == few == 9


def recent_measure(app):
    """A measure defined two years ago: north sent the last closed period, south sent nothing lately."""
    with committed(app):
        measure = make_measure()
        measure.created_at = utcnow() - timedelta(days=730)
        last = periods.label(last_closed_period(measure, utcnow().date()), "month")
        factories.values(measure, user("doc"), "north", [(33, 50)], start=last)
        return measure.id


def test_the_grid_page_marks_late_cells_in_words_and_reminds_from_them(app, client, network):
    measure_id = recent_measure(app)
    url = f"/measures/{measure_id}/submissions"
    assert client.get(url).status_code == 302  # anonymous: to the login page
    login(client, "doc")
    assert f'href="{url}"' in client.get(f"/measures/{measure_id}/owners").text  # linked where owners remind today
    assert f'href="{url}"' in client.get(f"/measures/{measure_id}").text  # and from the chart page
    page = client.get(url)
    assert page.status_code == 200
    assert '<td class="grid-cell grid-late"><span class="grid-status">Late</span>' in page.text
    assert "✓ Sent</span> <time datetime=" in page.text
    assert "Not due yet" in page.text
    assert "33" not in page.text.split('<table class="table submission-grid">')[1].split("</table>")[0]  # no values
    done = submit(client, url, "Remind the late sites", follow_redirects=True)
    assert done.request.path == url  # back to the grid
    assert "Reminded East Hospital, South Hospital." in done.text
    again = submit(client, url, "Remind the late sites", follow_redirects=True)
    assert "already reminded today" in again.text
    with app.app_context():
        assert len(reminded(user("dr_south"))) == 1


def test_the_grid_page_for_a_site_team_is_its_row_read_only_and_refused_to_others(app, client, network):
    measure_id = recent_measure(app)
    url = f"/measures/{measure_id}/submissions"
    login(client, "dr_south")
    page = client.get(url)
    assert page.status_code == 200
    assert "South Hospital" in page.text
    assert "North Hospital" not in page.text
    assert "Remind the late sites" not in page.text
    assert client.post(f"/measures/{measure_id}/reminders", data={"back": "grid"}).status_code in (400, 403)
    login(client, "teen")
    assert client.get(url).status_code == 403
    login(client, "intruder")
    assert client.get(url).status_code == 403
    assert client.get("/measures/999/submissions").status_code == 404


def test_the_grid_over_json(app, client, network):
    measure_id = recent_measure(app)
    url = f"/api/v1/measures/{measure_id}/submissions/grid"
    assert_error(client.get(url), 401, "unauthenticated")
    doc = client.get(url, headers=bearer(token_for(client, "doc")))
    assert doc.status_code == 200
    body = doc.get_json()
    assert len(body["periods"]) == 12
    assert body["periods"][-1]["period"] == periods.label(utcnow().date().replace(day=1), "month")
    assert [s["slug"] for s in body["sites"]] == ["east", "north", "south"]
    assert len(body["cells"]) == 36
    cell = {(c["site"], c["period"]): c for c in body["cells"]}
    sent = cell["north", body["reminder_period"]]
    assert sent["status"] == "sent"
    assert sent["sent_at"]
    assert cell["south", body["reminder_period"]]["status"] in ("late", "not_due")  # late once the grace days end
    assert cell["south", body["periods"][0]["period"]] == {"site": "south", "period": body["periods"][0]["period"],
                                                           "status": "late", "sent_at": None}  # fmt: skip
    assert body["can_remind"] is True
    south = client.get(url, headers=bearer(token_for(client, "dr_south"))).get_json()
    assert [s["slug"] for s in south["sites"]] == ["south"]
    assert south["can_remind"] is False
    assert_error(client.get(url, headers=bearer(token_for(client, "intruder"))), 403, "forbidden")
    assert_error(client.get("/api/v1/measures/999/submissions/grid", headers=bearer(token_for(client, "doc"))),
                 404, "not_found")  # fmt: skip
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/measures/{measure_id}/submissions/grid" in spec["paths"]
    assert "SubmissionGrid" in spec["components"]["schemas"]


def test_the_grid_page_is_well_formed_html_around_the_table(app, client, network):
    """The table parses as XML on its own: every cell closed, one cell per period and site."""
    measure_id = recent_measure(app)
    login(client, "doc")
    text = client.get(f"/measures/{measure_id}/submissions").text
    start, end = text.index('<table class="table submission-grid">'), text.index("</table>") + len("</table>")
    table = ET.fromstring(text[start:end])  # noqa: S314 - our own page, not untrusted input
    rows = table.findall("./tbody/tr")
    assert len(rows) == 3
    assert all(len(row.findall("td")) == 12 for row in rows)
