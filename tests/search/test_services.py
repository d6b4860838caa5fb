"""Search: full text over titles, bodies and answers; only readable communities; filters; safe snippets; sync."""

import pytest

from lhn.errors import ValidationFailed
from lhn.posts import services as posts
from lhn.search import services as search
from tests import factories


@pytest.fixture
def world(ctx):
    owner = factories.user("clinician", username="doc", verified=True)
    ibd = factories.community(owner, slug="ibd", name="Pediatric IBD")
    cf = factories.community(owner, slug="cf-care", name="CF", restricted=True)
    member = factories.member(cf, factories.user(username="cfteen")).user
    return ibd, cf, member


def ids(results):
    return [h.post.id for h in results.page.items]


def test_finds_words_in_titles_bodies_and_answers_newest_first(world):
    ibd, _cf, _member = world
    by_title = factories.question(ibd, title="Fatigue after methotrexate injections", body="Any tips?")
    by_body = factories.question(ibd, title="Tiredness on weekends after the injection", body="We use methotrexate.")
    by_answer = factories.question(ibd, title="Weekly injection routines for teenagers", body="What helps?")
    factories.answer(by_answer, body="Folic acid the day after methotrexate helped our son.")
    factories.question(ibd, title="Unrelated question about school trips")
    assert ids(search.search("methotrexate", by=None)) == [by_answer.id, by_body.id, by_title.id]
    ranked = search.search("methotrexate", by=None, sort="relevance")
    assert ids(ranked)[0] == by_title.id  # the title weighs most
    assert ids(search.search("injections", by=None, community=ibd)) == [by_answer.id, by_body.id, by_title.id]


def test_restricted_communities_only_for_their_members(world):
    ibd, cf, member = world
    secret = factories.question(cf, title="Hypertonic saline at home for toddlers", body="nebuliser")
    public = factories.question(ibd, title="Hypertonic saline in IBD clinic? odd question", body="x")
    intruder = factories.user(username="intruder")
    assert ids(search.search("hypertonic", by=None)) == [public.id]
    assert ids(search.search("hypertonic", by=intruder)) == [public.id]
    assert ids(search.search("hypertonic", by=intruder, community=cf)) == []
    assert ids(search.search("hypertonic", by=member)) == [public.id, secret.id]
    assert ids(search.search("hypertonic", by=factories.user(admin=True))) == [public.id, secret.id]


def test_filters_kind_tag_vetted_unanswered(world):
    ibd, _cf, _member = world
    q1 = factories.question(ibd, title="Exclusive enteral nutrition taste tips", tags="diet een")
    q2 = factories.question(ibd, title="Enteral nutrition and school lunch", tags="school")
    idea = factories.idea(ibd, title="Share enteral nutrition recipes across sites")
    a = factories.answer(q1)
    factories.vet(a)
    assert set(ids(search.search("enteral", by=None))) == {q1.id, q2.id, idea.id}
    assert ids(search.search("enteral kind:idea", by=None)) == [idea.id]
    assert ids(search.search("enteral tag:een", by=None)) == [q1.id]
    assert ids(search.search("tag:diet-een", by=None)) == []
    assert ids(search.search("enteral is:vetted", by=None)) == [q1.id]
    assert ids(search.search("is:unanswered kind:question", by=None)) == [q2.id]
    with pytest.raises(ValidationFailed):
        search.search("kind:poem", by=None)
    with pytest.raises(ValidationFailed):
        search.search("is:happy", by=None)
    with pytest.raises(ValidationFailed):
        search.search("x", by=None, sort="random")
    assert search.search("", by=None).page.items == []
    assert search.search('"" * AND OR NEAR( ) ^ : -', by=None).page.items == []  # query syntax can't break it


