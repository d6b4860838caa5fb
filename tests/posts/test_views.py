"""Post pages: writing, the question page with answers and seals, actions, errors re-rendered, permissions,
XSS, and constant query counts."""

import re
from datetime import timedelta

import pytest

from lhn.database import utcnow
from lhn.posts import services as posts
from tests import factories
from tests.conftest import committed, login
from tests.forms import submit

DEADLINE = (utcnow().date() + timedelta(days=90)).isoformat()
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def world(app):
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(doc, slug="ibd", name="Pediatric IBD")
        cf = factories.community(doc, slug="cf-care", name="CF Care", restricted=True)
        factories.member(ibd, factories.user("patient", username="teen"))
        factories.member(ibd, factories.user("caregiver", username="sam_mod"), role="moderator")
        ibd.moderators_may_vet = True  # sam_mod vets in these tests; standing: tests/accounts/test_trust.py
        factories.member(ibd, factories.user("clinician", username="claimed"))
        factories.member(cf, factories.user("patient", username="cfteen"))
        factories.user("patient", username="intruder")
        secret = factories.question(cf, posts_author("cfteen"), title="Secret saline question for CF members",
                                    body="Only members may read this nebuliser text.")  # fmt: skip
        return {"ibd": ibd.id, "cf": cf.id, "secret": secret.id}


def posts_author(username):
    from lhn.accounts import services as accounts

    return accounts.get_user(username)


def ask(client, **overrides):
    data = {"title": "How do you manage school trips during a flare?", "body": "Tips welcome.", "tags": "school"}
    data.update(overrides)
    return client.post("/c/ibd/new/question", data=data)


def test_members_write_each_kind_through_its_form(app, client, world):
    login(client, "teen")
    assert "Ask a question" in client.get("/c/ibd/new/question").text
    response = ask(client)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).text
    assert "How do you manage school trips during a flare?" in page
    assert 'data-live-room="post:' in page
    idea = client.post("/c/ibd/new/idea", data={"title": "A nurse phone line after infusions", "problem": "Waiting.",
                                                "proposal": "A line.", "affected": "Families."})  # fmt: skip
    assert idea.status_code == 302
    assert "/c/ibd/ideas/" in idea.headers["Location"]
    idea_page = client.get(idea.headers["Location"]).text
    assert "Status timeline" in idea_page
    assert "Proposed" in idea_page
    call = client.post("/c/ibd/new/call", data={"title": "Sites wanted for a diet therapy trial", "summary": "s",
                                                "commitment": "c", "ethics": "REC 1", "roles": ["patients"],
                                                "deadline": DEADLINE})  # fmt: skip
    assert call.status_code == 302
    assert "I&#39;m interested" not in client.get(call.headers["Location"]).text  # not on your own call
    assert client.get("/c/ibd/new/poem").status_code == 404


def test_bad_input_re_renders_the_form_with_messages_and_keeps_the_text(app, client, world):
    login(client, "teen")
    response = ask(client, title="short", body="", tags="Not Valid!")
    assert response.status_code == 422
    assert "Write a title of at least 10 characters" in response.text
    assert "This can&#39;t be empty." in response.text
    assert "Tags use lowercase letters" in response.text
    assert 'value="short"' in response.text
    call = client.post(
        "/c/ibd/new/call",
        data={
            "title": "A call without a deadline",
            "summary": "s",
            "commitment": "c",
            "ethics": "e",
            "deadline": "31/12/2029",
        },
    )
    assert call.status_code == 422
    assert "Use a date like 2027-03-31." in call.text
    assert "Say whom you are looking for." in call.text


def test_preview_renders_without_saving(app, client, world):
    login(client, "teen")
    response = ask(client, body="**bold** " + XSS, preview="Preview")
    assert response.status_code == 200
    assert "<strong>bold</strong>" in response.text
    assert "<script>alert" not in response.text
    assert posts_count(app) == 1  # only the fixture's secret question
    fragment = client.post("/preview", data={"text": "*hi* " + XSS})
    assert fragment.text.startswith("<p><em>hi</em>")
    assert "<script>" not in fragment.text
    assert app.test_client().post("/preview", data={"text": "x"}).status_code == 401


