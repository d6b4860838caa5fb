"""Member pages read well for every person: buttons that name whom they act on, and a restricted community shows
a non-member only what they can open, with the way in (asking to join)."""

import re

from tests import factories
from tests.communities.test_views import setup_ibd
from tests.conftest import committed, login


def tabs(page):
    nav = re.search(r'<nav class="tabs"[^>]*>(.*?)</nav>', page, re.S).group(1)
    return re.findall(r'href="([^"]+)"', nav)


def test_member_management_buttons_name_the_person(app, client):
    setup_ibd(app)
    with committed(app):
        from lhn.communities import services as communities

        ibd = communities.get_community("ibd")
        factories.member(
            ibd, factories.user("caregiver", username="sam", display_name="Sam the carer"), role="moderator"
        )
    login(client, "doc")
    page = client.get("/c/ibd/members").text
    teen_name = re.search(r'href="/u/teen">([^<]+)</a>', page).group(1)
    assert f'aria-label="Make {teen_name} a moderator"' in page
    assert 'aria-label="Remove Sam the carer as moderator"' in page
    labels = re.findall(r'<button[^>]*aria-label="([^"]+)"', page)
    assert len(labels) == len(set(labels)) == 2  # each button says whom it acts on


def test_join_request_buttons_name_the_person(app, client):
    setup_ibd(app)
    with committed(app):
        from lhn.accounts import services as accounts
        from lhn.communities import services as communities

        communities.request_to_join(accounts.get_user("intruder"), communities.get_community("cf-care"),
                                    accept_guidelines=True)  # fmt: skip
        name = accounts.get_user("intruder").display_name
    login(client, "doc")
    page = client.get("/c/cf-care/requests").text
    assert f'aria-label="Approve {name}’s request to join"' in page
    assert f'aria-label="Deny {name}’s request to join"' in page


def test_a_non_member_of_a_restricted_community_is_shown_only_tabs_they_can_open(app, client):
    setup_ibd(app)
    for who in (None, "intruder"):
        if who:
            login(client, who)
        page = client.get("/c/cf-care").text
        for href in tabs(page):
            assert client.get(href, follow_redirects=True).status_code == 200, (who, href)
        assert "Ask to join" in page if who else "Log in to join" in page
    login(client, "cfmum")  # a member sees every tab, and each opens
    member_tabs = tabs(client.get("/c/cf-care").text)
    assert len(member_tabs) >= 6
    for href in member_tabs:
        assert client.get(href, follow_redirects=True).status_code == 200, href