def test_kept_in_sync_on_edit_hide_withdraw_and_answers(world):
    ibd, _cf, _member = world
    q = factories.question(ibd, title="Calprotectin testing at home kits", body="Which kit?")
    assert ids(search.search("calprotectin", by=None)) == [q.id]
    fields = posts.fields_of(q)
    fields.title = "Faecal testing at home kits"
    fields.sections["body"] = "Which kit do you use?"
    posts.edit_post(q, fields, by=q.author)
    assert ids(search.search("calprotectin", by=None)) == []
    assert ids(search.search("faecal", by=None)) == [q.id]
    a = factories.answer(q, body="The IBDoc kit works with a phone.")
    assert ids(search.search("ibdoc", by=None)) == [q.id]
    moderator = factories.member(ibd, role="moderator").user
    posts.hide_content("answer", a.id, by=moderator, reason="advertising")
    assert ids(search.search("ibdoc", by=None)) == []
    posts.restore_content("answer", a.id, by=moderator)
    assert ids(search.search("ibdoc", by=None)) == [q.id]
    posts.hide_content("post", q.id, by=moderator, reason="x")
    assert ids(search.search("faecal", by=None)) == []
    posts.restore_content("post", q.id, by=moderator)
    posts.withdraw_post(q, by=q.author)
    assert ids(search.search("faecal", by=moderator)) == []


def test_snippets_escape_user_text_and_mark_only_matches(world):
    ibd, _cf, _member = world
    factories.question(ibd, title="<img src=x onerror=alert(1)> steroid dosing",
                       body="Is <script>alert('x')</script> prednisolone <b>tapering</b> normal?")  # fmt: skip
    hit = search.search("prednisolone", by=None).page.items[0]
    assert "<script>" not in hit.snippet_html
    assert "<b>" not in hit.snippet_html
    assert "<mark>prednisolone</mark>" in hit.snippet_html
    assert hit.snippet_html.replace("<mark>", "").replace("</mark>", "").count("<") == 0
    title_hit = search.search("steroid", by=None).page.items[0]
    assert "<img" not in title_hit.title_html
    assert "<mark>steroid</mark>" in title_hit.title_html


def test_pages_with_a_cursor_newest_and_relevance(world):
    ibd, _cf, _member = world
    made = [factories.question(ibd, title=f"Budesonide question number {i}", body="budesonide " * (i + 1)).id
            for i in range(7)]  # fmt: skip
    first = search.search("budesonide", by=None, limit=3)
    second = search.search("budesonide", by=None, limit=3, cursor=first.page.next_cursor)
    third = search.search("budesonide", by=None, limit=3, cursor=second.page.next_cursor)
    assert ids(first) + ids(second) + ids(third) == list(reversed(made))
    assert third.page.next_cursor is None
    seen = []
    cursor = None
    while True:
        page = search.search("budesonide", by=None, sort="relevance", limit=2, cursor=cursor)
        seen += ids(page)
        cursor = page.page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(made)
    with pytest.raises(ValidationFailed):
        search.search("budesonide", by=None, cursor="nonsense")


def test_similar_titles_suggests_questions_while_typing(world):
    ibd, cf, member = world
    trip = factories.question(ibd, title="School trips with Crohn's disease")
    factories.question(ibd, title="Biologic injections and vaccines")
    factories.idea(ibd, title="School trip checklist for nurses")  # an idea, not a question
    secret = factories.question(cf, title="School trip with CF physio")
    assert [p.id for p in search.similar_titles(ibd, "How do you handle school tri", by=None)] == [trip.id]
    assert search.similar_titles(ibd, "the and of", by=None) == []
    assert search.similar_titles(cf, "school trip", by=None) == []
    assert [p.id for p in search.similar_titles(cf, "school trip", by=member)] == [secret.id]


def test_rebuild_index_restores_everything(world):
    ibd, _cf, _member = world
    q = factories.question(ibd, title="Iron infusions before surgery")
    assert search.rebuild_index() >= 1
    assert ids(search.search("iron", by=None)) == [q.id]


def test_a_new_answer_does_not_reconvert_the_whole_thread_under_the_write_lock(ctx, monkeypatch):
    """index_post runs in the answer's write transaction: the thread's other answers are remembered, not re-read."""
    from lhn.search import services as search_services

    community = factories.community()
    question = factories.question(community)
    for n in range(5):
        factories.answer(question, body=f"Answer {n}: a *long* table would go here.")
    converted = []
    real = search_services.html_to_text
    monkeypatch.setattr(search_services, "html_to_text", lambda html: converted.append(html) or real(html))
    factories.answer(question, body="One more answer about school trips.")
    assert len(converted) == 1  # the new answer only (the question and earlier answers are remembered)
    assert "school trips" in converted[0]