def posts_count(app):
    from sqlalchemy import func, select

    from lhn.extensions import db
    from lhn.posts.models import Post

    with app.app_context():
        return db.session.scalar(select(func.count(Post.id)))


def test_question_page_flow_answer_vet_seal_and_changed_since_vetting(app, world):
    asker, clinician, moderator = app.test_client(), app.test_client(), app.test_client()
    login(asker, "teen")
    question_url = ask(asker).headers["Location"]
    post_id = int(question_url.rsplit("/", 1)[1])
    login(clinician, "claimed")
    answered = clinician.post(f"/c/ibd/posts/{post_id}/answers", data={"body": "Ask the school nurse to come along."})
    assert answered.status_code == 302
    answer_id = int(answered.headers["Location"].rsplit("-", 1)[1])
    assert clinician.get(f"/c/ibd/answers/{answer_id}/vet").status_code == 403  # a claim grants nothing
    login(moderator, "sam_mod")
    form = moderator.get(f"/c/ibd/answers/{answer_id}/vet").text
    assert "Vet revision 1" in form
    bad = moderator.post(f"/c/ibd/answers/{answer_id}/vet", data={"note": "", "evidence": "javascript:alert(1)"})
    assert bad.status_code == 422
    assert "is not a DOI" in bad.text
    assert "Say briefly why" in bad.text
    vetted = moderator.post(
        f"/c/ibd/answers/{answer_id}/vet",
        data={"note": "Matches the school guidance.", "evidence": "10.1136/archdischild-2019-317932\nPMID: 31758784"},
    )
    assert vetted.status_code == 302
    page = asker.get(question_url).text
    assert "Vetted by" in page
    assert 'href="https://doi.org/10.1136/archdischild-2019-317932"' in page
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/31758784/"' in page
    assert "Changed since vetting" not in page
    edited = clinician.post(f"/c/ibd/answers/{answer_id}/edit", data={"body": "Ask the school nurse, and pack spares."})
    assert edited.status_code == 302
    page = asker.get(question_url).text
    assert "Changed since vetting" in page
    assert "The vetted text is revision 1" in page
    history = asker.get(f"/c/ibd/answers/{answer_id}/revisions").text
    assert "Revision 2" in history
    assert "<ins>" in history
    vettings = asker.get(f"/c/ibd/answers/{answer_id}/vettings").text
    assert "Matches the school guidance." in vettings
    unvet = moderator.post(f"/c/ibd/answers/{answer_id}/unvet", data={"reason": ""})
    assert unvet.status_code == 422
    assert "Give a reason" in unvet.text


def test_answer_errors_re_render_the_question_page(app, client, world):
    login(client, "teen")
    question_url = ask(client).headers["Location"]
    post_id = int(question_url.rsplit("/", 1)[1])
    login(client, "sam_mod")
    response = client.post(f"/c/ibd/posts/{post_id}/answers", data={"body": "  "})
    assert response.status_code == 422
    assert "This can&#39;t be empty." in response.text
    assert "How do you manage school trips" in response.text


def test_votes_accept_and_own_vote_refused(app, world):
    asker, other = app.test_client(), app.test_client()
    login(asker, "teen")
    question_url = ask(asker).headers["Location"]
    post_id = int(question_url.rsplit("/", 1)[1])
    login(other, "sam_mod")
    answer_id = int(other.post(f"/c/ibd/posts/{post_id}/answers", data={"body": "An answer"}).headers["Location"]
                    .rsplit("-", 1)[1])  # fmt: skip
    assert other.post(f"/c/ibd/posts/{post_id}/vote", data={"value": "1"}).status_code == 302
    assert asker.post(f"/c/ibd/posts/{post_id}/vote", data={"value": "1"}).status_code == 403
    assert other.post(f"/c/ibd/answers/{answer_id}/vote", data={"value": "1"}).status_code == 403
    assert asker.post(f"/c/ibd/answers/{answer_id}/vote", data={"value": "-1"}).status_code == 302
    assert asker.post(f"/c/ibd/answers/{answer_id}/vote", data={"value": "x"}).status_code == 422
    assert other.post(f"/c/ibd/answers/{answer_id}/accept", data={"value": "1"}).status_code == 403
    asker.post(f"/c/ibd/answers/{answer_id}/accept", data={"value": "1"})
    page = asker.get(question_url).text
    assert "Accepted by the asker" in page
    assert re.search(r'aria-label="Score -1"', page)


