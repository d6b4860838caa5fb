"""A chart as a file for slides: the chart page's chart (same site, chart, rules and suppression) as a standalone SVG
with its own styles, white background and title, or as a PNG drawn by cairosvg; pages and API, rate limited."""

import re
import struct
import xml.etree.ElementTree as ET
from datetime import date

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.communities.models import Visibility
from lhn.measures import services as measures
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.conftest import committed, login
from tests.measures.test_audit import events
from tests.measures.test_audit import seed as seed_small_cell
from tests.measures.test_services import IMPROVED, STABLE
from tests.measures.test_views import seed

SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHART = re.compile(r'<svg class="spc-chart" .*?</svg>', re.DOTALL)


def parsed(body: bytes) -> ET.Element:
    return ET.fromstring(body)  # noqa: S314 - our own server's output, parsed to prove it is well-formed


def png_size(body: bytes) -> tuple[int, int]:
    assert body.startswith(PNG_SIGNATURE)
    return struct.unpack(">II", body[16:24])  # the IHDR chunk: width, height


def attachment(response) -> str:
    disposition = response.headers["Content-Disposition"]
    match = re.fullmatch(r'attachment; filename="([a-z0-9.-]+)"', disposition)
    assert match, disposition
    return match[1]


def test_the_chart_page_links_both_files_for_the_chart_shown(app, client, network):
    measure_id = seed(app)
    page = client.get(f"/measures/{measure_id}?site=north&chart=run&rules=ihi").text
    shown = "site=north&amp;chart=run&amp;rules=ihi"
    assert f'href="/measures/{measure_id}/chart.svg?{shown}" download>Download SVG' in page
    assert f'href="/measures/{measure_id}/chart.png?{shown}" download>Download PNG' in page
    network_page = client.get(f"/measures/{measure_id}").text
    assert f'href="/measures/{measure_id}/chart.svg?chart=pp&amp;rules=shewhart_anhoj"' in network_page


def test_the_svg_is_a_standalone_document_with_its_styles_background_and_title(app, client, network):
    measure_id = seed(app)
    response = client.get(f"/measures/{measure_id}/chart.svg?site=north&chart=p")  # anyone who may read it
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert attachment(response) == "clinical-remission-north-p.svg"
    root = parsed(response.data)
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height")) == ("760", "408")
    title = "Clinical remission — North Hospital — p chart"
    assert root.find(f"{SVG}title").text == title
    assert [t.text for t in root.iter(f"{SVG}text") if t.get("class", "").startswith("file-title")] == [title]
    style = root.find(f"{SVG}style").text
    assert ".spc-chart .point { fill: #1d2733; }" in style
    assert ".spc-chart .centre { fill: none; stroke: #0b6e6e; stroke-width: 2; }" in style  # var(--brand) resolved
    assert "var(" not in style
    background = root.find(f"{SVG}rect")
    assert (background.get("width"), background.get("fill")) == ("760", "#ffffff")
    chart = root.find(f"{SVG}svg/{SVG}svg")
    assert chart.get("class") == "spc-chart"
    assert len(chart.findall(f"{SVG}circle")) == len(STABLE + IMPROVED)  # every point
    assert "signal" in {t.text for t in root.iter(f"{SVG}text")}  # the legend


def test_the_file_draws_exactly_the_chart_of_the_page_suppression_included(app, client, network):
    measure_id, community_id = seed_small_cell(app)  # North's 8 of 40 is a small cell: masked for outsiders
    login(client, "teen")
    url = f"/measures/{measure_id}?site=north&chart=run"
    page = client.get(url).text
    svg_file = client.get(url.replace("?", "/chart.svg?"))
    assert CHART.search(svg_file.text)[0] == CHART.search(page)[0]
    assert "masked (small numbers)" in svg_file.text
    assert "8 / 40" not in svg_file.text
    assert "small-cell suppression" in svg_file.text
    assert client.get(url.replace("?", "/chart.png?")).status_code == 200
    assert events(app) == []  # an outsider's suppressed chart: nothing restricted was shown
    login(client, "doc")  # North's team sees it whole, and seeing it is audited as on the page
    whole = client.get(url.replace("?", "/chart.svg?"))
    assert CHART.search(whole.text)[0] == CHART.search(client.get(url).text)[0]
    assert "8 / 40" in whole.text
    assert "masked (small numbers)" not in whole.text
    with app.app_context():
        doc_id = accounts.get_user("doc").id
    viewed = ("measure.viewed", "measure", measure_id, doc_id, "member", community_id)
    assert events(app) == [viewed, viewed]


def test_the_png_is_drawn_from_the_svg_at_twice_its_size(app, client, network):
    measure_id = seed(app)
    response = client.get(f"/measures/{measure_id}/chart.png?site=north")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert attachment(response) == "clinical-remission-north-p.png"
    assert png_size(response.data) == (1520, 816)
    assert 20_000 < len(response.data) < 1_000_000


