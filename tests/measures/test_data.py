"""Imports are bounded and checked whole before they write: the caps on rows and bytes, refused with a message and
nothing stored; preview never writes; the largest accepted file imports with a short write transaction.

The structure is what these tests check (which statements run while the write lock is held), never the time:
bench/imports.py measures that. Forms are submitted as rendered: the page's own fields, in document order.
"""

import json
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.database import write_lock_held
from lhn.extensions import db
from lhn.measures import services as measures
from lhn.measures.models import DataPoint
from lhn.measures.services import data, fhir, periods
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.conftest import committed, login
from tests.forms import submit
from tests.measures.conftest import SITES

HEADER = "site,period,numerator,denominator\n"
WRITES = ("INSERT", "UPDATE", "DELETE")


def seed(app):
    """A monthly proportion measure whose owner, doc, leads the data of all four sites, each with consent."""
    with committed(app):
        doc = accounts.get_user("doc")
        measure = factories.measure(communities.get_community("ibd"), doc)
        for slug in SITES:
            if slug != "north":  # doc's own site
                measures.appoint_site_lead(measure, "doc", slug, by=doc)
            factories.consent(measure, doc, slug)
        return measure.id


def month(index):
    """The index-th month counted back from December 2020 (the largest file reaches back a century)."""
    year, month0 = divmod(2020 * 12 + 11 - index, 12)
    return f"{year:04d}-{month0 + 1:02d}"