def test_answer_buttons_show_what_each_reader_may_do(app, world):
    """Vote, Edit and Withdraw, Vet: never on one's own answer for voting and vetting, only on it for editing."""
    readers = {name: app.test_client() for name in ("teen", "sam_mod", "claimed")}
    for name, reader in readers.items():
        login(reader, name)
    question_url = ask(readers["teen"]).headers["Location"]
    post_id = int(question_url.rsplit("/", 1)[1])
    answers = {name: int(readers[name].post(f"/c/ibd/posts/{post_id}/answers", data={"body": f"An answer by {name}"})
                         .headers["Location"].rsplit("-", 1)[1]) for name in ("sam_mod", "claimed")}  # fmt: skip
    for name, reader in readers.items():
        page = reader.get(question_url).text
        for author, answer_id in answers.items():
            mine = author == name
            assert (f'action="/c/ibd/answers/{answer_id}/vote"' in page) is not mine, (name, author)
            assert (f'href="/c/ibd/answers/{answer_id}/edit"' in page) is mine, (name, author)
            assert (f'action="/c/ibd/answers/{answer_id}/withdraw"' in page) is mine, (name, author)
            vets = name == "sam_mod" and not mine  # moderators vet here; a claimed clinician doesn't
            assert (f'href="/c/ibd/answers/{answer_id}/vet"' in page) is vets, (name, author)


def test_restricted_community_posts_are_invisible_to_non_members(app, client, world):
    secret = world["secret"]
    for who in (None, "intruder"):
        c = app.test_client()
        if who:
            login(c, who)
        for url in (f"/c/cf-care/q/{secret}", f"/c/cf-care/q/{secret}/answers", f"/c/cf-care/posts/{secret}/revisions"):
            response = c.get(url)
            assert response.status_code == 404, url
            assert "nebuliser" not in response.text
        listing = c.get("/c/cf-care/posts")
        assert listing.status_code == 403
        assert "Secret saline" not in listing.text
        assert f"/c/cf-care/q/{secret}" not in c.get("/search?q=saline").text
        assert "nebuliser" not in c.get("/search?q=saline").text
        assert "nebuliser" not in c.get("/c/cf-care/search?q=saline").text
        assert c.get("/c/cf-care/vetted").status_code == 403
        assert c.get(f"/c/ibd/q/{secret}").status_code == 404  # the wrong community's address
    login(client, "cfteen")
    assert "Secret saline" in client.get(f"/c/cf-care/q/{secret}").text
    assert f'href="/c/cf-care/q/{secret}">Secret <mark>saline</mark>' in client.get("/search?q=saline").text


def test_intruders_cannot_act(app, client, world):
    with committed(app):
        from lhn.communities import services as communities

        q = factories.question(communities.get_community("ibd"), posts_author("teen"))
        a = factories.answer(q, posts_author("sam_mod"))
        q_id, a_id = q.id, a.id
    login(client, "intruder")
    assert client.post(f"/c/ibd/posts/{q_id}/answers", data={"body": "hi"}).status_code == 403
    assert client.post(f"/c/ibd/answers/{a_id}/vote", data={"value": "1"}).status_code == 403
    assert client.post(f"/c/ibd/answers/{a_id}/accept", data={"value": "1"}).status_code == 403
    assert client.get(f"/c/ibd/answers/{a_id}/vet").status_code == 403
    assert client.post(f"/c/ibd/answers/{a_id}/vet", data={"note": "n", "evidence": "PMID 1"}).status_code == 403
    assert client.get(f"/c/ibd/posts/{q_id}/edit").status_code == 403
    assert client.post(f"/c/ibd/posts/{q_id}/withdraw").status_code == 403
    assert client.post(f"/c/ibd/answer/{a_id}/hide", data={"reason": "x"}).status_code == 403
    assert client.get("/c/ibd/new/question").status_code == 302  # invited to join first
    anonymous = app.test_client()
    assert anonymous.post(f"/c/ibd/posts/{q_id}/answers", data={"body": "hi"}).status_code == 302  # to login


