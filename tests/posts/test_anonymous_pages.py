"""Whole pages for readers who are not logged in (issue 11): a community's posts, its search results and a
question are stored and served again while the community's (or the post's) version holds. Every change shows
at once; logged-in readers, readers with a message waiting and restricted communities never get a stored page."""

import pytest

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.posts import services as posts
from tests import factories
from tests.conftest import committed, login

SLUG = "ibd-anon"


@pytest.fixture
def community(app):
    with committed(app):
        ibd = factories.community(slug=SLUG)
        owner = factories.owner_of(ibd)
        factories.member(ibd, factories.user(username="asker"))
        factories.member(ibd, factories.user(username="mod"), role="moderator")
        q = factories.question(ibd, accounts.get_user("asker"), title="Calprotectin before a colonoscopy?")
        return {"question": q.id, "owner": owner.username}


def change(app, fn):
    with committed(app):
        fn(accounts.get_user)


def edit_community(owner, **changes):
    """The owner saves the community's settings form with `changes`, the rest as they are."""
    ibd = communities.get_community(SLUG)
    system = ibd.condition_system.value if ibd.condition_system else None
    fields = {"name": ibd.name, "condition_name": ibd.condition_name, "description": ibd.description,
              "guidelines": ibd.guidelines, "visibility": ibd.visibility.value, "slug": ibd.slug,
              "condition_code": ibd.condition_code, "condition_system": system}  # fmt: skip
    communities.update_community(ibd, communities.CommunityFields(**{**fields, **changes}), by=owner)


def test_the_posts_page_shows_every_change_at_once(app, client, community, count_queries):
    url = f"/c/{SLUG}/posts"
    assert "Calprotectin before a colonoscopy?" in client.get(url).text
    with count_queries() as queries:
        assert "Calprotectin before a colonoscopy?" in client.get(url).text  # the stored page
    assert len(queries) == 1  # the community's version, and whether it is public

    change(app, lambda u: factories.question(communities.get_community(SLUG), u("asker"), title="Iron infusions?"))
    assert "Iron infusions?" in client.get(url).text

    def edit(u):
        post = posts.get_post(community["question"], by=u("asker"))
        fields = posts.PostFields(title="Calprotectin, edited", tags="school", sections=dict(post.details))
        posts.edit_post(post, fields, by=u("asker"))

    change(app, edit)
    page = client.get(url).text
    assert "Calprotectin, edited" in page
    assert "Calprotectin before a colonoscopy?" not in page

    change(app, lambda u: posts.hide_content("post", community["question"], by=u("mod"), reason="Off topic"))
    assert "Calprotectin, edited" not in client.get(url).text


def test_search_results_follow_new_posts(app, client, community):
    url = f"/c/{SLUG}/search?q=infliximab"
    assert "Infliximab levels" not in client.get(url).text
    change(app, lambda u: factories.question(communities.get_community(SLUG), u("asker"), title="Infliximab levels"))
    assert "Infliximab" in client.get(url).text


def test_a_community_made_restricted_is_refused_at_once(app, client, community):
    url = f"/c/{SLUG}/posts"
    question_url = f"/c/{SLUG}/q/{community['question']}"
    assert client.get(url).status_code == 200
    assert client.get(question_url).status_code == 200
    assert client.get(f"/c/{SLUG}/search?q=calprotectin").status_code == 200

    change(app, lambda u: edit_community(u(community["owner"]), visibility="restricted"))
    assert client.get(url).status_code == 403
    assert client.get(f"/c/{SLUG}/search?q=calprotectin").status_code == 403
    assert "Calprotectin" not in client.get(question_url).text


def test_renaming_the_community_shows_on_its_posts_page(app, client, community):
    url = f"/c/{SLUG}/posts"
    client.get(url)

    change(app, lambda u: edit_community(u(community["owner"]), name="Crohn's and colitis"))
    assert "Crohn&#39;s and colitis" in client.get(url).text


def test_members_never_get_the_stored_page_and_see_theirs_after_leaving(app, client, community):
    url = f"/c/{SLUG}/posts"
    assert "Log in</a> to take part" in client.get(url).text  # stored for readers who are not logged in
    login(client, "asker")
    assert "Ask a question" in client.get(url).text
    change(app, lambda u: communities.leave_community(u("asker"), communities.get_community(SLUG)))
    page = client.get(url).text
    assert "Ask a question" not in page
    assert "Join the community</a>" in page


def test_no_session_cookie_for_readers_who_are_not_logged_in_and_no_one_elses_messages(app, client, community):
    url = f"/c/{SLUG}/posts"
    first, second = app.test_client(), app.test_client()
    for reader in (first, second, second):  # rendered, then stored
        response = reader.get(url)
        assert "Set-Cookie" not in response.headers
        assert 'name="csrf-token"' not in response.text  # they have nothing to send

    with first.session_transaction() as session:
        session["_flashes"] = [("success", "Your message for this reader only")]
    assert "Your message for this reader only" in first.get(url).text
    assert "Your message for this reader only" not in second.get(url).text
    assert "Your message for this reader only" not in first.get(url).text  # shown once


def test_a_stored_question_page_holds_only_while_its_version_does(app, client, community):
    url = f"/c/{SLUG}/q/{community['question']}"
    client.get(url)
    change(app, lambda u: posts.post_answer(community["question"], "Ask for the stool test first.", by=u("mod")))
    assert "Ask for the stool test first." in client.get(url).text