def test_a_safe_file_name_and_the_page_s_fallbacks(app, client, network):
    with committed(app):
        doc = accounts.get_user("doc")
        measure = factories.measure(communities.get_community("ibd"), doc, name='"; rm -rf / <b>Ünïcode</b>')
        empty_id = factories.measure(communities.get_community("ibd"), doc, name="—").id
        measure_id = measure.id
    response = client.get(f"/measures/{measure_id}/chart.svg?chart=nonsense&rules=nonsense")
    assert response.status_code == 200  # the measure's own chart, as the page shows it
    assert attachment(response) == "rm-rf-b-n-code-b-all-sites-pp.svg"
    root = parsed(response.data)
    assert root.find(f"{SVG}title").text.startswith('"; rm -rf / <b>Ünïcode</b> — All sites')  # text, not markup
    assert "no data yet" in response.text
    assert attachment(client.get(f"/measures/{empty_id}/chart.png")) == f"measure-{empty_id}-all-sites-pp.png"


def test_refusals_and_bad_input(app, client, network):
    measure_id = seed(app)
    assert client.get(f"/measures/{measure_id}/chart.svg?site=nowhere").status_code == 404
    assert client.get(f"/measures/{measure_id}/chart.png?site=west").status_code == 404  # no data there
    assert client.get("/measures/999/chart.svg").status_code == 404
    assert client.get(f"/measures/{measure_id}/chart.gif").status_code == 404
    assert client.get(f"/measures/{measure_id}/chart.svg?site=%00").status_code == 400
    with committed(app):
        communities.get_community("ibd").visibility = Visibility.RESTRICTED
    for person in (None, "intruder"):
        if person:
            login(client, person)
        assert client.get(f"/measures/{measure_id}/chart.svg").status_code == 404
        assert client.get(f"/measures/{measure_id}/chart.png").status_code == 404
    login(client, "teen")  # a member reads it
    assert client.get(f"/measures/{measure_id}/chart.png").status_code == 200


def test_both_files_over_the_api_with_openapi_entries(app, client, network):
    measure_id = seed(app)
    base = f"/api/v1/measures/{measure_id}"
    svg_file = client.get(f"{base}/chart.svg?site=south&chart=run")
    assert svg_file.status_code == 200
    assert svg_file.mimetype == "image/svg+xml"
    assert attachment(svg_file) == "clinical-remission-south-run.svg"
    assert parsed(svg_file.data).find(f"{SVG}style") is not None
    png = client.get(f"{base}/chart.png", headers=bearer(token_for(client, "dr_south")))
    assert png.mimetype == "image/png"
    assert png_size(png.data) == (1520, 816)
    assert_error(client.get(f"{base}/chart.svg?site=nowhere"), 404, "not_found")
    assert_error(client.get("/api/v1/measures/999/chart.png"), 404, "not_found")
    spec = client.get("/api/v1/openapi.json").get_json()
    for name, mimetype in (("chart.svg", "image/svg+xml"), ("chart.png", "image/png")):
        operation = spec["paths"][f"/measures/{{measure_id}}/{name}"]["get"]
        assert mimetype in operation["responses"]["200"]["content"]
        assert "429" in operation["responses"]


def test_files_are_rate_limited_per_person_or_address(make_app, network):
    limits = {"preview": "2 per minute"}
    app = make_app(RATE_LIMITS=limits, NEW_ACCOUNT_RATE_LIMITS=limits)
    client = app.test_client()
    measure_id = seed(app)
    codes = [client.get(f"/measures/{measure_id}/chart.png").status_code for _ in range(3)]
    assert codes == [200, 200, 429]  # anonymous: by address
    assert "Retry-After" in client.get(f"/measures/{measure_id}/chart.svg").headers
    assert_error(client.get(f"/api/v1/measures/{measure_id}/chart.png"), 429, "rate_limited")  # one allowance
    login(client, "teen")  # a person has an allowance of their own
    assert client.get(f"/measures/{measure_id}/chart.png").status_code == 200
    with app.app_context():
        assert measures.find_measure(measure_id) is not None


def test_the_numbered_marks_on_the_chart_are_explained_under_it(app, client, network):
    measure_id = seed(app)
    with committed(app):
        measure, doc = measures.find_measure(measure_id), accounts.get_user("doc")
        measures.add_note(measure, site="north", on=date(2020, 1, 5), text="Before the chart", by=doc)  # not drawn
        measures.add_note(measure, site="north", on=date(2023, 6, 15), text="Nurse line <started>", by=doc)
    root = parsed(client.get(f"/measures/{measure_id}/chart.svg?site=north").data)
    notes = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "file-note"]
    assert notes == ["2. 15 Jun 2023 — Nurse line <started>"]  # numbered as on the chart and the page
    assert root.get("height") == "432"  # a line more, and a margin under it
    assert png_size(client.get(f"/measures/{measure_id}/chart.png?site=north").data) == (1520, 864)