def csv_file(rows, *, size=None):
    """`rows` valid rows over the four sites; numerators padded with leading zeros to make the file `size` bytes."""
    cells = [(SITES[i % len(SITES)], month(i // len(SITES)), 50 + i % 7, 80) for i in range(rows)]
    plain = HEADER + "".join(f"{s},{p},{n},{d}\n" for s, p, n, d in cells)
    if size is None:
        return plain
    pad, extra = divmod(size - len(plain), rows)
    lines = [f"{s},{p},{'0' * (pad + (i < extra))}{n},{d}\n" for i, (s, p, n, d) in enumerate(cells)]
    text = HEADER + "".join(lines)
    assert len(text.encode()) == size
    return text


def largest_csv():
    return csv_file(data.MAX_IMPORT_ROWS, size=data.MAX_IMPORT_BYTES)


def stored(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(DataPoint))


@contextmanager
def statements(app):
    """Every SQL statement run meanwhile, each with whether this context held the write lock when it ran."""
    seen = []

    def record(conn, cursor, statement, *args):
        seen.append((statement.lstrip()[:15].upper(), write_lock_held()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def read_only(seen):
    """No write, no write lock: on SQLite that also means no BEGIN IMMEDIATE."""
    return seen and not any(locked or verb.startswith((*WRITES, "BEGIN IMMEDIATE")) for verb, locked in seen)


# --- CSV through the page ------------------------------------------------------------------------------------


def test_the_largest_accepted_csv_previews_without_writing_then_imports_with_a_short_write(app, client, network):
    measure_id = seed(app)
    url = f"/measures/{measure_id}/data/upload"
    login(client, "doc")
    page = client.get(url).text
    assert f"at most {data.MAX_IMPORT_ROWS:,} rows and 2 MB" in page
    with statements(app) as seen:
        preview = submit(client, url, "Preview", page=page, file=(largest_csv().encode(), "sites.csv"))
    assert preview.status_code == 200
    assert f"Import {data.MAX_IMPORT_ROWS:,} rows" in preview.text
    assert read_only(seen)
    assert stored(app) == 0
    with statements(app) as seen:
        done = submit(client, url, f"Import {data.MAX_IMPORT_ROWS:,} rows", page=preview)
    assert done.status_code == 302
    under_lock = [verb for verb, locked in seen if locked]  # the hidden text came back with 5,000 more bytes (CRLF)
    # Re-reads, one UPDATE, a few multi-row INSERTs, the notifications: nothing per row, nothing slow (slow_work
    # under the lock would have raised, as warnings are errors in tests).
    assert 0 < len(under_lock) <= 40, under_lock
    assert stored(app) == data.MAX_IMPORT_ROWS


def test_one_row_over_the_cap_is_refused_on_the_form_and_nothing_is_stored(app, client, network):
    measure_id = seed(app)
    url = f"/measures/{measure_id}/data/upload"
    login(client, "doc")
    page = client.get(url).text
    refused = submit(client, url, "Preview", page=page, file=(csv_file(data.MAX_IMPORT_ROWS + 1).encode(), "sites.csv"))
    assert refused.status_code == 422
    assert f"The file has more than {data.MAX_IMPORT_ROWS:,} rows" in refused.text
    assert "Preview" in refused.text
    assert "Import " not in refused.text
    # The import step checks the text a preview handed over again (here: a client sending too many rows).
    text = csv_file(data.MAX_IMPORT_ROWS + 1)
    again = client.post(url, data={"csv_text": text, "confirm": "1"}, content_type="multipart/form-data")
    assert again.status_code == 422
    assert f"The file has more than {data.MAX_IMPORT_ROWS:,} rows" in again.text
    assert stored(app) == 0


@pytest.mark.parametrize("cells", ["nor\x00th,2024-01,5,80", "north,2024-01,5\x00,80"])
def test_a_row_with_a_nul_is_refused_on_its_line_and_nothing_is_stored(app, client, network, cells):
    # A site named with a NUL reached the lookup of the file's sites: PostgreSQL refuses a NUL in any query (a 500).
    measure_id = seed(app)
    login(client, "doc")
    url = f"/measures/{measure_id}/data/upload"
    text = HEADER + "south,2024-01,4,80\n" + cells + "\n"
    refused = submit(client, url, "Preview", file=(text.encode(), "sites.csv"))
    assert refused.status_code == 422
    assert "NUL character" in refused.text
    assert "Line 3" in refused.text
    again = client.post(url, data={"csv_text": text, "confirm": "1"}, content_type="multipart/form-data")
    assert again.status_code == 422
    assert stored(app) == 0


def test_a_file_over_the_byte_cap_is_refused_on_the_form(app, client, network):
    measure_id = seed(app)
    login(client, "doc")
    url = f"/measures/{measure_id}/data/upload"
    too_big = csv_file(100, size=data.MAX_IMPORT_BYTES + 1).encode()
    refused = submit(client, url, "Preview", file=(too_big, "sites.csv"))
    assert refused.status_code == 422
    assert "The file is larger than 2 MB" in refused.text
    # The largest file with CRLF line breaks is a little larger: refused whole, never cut at the cap and imported.
    crlf = largest_csv().replace("\n", "\r\n").encode()
    refused = submit(client, url, "Preview", file=(crlf, "sites.csv"))
    assert "The file is larger than 2 MB" in refused.text
    fhir_url = f"/measures/{measure_id}/fhir/import"
    refused = submit(client, fhir_url, "Import", file=(b" " * (data.MAX_IMPORT_BYTES + 1), "bundle.json"))
    assert refused.status_code == 422
    assert "The file is larger than 2 MB" in refused.text
    assert stored(app) == 0


# --- CSV over the API ------------------------------------------------------------------------------------------


def test_the_api_previews_the_largest_file_without_writing_and_refuses_files_over_the_caps(app, client, network):
    many = {"import": "60 per minute"}  # previews and imports share one allowance (5 a minute): this test sends more
    app.config.update(RATE_LIMITS=many, NEW_ACCOUNT_RATE_LIMITS=many)
    measure_id = seed(app)
    doc = {**bearer(token_for(client, "doc")), "Content-Type": "text/csv"}
    url = f"/api/v1/measures/{measure_id}/data.csv"
    client.get("/api/v1/me", headers=doc)  # a token's first use is recorded (a write of its own): not the preview's
    with statements(app) as seen:
        preview = client.post(f"{url}/preview", data=largest_csv(), headers=doc)
    assert preview.status_code == 200
    assert preview.get_json()["valid"] is True
    assert len(preview.get_json()["rows"]) == data.MAX_IMPORT_ROWS
    assert read_only(seen)
    for path in (url, f"{url}/preview"):
        rows = assert_error(
            client.post(path, data=csv_file(data.MAX_IMPORT_ROWS + 1), headers=doc), 413, "payload_too_large"
        )
        assert f"more than {data.MAX_IMPORT_ROWS:,} rows" in rows["fields"]["file"]
        size = assert_error(
            client.post(path, data=csv_file(100, size=data.MAX_IMPORT_BYTES + 1), headers=doc), 413, "payload_too_large"
        )
        assert "larger than 2 MB" in size["fields"]["file"]
    assert stored(app) == 0
    with statements(app) as seen:
        done = client.post(url, data=largest_csv(), headers=doc)
    assert done.status_code == 201
    assert done.get_json() == {"stored": data.MAX_IMPORT_ROWS, "replaced": 0}
    assert 0 < sum(locked for _, locked in seen) <= 40
    again = client.post(url, data=csv_file(8).replace(",80\n", ",81\n"), headers=doc)  # 8 periods resubmitted
    assert again.get_json() == {"stored": 8, "replaced": 8}
    assert stored(app) == data.MAX_IMPORT_ROWS + 8


def test_import_caps_are_documented_in_the_openapi_description(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path, method in (
        ("/measures/{measure_id}/data.csv", "post"),
        ("/measures/{measure_id}/data.csv/preview", "post"),
        ("/measures/{measure_id}/fhir", "post"),
    ):
        operation = paths[path][method]
        assert f"at most {data.MAX_IMPORT_ROWS:,} " in operation["description"]
        assert " and 2 MB per file" in operation["description"]
        assert "413" in operation["responses"]


# --- FHIR --------------------------------------------------------------------------------------------------------


def report(measure_id, index):
    """The index-th report of the largest file, as a site's MeasureReport."""
    site, start = SITES[index % len(SITES)], periods.parse(month(index // len(SITES)), periods.MONTH)
    numerator = 50 + index % 7
    population = [
        {"code": {"coding": [{"system": fhir.POPULATION_SYSTEM, "code": code}]}, "count": count}
        for code, count in (("numerator", numerator), ("denominator", 80))
    ]
    return {
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": "summary",
        "measure": f"http://localhost/fhir/Measure/lhn-measure-{measure_id}|1",
        "reporter": {"identifier": {"system": fhir.SITE_SYSTEM, "value": site}},
        "period": {"start": start.isoformat(), "end": periods.end_of(start, periods.MONTH).isoformat()},
        "group": [{"population": population, "measureScoreQuantity": {"value": numerator / 80}}],
    }


def largest_bundle(measure_id):
    """As many reports as fit in the byte cap (compact JSON), and how many."""
    prefix, suffix = '{"resourceType": "Bundle", "type": "collection", "entry": [', "]}"
    parts, size = [], len(prefix) + len(suffix)
    while True:
        part = json.dumps({"resource": report(measure_id, len(parts))})
        if size + len(part) + 2 * bool(parts) > data.MAX_IMPORT_BYTES:
            return prefix + ", ".join(parts) + suffix, len(parts)
        size += len(part) + 2 * bool(parts)
        parts.append(part)


def test_the_largest_fhir_bundle_imports_and_bundles_over_the_caps_are_refused(app, client, network):
    measure_id = seed(app)
    doc = bearer(token_for(client, "doc"))
    url = f"/api/v1/measures/{measure_id}/fhir"
    body, count = largest_bundle(measure_id)
    assert data.MAX_IMPORT_BYTES - 1000 < len(body) <= data.MAX_IMPORT_BYTES
    with statements(app) as seen:
        done = client.post(url, data=body, headers={**doc, "Content-Type": "application/fhir+json"})
    assert done.status_code == 201, done.text
    assert done.get_json()["stored"] == count
    assert 0 < sum(locked for _, locked in seen) <= 40
    tiny = {"resource": {"resourceType": "MeasureReport"}}  # small enough that the entry cap comes first
    many = {"resourceType": "Bundle", "type": "collection", "entry": [tiny] * (data.MAX_IMPORT_ROWS + 1)}
    error = assert_error(client.post(url, json=many, headers=doc), 413, "payload_too_large")
    assert f"more than {data.MAX_IMPORT_ROWS:,}" in error["fields"]["file"]
    error = assert_error(
        client.post(url, data=" " * (data.MAX_IMPORT_BYTES + 1), headers={**doc, "Content-Type": "application/json"}),
        413,
        "payload_too_large",
    )
    assert "larger than 2 MB" in error["fields"]["file"]
    assert stored(app) == count


def test_file_checks_are_rate_limited_per_person_on_the_api(make_app, network):
    app = make_app(RATE_LIMITS={"import": "2 per hour"}, NEW_ACCOUNT_RATE_LIMITS={"import": "2 per hour"})
    client = app.test_client()
    with committed(app):
        measure_id = factories.measure(communities.get_community("ibd"), accounts.get_user("doc")).id
    doc = bearer(token_for(client, "doc"))
    url = f"/api/v1/measures/{measure_id}/data.csv/preview"
    codes = [client.post(url, data="site,period,numerator,denominator\n", headers=doc).status_code for _ in range(3)]
    assert 429 not in codes[:2]
    assert codes[2] == 429


def test_a_fhir_report_naming_a_site_with_a_nul_is_refused_on_the_page_and_over_the_api(app, client, network):
    measure_id = seed(app)
    bad = report(measure_id, 0)
    bad["reporter"]["identifier"]["value"] = "nor\x00th"
    bundle = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": bad}]})
    login(client, "doc")
    refused = submit(client, f"/measures/{measure_id}/fhir/import", "Import", file=(bundle.encode(), "bundle.json"))
    assert refused.status_code == 422
    assert "NUL character" in refused.text
    doc = bearer(token_for(client, "doc"))
    answer = client.post(f"/api/v1/measures/{measure_id}/fhir", data=bundle,
                         headers={**doc, "Content-Type": "application/fhir+json"})  # fmt: skip
    assert answer.status_code == 422, answer.text
    assert stored(app) == 0
