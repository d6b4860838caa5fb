"""A measure's charts (lhn/measures/charts.py) through its pages. Every data shape × type × rule set: test_matrix.py."""

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from tests import factories
from tests.conftest import committed, login


def test_a_patients_new_measure_without_data_breaks_no_page(app, client, network):
    """Issue 9, item 3: a continuous measure under the Western Electric rules and with no data made the
    community's measures pages answer 500 for everyone, for good."""
    with committed(app):
        measure = factories.measure(
            communities.get_community("ibd"),
            accounts.get_user("teen"),
            name="Fatigue score",
            type="continuous",
            unit="points",
            rule_set="western_electric",
        )
        measure_id = measure.id
    member = app.test_client()
    login(member, "mum")
    for reader in (member, client):  # a member, and anyone: the community is public
        assert "No data yet, so no signals." in reader.get(f"/measures/{measure_id}").text
        dashboard = reader.get("/c/ibd/measures").text
        assert "Fatigue score" in dashboard
        assert "common-cause" not in dashboard  # there is no variation to judge yet
        chart = reader.get(f"/api/v1/measures/{measure_id}/chart")
        assert chart.status_code == 200
        assert chart.json["points"] == []