def test_xss_in_titles_bodies_tags_and_evidence_is_inert(app, world):
    writer, vetter = app.test_client(), app.test_client()
    login(writer, "teen")
    response = ask(writer, title="Why " + XSS, body="Body " + XSS + " [x](javascript:alert(1))")
    url = response.headers["Location"]
    page = writer.get(url).text
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "javascript:" not in page
    assert "&lt;script&gt;" in page
    bad_tags = ask(writer, tags='"><script>alert(1)</script>')
    assert bad_tags.status_code == 422
    assert "<script>alert(1)</script>" not in bad_tags.text
    post_id = int(url.rsplit("/", 1)[1])
    login(vetter, "doc")
    answer_url = vetter.post(f"/c/ibd/posts/{post_id}/answers", data={"body": "An answer"}).headers["Location"]
    answer_id = int(answer_url.rsplit("-", 1)[1])
    with committed(app):
        posts.vet_answer(
            answer_id,
            by=posts_author("sam_mod"),
            note='<b onmouseover="x">n</b>',
            evidence=["https://example.org/a?q=1&b=2"],
        )
    page = writer.get(url).text
    assert '<b onmouseover="x">' not in page
    assert "&lt;b onmouseover=" in page
    assert 'href="https://example.org/a?q=1&amp;b=2"' in page
    listing = writer.get("/c/ibd/posts").text
    assert "<script>alert" not in listing
    results = writer.get("/search?q=why").text
    assert "<script>alert" not in results


def test_hidden_content_shows_a_placeholder_to_readers_and_the_original_to_moderators_and_author(app, world):
    author, moderator, reader = app.test_client(), app.test_client(), app.test_client()
    login(author, "teen")
    url = ask(author, body="A body with a phone number 0123").headers["Location"]
    post_id = int(url.rsplit("/", 1)[1])
    login(moderator, "sam_mod")
    assert moderator.post(f"/c/ibd/post/{post_id}/hide", data={"reason": ""}).status_code == 302
    assert "0123" in reader.get(url).text  # refused: no reason, still visible
    moderator.post(f"/c/ibd/post/{post_id}/hide", data={"reason": "Contains a phone number"})
    for client, sees in ((reader, False), (author, True), (moderator, True)):
        page = client.get(url).text
        assert "hidden by a moderator" in page
        assert "Contains a phone number" in page
        assert ("0123" in page) is sees
    assert "school trips" not in reader.get("/c/ibd/posts").text
    moderator.post(f"/c/ibd/post/{post_id}/restore", data={"reason": ""})
    assert "0123" in reader.get(url).text


def test_idea_status_form_and_call_interest_through_pages(app, world):
    proposer, moderator, researcher, patient = (app.test_client() for _ in range(4))
    login(proposer, "teen")
    idea_url = proposer.post(
        "/c/ibd/new/idea",
        data={"title": "A nurse phone line after infusions", "problem": "p", "proposal": "q", "affected": "r"},
    ).headers["Location"]
    idea_id = int(idea_url.rsplit("/", 1)[1])
    login(moderator, "sam_mod")
    bad = moderator.post(f"/c/ibd/posts/{idea_id}/status", data={"status": "tested", "reason": "x"})
    assert bad.status_code == 422
    assert "can move to: under review, declined" in bad.text
    assert (
        proposer.post(f"/c/ibd/posts/{idea_id}/status", data={"status": "under_review", "reason": "x"}).status_code
        == 403
    )
    moderator.post(f"/c/ibd/posts/{idea_id}/status", data={"status": "under_review", "reason": "Three sites asked."})
    assert "Three sites asked." in proposer.get(idea_url).text
    login(researcher, "doc")
    call_data = {"title": "Sites wanted for a diet therapy trial", "summary": "s", "commitment": "c", "ethics": "e",
                 "roles": ["patients"], "deadline": DEADLINE}  # fmt: skip
    call_url = researcher.post("/c/ibd/new/call", data=call_data).headers["Location"]
    call_id = int(call_url.rsplit("/", 1)[1])
    login(patient, "teen")
    assert patient.post(f"/c/ibd/posts/{call_id}/interest", data={"message": ""}).status_code == 422
    assert patient.post(f"/c/ibd/posts/{call_id}/interest", data={"message": "I'm 15."}).status_code == 302
    author_view = researcher.get(call_url).text
    assert "I&#39;m 15." in author_view
    interest_id = re.search(r"/c/ibd/interests/(\d+)", author_view).group(1)
    assert patient.post(f"/c/ibd/interests/{interest_id}", data={"value": "accept"}).status_code == 404
    researcher.post(f"/c/ibd/interests/{interest_id}", data={"value": "accept"})
    assert "the author <strong>accepted</strong> it" in patient.get(call_url).text
    assert "I&#39;m 15." not in app.test_client().get(call_url).text  # others don't see the messages


