"""A small network: a community, four sites with their clinicians, a patient, a researcher and an intruder."""

import pytest

from tests import factories
from tests.conftest import committed

SITES = ("north", "south", "east", "west")


@pytest.fixture
def network(app):
    return make_network(app)


def make_network(app):
    """Build the network in `app`'s database; returns the community's id."""
    with committed(app):
        for slug in SITES:
            factories.institution(slug=slug, name=f"{slug.capitalize()} Hospital")
        doc = factories.user("clinician", username="doc", verified=True, institution="north")
        community = factories.community(doc, slug="ibd", name="Pediatric IBD")
        for slug in SITES[1:]:
            factories.site_clinician(community, slug, username=f"dr_{slug}")
        factories.member(community, factories.user("patient", username="teen", institution="north"))
        factories.member(community, factories.user("caregiver", username="mum"))
        factories.member(community, factories.user("clinician", username="claimed", institution="south"))
        factories.member(community, factories.user("researcher", username="lead_person"))
        factories.user("clinician", username="intruder", verified=True, institution="east")  # not a member
        community_id = community.id
    return community_id
