"""Chart annotations sit on the period that contains their date: an idea adopted through a PDSA cycle is dated at
the cycle's end (not the day someone closed the cycle or moved the idea), and a date outside the chart's periods
isn't pinned to its last point."""

import re

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.measures.services import learning
from lhn.posts import services as posts
from tests import factories
from tests.conftest import committed, login
from tests.measures.test_services import IMPROVED, STABLE


def seed(app):
    """North's chart runs 2023-01 to 2024-09; a cycle testing an idea ran 2024-01-05 to 2024-04-30 and was closed
    (and the idea moved to adopted) today, long after."""
    with committed(app):
        community, doc = communities.get_community("ibd"), accounts.get_user("doc")
        measure = factories.measure(community, doc)
        factories.consent(measure, doc, "north")
        factories.values(measure, doc, "north", STABLE + IMPROVED)
        idea = factories.idea(community, doc, title="Text-message reminders")
        fields = learning.PdsaFields(site="north", title="Reminders before clinic", prediction="More in remission",
                                     started_on="2024-01-05", idea_id=str(idea.id))  # fmt: skip
        cycle = learning.create_cycle(measure, fields, by=doc)
        learning.close_cycle(cycle, measure, act="adopt", act_notes="Remission up.", ended_on="2024-04-30", by=doc)
        posts.change_idea_status(idea.id, "under_review", by=doc, reason="Tested at North")
        posts.change_idea_status(idea.id, "adopted", by=doc, reason="It worked at North")
        learning.add_note(measure, site="north", on="2025-06-10", text="Registry migration", by=doc)
        return measure.id


def point_x(page, label):
    return re.search(rf'<circle class="point[^"]*" cx="([\d.]+)"[^>]*><title>{label}:', page).group(1)


def annotation_x(page, text):
    found = re.search(rf'<g class="annotation [^"]*"><title>\d+\. {text}[^<]*</title><line x1="([\d.]+)"', page)
    return found.group(1) if found else None


def test_an_adopted_idea_is_dated_at_its_cycles_end_and_drawn_on_that_period(app, client, network):
    measure_id = seed(app)
    login(client, "teen")
    for url in (f"/measures/{measure_id}?site=north&chart=p", f"/measures/{measure_id}?chart=p"):
        page = client.get(url).text
        listed = re.search(r'<time datetime="([\d-]+)">[^<]*</time> —\s*<a [^>]*>Idea adopted: Text-message', page)
        assert listed.group(1) == "2024-04-30"
        assert annotation_x(page, "Idea adopted: Text-message reminders") == point_x(page, "Apr 2024")
        assert annotation_x(page, "PDSA") == point_x(page, "Jan 2024")


def test_a_date_after_the_charts_last_period_is_listed_but_not_pinned_to_the_last_point(app, client, network):
    measure_id = seed(app)
    login(client, "doc")
    page = client.get(f"/measures/{measure_id}?site=north&chart=p").text
    assert '<time datetime="2025-06-10">' in page  # listed under the chart
    assert annotation_x(page, "Registry migration") is None


def test_the_annotations_api_gives_the_cycles_end(app, client, network):
    measure_id = seed(app)
    login(client, "doc")
    items = client.get(f"/api/v1/measures/{measure_id}/annotations?site=north").get_json()["items"]
    assert [i["on"] for i in items if i["kind"] == "idea"] == ["2024-04-30"]