def test_lists_filters_and_knowledge_base(app, client, world):
    with committed(app):
        from lhn.communities import services as communities

        ibd = communities.get_community("ibd")
        answered = factories.question(ibd, posts_author("teen"), title="Answered question about diets", tags="diet")
        factories.question(ibd, posts_author("teen"), title="Unanswered question about sport", tags="sport")
        factories.idea(ibd, posts_author("teen"))
        factories.vet(factories.answer(answered, posts_author("sam_mod")), posts_author("doc"))
    page = client.get("/c/ibd/posts").text
    assert "Answered question about diets" in page
    assert "Offer a nurse phone line" in page
    unanswered = client.get("/c/ibd/posts?view=unanswered").text
    assert "Unanswered question about sport" in unanswered
    assert "Answered question about diets" not in unanswered
    assert "Offer a nurse phone line" not in client.get("/c/ibd/posts?kind=question").text
    assert "Unanswered question" not in client.get("/c/ibd/posts?tag=diet").text
    assert "Answered question about diets" in client.get("/c/ibd/posts?view=top&period=all").text
    kb = client.get("/c/ibd/vetted").text
    assert "Answered question about diets" in kb
    assert "Unanswered question" not in kb
    assert client.get("/c/ibd/posts?view=nonsense").status_code == 302
    assert client.get("/c/ibd/posts?cursor=%%%").status_code == 302
    login(client, "teen")
    assert "Answered question about diets" in client.get("/feed").text
    assert "Answered question about diets" in client.get("/vetted").text
    assert "Answered question about <mark>diets</mark>" in client.get("/search?q=diets&vetted=1").text
    assert "Unanswered question" not in client.get("/search?q=question&vetted=1").text


def test_tag_cards_link_each_tag_and_mark_the_one_chosen(app, client, world):
    with committed(app):
        from lhn.communities import services as communities

        ibd = communities.get_community("ibd")
        answered = factories.question(ibd, posts_author("teen"), title="Answered question about diets", tags="diet")
        factories.question(ibd, posts_author("teen"), title="Unanswered question about sport", tags="sport")
        factories.vet(factories.answer(answered, posts_author("sam_mod")), posts_author("doc"))

    def tags_card(page, heading):
        card = re.search(rf'aria-labelledby="([\w-]+)">\s*<h2 id="\1">{heading}</h2>(.*?)</section>', page, re.S)
        assert card is not None, heading
        return card.group(2)

    def link(card, name):
        """The attributes of the card's link to `name` (in any order), and its count."""
        found = re.search(rf'<a class="tag"([^>]*)>{name} <span class="muted">(\d+)</span></a>', card)
        assert found is not None, name
        return found.group(1), int(found.group(2))

    listed = tags_card(client.get("/c/ibd/posts?tag=diet").text, "Tags in recent posts")
    attributes, count = link(listed, "diet")
    assert 'href="/c/ibd/posts?tag=diet"' in attributes
    assert 'aria-current="true"' in attributes
    assert count == 1
    assert "aria-current" not in link(listed, "sport")[0]
    assert "All ✕" not in listed
    vetted = tags_card(client.get("/c/ibd/vetted?tag=diet").text, "Filter by tag")
    assert '<a class="tag" href="/c/ibd/vetted">All ✕</a>' in vetted
    attributes, _ = link(vetted, "diet")
    assert 'href="/c/ibd/vetted?tag=diet"' in attributes
    assert 'aria-current="true"' in attributes
    assert "All ✕" not in tags_card(client.get("/c/ibd/vetted").text, "Filter by tag")
    login(client, "teen")
    feed = tags_card(client.get("/feed").text, "Tags in recent posts")
    assert link(feed, "diet") == (' href="/feed?tag=diet"', 1)
    assert "aria-current" not in feed


