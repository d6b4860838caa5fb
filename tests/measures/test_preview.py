"""The CSV preview reports exactly what the import would refuse: the same checks, the same lines, the same words
(duplicated site/period rows too, whatever else is wrong with them)."""

import pytest

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.errors import PermissionDenied
from lhn.extensions import db
from lhn.measures.models import DataPoint
from lhn.measures.services import csv_files, data
from tests import factories
from tests.api.test_api import bearer, token_for
from tests.conftest import committed, login
from tests.forms import submit

HEADER = "site,period,numerator,denominator\n"
FILES = [
    HEADER + "north,2025-01,90,80\nnorth,2025-01,50,80\n",  # the first of a duplicated pair is wrong too
    HEADER + "north,2025-01,50,80\nnorth,2025-01,50,\n",  # the second is
    HEADER + "north,2025-01,50,80\nnorth, 2025-01 ,51,80\nnorth,2025-02,5,9\nnorth,2025-02,x,9\n",
    HEADER + "north,2025-01,50,80\nsouth,2025-01,50,80\nsouth,2025-01,50,80\n",  # not doc's site, twice
    HEADER + "west,2025-01,50,80\nwest,2025-01,50,80\n",  # a site without consent (doc isn't on its team)
    HEADER,  # no rows at all
]


def user(name):
    return accounts.get_user(name)


def setup_measure():
    measure = factories.measure(communities.get_community("ibd"), user("doc"))
    factories.consent(measure, user("doc"), "north")
    return measure


def outcome(call):
    """What a check reports: (line, field, message) of each problem, or the refusal of the whole file."""
    try:
        return call()
    except data.RowsInvalid as exc:
        return sorted((e.line or 0, e.field, e.message) for e in exc.row_errors)
    except PermissionDenied as exc:
        return ("refused", exc.message)


def previewed(measure, text, by):
    def call():
        rows = csv_files.preview_csv(measure, text, by=by)
        return sorted((row.line or 0, e.field, e.message) for row, errors in rows for e in errors)

    return outcome(call)


def imported(measure, text, by):
    return outcome(lambda: csv_files.import_csv(measure, text, by=by) and [])


@pytest.mark.parametrize("text", FILES)
def test_the_preview_reports_what_the_import_refuses(ctx, network, text):
    measure = setup_measure()
    expected = imported(measure, text, user("doc"))
    assert db.session.query(DataPoint).count() == 0
    assert expected  # every file here is refused
    assert previewed(measure, text, user("doc")) == expected


def test_a_duplicated_period_is_named_even_when_the_first_row_is_wrong_too(ctx, network):
    measure = setup_measure()
    problems = imported(measure, FILES[0], user("doc"))
    assert [(line, field) for line, field, _ in problems] == [(2, "numerator"), (3, "period")]
    assert problems[1][2] == "North Hospital 2025-01 is also on line 2."


def test_someone_off_every_sites_team_is_refused_by_the_preview_as_by_the_import(ctx, network):
    measure = setup_measure()
    text = HEADER + "north,2025-01,50,80\n"
    assert previewed(measure, text, user("teen")) == imported(measure, text, user("teen"))


def test_the_upload_page_and_the_api_preview_flag_the_duplicate(app, client, network):
    with committed(app):
        measure_id = setup_measure().id
    login(client, "doc")
    page = submit(client, f"/measures/{measure_id}/data/upload", "Preview", file=(FILES[0].encode(), "data.csv"))
    assert "Nothing was imported. 2 problems" in page.text
    assert "Line 3, period: North Hospital 2025-01 is also on line 2." in page.text
    body = client.post(
        f"/api/v1/measures/{measure_id}/data.csv/preview",
        data=FILES[0],
        headers={**bearer(token_for(client, "doc")), "Content-Type": "text/csv"},
    ).get_json()
    assert body["valid"] is False
    assert [bool(row["errors"]) for row in body["rows"]] == [True, True]