def test_list_and_post_pages_use_a_constant_number_of_queries(app, client, world, count_queries):
    with committed(app):
        from lhn.communities import services as communities

        ibd = communities.get_community("ibd")
        q = factories.question(ibd, posts_author("teen"))
        q_id = q.id
    login(client, "sam_mod")
    anonymous = app.test_client()

    def measure(url, who=client):
        who.get(url)  # warm up
        with count_queries() as queries:
            assert who.get(url).status_code == 200
        return len(queries)

    def grow(times):
        with committed(app):
            ibd = communities.get_community("ibd")
            question = posts.get_post(q_id, by=None)
            for _ in range(times):
                person = factories.member(ibd, factories.user("clinician", verified=True)).user
                answer = factories.answer(question, person)
                posts.post_comment(q_id, "A comment", by=posts_author("teen"), answer_id=answer.id)
                posts.vote_answer(answer.id, 1, by=posts_author("teen"))
                factories.vet(answer, posts_author("doc"))
                factories.question(ibd, person, title="Another question from a new person")
                factories.idea(ibd, person)

    urls = [f"/c/ibd/q/{q_id}", f"/c/ibd/q/{q_id}/answers", "/c/ibd/posts", "/c/ibd/vetted", "/feed",
            "/search?q=question", "/c/ibd/posts?view=top&period=all"]  # fmt: skip
    grow(1)  # one of everything, so that every query a page can make is made
    before = {url: measure(url) for url in urls}
    before_anonymous = {url: measure(url, anonymous) for url in urls if url != "/feed"}
    grow(5)
    after = {url: measure(url) for url in urls}
    assert after == before
    assert {url: measure(url, anonymous) for url in urls if url != "/feed"} == before_anonymous
    assert before_anonymous[f"/c/ibd/q/{q_id}"] <= 4  # the answers come from the cache
    assert before[f"/c/ibd/q/{q_id}"] <= 14
    assert before["/c/ibd/posts"] <= 8


def test_a_preview_too_complex_to_render_keeps_the_text_and_says_why(app, client, world, monkeypatch):
    from lhn import markup

    monkeypatch.setattr(markup, "RENDER_SECONDS", -1.0)  # any render runs out of its budget
    login(client, "teen")
    typed = "A question with a table | and | pipes"
    page = submit(client, "/c/ibd/new/question", "Preview", title="How do you manage school trips in a flare?",
                  body=typed)  # fmt: skip
    assert page.status_code == 422
    assert markup.TOO_COMPLEX in page.text
    assert typed in page.text
    fragment = client.post("/preview", data={"text": typed})
    assert fragment.status_code == 422
    assert fragment.text == f'<p class="form-error">{markup.TOO_COMPLEX}</p>'


def test_a_question_with_too_much_formatting_keeps_the_text_and_says_why(app, client, world):
    from lhn import markup

    login(client, "teen")
    typed = "| day | pain |\n|---|---|\n" + "".join(f"|{d}|{d % 10}|\n" for d in range(2_000))
    for button in ("Preview", "Post question"):
        page = submit(client, "/c/ibd/new/question", button, title="My pain diary for the last few years",
                      body=typed)  # fmt: skip
        assert page.status_code == 422, button
        assert markup.TOO_MUCH_FORMATTING in page.text
        assert "|1999|9|" in page.text  # the author's text is kept in the form
    assert "My pain diary" not in client.get("/c/ibd/posts").text


def test_live_previews_are_rate_limited_per_person(make_app, world):
    three = {"preview": "3 per minute"}
    app = make_app(RATE_LIMITS=three, NEW_ACCOUNT_RATE_LIMITS=three)
    client = app.test_client()
    login(client, "teen")
    codes = [client.post("/preview", data={"text": "*hi*"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
