"""Post rules: the four kinds, writing and revisions, answers, votes, accepting, comments and hiding."""

import pytest

from lhn.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lhn.phi import PHIConfirmationRequired
from lhn.posts import services as posts
from lhn.posts.models import IdeaStatus, PostKind
from tests import factories
from tests.factories import notification_texts as texts

# --- the four kinds -------------------------------------------------------------------------------------


def test_each_kind_has_its_sections_composed_into_the_stored_markdown(ibd):
    q = factories.question(ibd, body="What **worked**?")
    assert q.kind == PostKind.QUESTION
    assert q.body_html == "<p>What <strong>worked</strong>?</p>"
    idea = factories.idea(ibd)
    assert idea.idea_status == IdeaStatus.PROPOSED
    assert "<h3>The problem</h3>" in idea.body_html
    assert "<h3>Who is affected</h3>" in idea.body_html
    experience = factories.experience(ibd, linked_idea_id=idea.id)
    assert experience.linked_idea_id == idea.id
    assert "<h3>Lessons</h3>" in experience.body_html
    call = factories.call(ibd)
    assert call.deadline is not None
    assert "<li>Patients with the condition</li>" in call.body_html
    assert call.details["roles"] == ["patients", "site-clinicians"]


def test_only_members_post_and_bad_input_names_each_field(ibd):
    outsider = factories.user()
    with pytest.raises(PermissionDenied):
        posts.create_post(ibd, "question", posts.PostFields(title="A long enough title", sections={"body": "x"}),
                          by=outsider)  # fmt: skip
    member = factories.member(ibd).user
    with pytest.raises(ValidationFailed) as exc:
        posts.create_post(ibd, "question", posts.PostFields(title="short", tags="Bad Tag!", sections={"body": " "}),
                          by=member)  # fmt: skip
    assert set(exc.value.errors) == {"title", "tags", "body"}
    with pytest.raises(ValidationFailed) as exc:
        posts.create_post(
            ibd, "question", posts.PostFields(title="t" * 151, sections={"body": "x" * 20_001}), by=member
        )
    assert "150" in exc.value.errors["title"]
    assert "20,000" in exc.value.errors["body"]
    with pytest.raises(ValidationFailed) as exc:
        posts.create_post(ibd, "poem", posts.PostFields(), by=member)
    assert "kind" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        posts.create_post(ibd, "question", posts.PostFields(title="Ten tags is a lot", tags="a b c d e f",
                                                           sections={"body": "x"}), by=member)  # fmt: skip
    assert exc.value.errors["tags"] == "Use at most 5 tags."


def test_call_needs_roles_and_a_future_deadline_and_experience_links_only_this_communitys_ideas(ibd):
    member = factories.member(ibd).user
    fields = posts.PostFields(title="Recruiting sites for a study", roles=["astronauts"], deadline="2001-01-01",
                              sections={"summary": "s", "commitment": "c", "ethics": "e"})  # fmt: skip
    with pytest.raises(ValidationFailed) as exc:
        posts.create_post(ibd, "call", fields, by=member)
    assert set(exc.value.errors) == {"roles", "deadline"}
    fields.roles, fields.deadline = [], "not a date"
    with pytest.raises(ValidationFailed) as exc:
        posts.create_post(ibd, "call", fields, by=member)
    assert exc.value.errors["roles"] == "Say whom you are looking for."
    assert exc.value.errors["deadline"] == "Use a date like 2027-03-31."
    other_idea = factories.idea(factories.community())
    with pytest.raises(ValidationFailed) as exc:
        factories.experience(ibd, member, linked_idea_id=other_idea.id)
    assert "linked_idea_id" in exc.value.errors


# --- editing, revisions, withdrawal -------------------------------------------------------------------


def test_edits_keep_every_revision_with_editor_and_a_word_diff(ibd):
    q = factories.question(ibd, title="How do you manage school trips?", body="We tried a letter.", tags="school")
    author = q.author
    unchanged = posts.edit_post(q, posts.fields_of(q), by=author)
    assert unchanged.revision == 1
    fields = posts.fields_of(q)
    fields.title, fields.sections["body"], fields.tags = "How do you manage overnight school trips?", \
        "We tried a letter and a meeting.", "school trips"  # fmt: skip
    posts.edit_post(q, fields, by=author)
    assert q.revision == 2
    assert q.edited_at is not None
    assert q.tag_list == ["school", "trips"]
    _post, history = posts.list_post_revisions(q.id, by=None)
    assert [v.revision.number for v in history] == [2, 1]
    assert history[0].revision.editor.username == author.username
    assert ("add", "overnight ") in history[0].title_diff
    assert ("del", "letter.") in history[0].body_diff
    assert [t for op, t in history[0].body_diff if op == "add"] == ["letter and a meeting."]
    assert history[1].body_diff == [("add", "We tried a letter.")]


def test_only_the_author_edits_or_withdraws(ibd):
    q = factories.question(ibd)
    moderator = factories.member(ibd, role="moderator").user
    for who in (moderator, factories.member(ibd).user):
        with pytest.raises(PermissionDenied):
            posts.edit_post(q, posts.fields_of(q), by=who)
        with pytest.raises(PermissionDenied):
            posts.withdraw_post(q, by=who)
    posts.withdraw_post(q, by=q.author)
    assert q.withdrawn_at is not None
    with pytest.raises(PermissionDenied):
        posts.edit_post(q, posts.fields_of(q), by=q.author)
    assert posts.list_posts(ibd, by=None).page.items == []


def test_restricted_posts_are_not_found_for_non_members(ctx):
    cf = factories.community(restricted=True)
    q = factories.question(cf)
    intruder = factories.user(username="intruder")
    for who in (None, intruder):
        with pytest.raises(NotFound):
            posts.get_post(q.id, by=who)
        with pytest.raises(NotFound):
            posts.post_page(q.id, by=who)
        assert not posts.may_read_post(who, q.id)
    assert posts.may_read_post(q.author, q.id)
    assert posts.may_read_post(factories.user(admin=True), q.id)
    with pytest.raises(NotFound):
        posts.get_post(999_999, by=q.author)


# --- answers, votes, accepting -------------------------------------------------------------------------


def test_answering_notifies_the_asker_and_counts(ibd):
    q = factories.question(ibd)
    a = factories.answer(q)
    assert q.answer_count == 1
    assert texts(q.author) == [f"{a.author.display_name} answered your question “{q.title}” in Pediatric IBD."]
    idea = factories.idea(ibd)
    with pytest.raises(PermissionDenied):
        factories.answer(idea)
    with pytest.raises(PermissionDenied):
        posts.post_answer(q.id, "I am not a member", by=factories.user())
    with pytest.raises(ValidationFailed):
        posts.post_answer(q.id, "   ", by=a.author)


def test_voting_rules(ibd):
    q = factories.question(ibd)
    a = factories.answer(q)
    voter, other = factories.member(ibd).user, factories.member(ibd).user
    with pytest.raises(PermissionDenied, match="your own answer"):
        posts.vote_answer(a.id, 1, by=a.author)
    with pytest.raises(PermissionDenied, match="your own question"):
        posts.vote_post(q.id, 1, by=q.author)
    with pytest.raises(PermissionDenied):
        posts.vote_answer(a.id, 1, by=factories.user())  # not a member
    with pytest.raises(ValidationFailed):
        posts.vote_answer(a.id, 2, by=voter)
    with pytest.raises(ValidationFailed):
        posts.vote_post(q.id, -1, by=voter)  # questions take up votes only
    posts.vote_answer(a.id, 1, by=voter)
    posts.vote_answer(a.id, 1, by=voter)  # one vote per person: repeating changes nothing
    assert (a.ups, a.downs, a.score) == (1, 0, 1)
    posts.vote_answer(a.id, -1, by=voter)  # changing the vote moves it
    posts.vote_answer(a.id, -1, by=other)
    assert (a.ups, a.downs, a.score) == (0, 2, -2)
    posts.vote_answer(a.id, 0, by=voter)
    assert (a.ups, a.downs, a.score) == (0, 1, -1)
    posts.vote_post(q.id, 1, by=voter)
    posts.vote_post(q.id, 1, by=voter)
    assert q.score == 1
    posts.vote_post(q.id, 0, by=voter)
    assert q.score == 0
    experience = factories.experience(ibd)
    with pytest.raises(ValidationFailed):
        posts.vote_post(experience.id, 1, by=voter)


def test_wilson_orders_a_ten_to_one_answer_above_a_one_to_nothing_answer():
    assert posts.wilson_lower_bound(10, 1) > posts.wilson_lower_bound(1, 0)
    assert posts.wilson_lower_bound(0, 0) == 0.0
    assert 0 < posts.wilson_lower_bound(1, 0) < 0.25


def test_only_the_asker_accepts_one_answer_at_a_time(ibd):
    q = factories.question(ibd)
    first, second = factories.answer(q), factories.answer(q)
    with pytest.raises(PermissionDenied):
        posts.accept_answer(first.id, by=first.author)
    with pytest.raises(PermissionDenied):
        posts.accept_answer(first.id, by=factories.member(ibd, role="moderator").user)
    posts.accept_answer(first.id, by=q.author)
    posts.accept_answer(second.id, by=q.author)
    assert first.accepted_at is None
    assert second.accepted_at is not None
    posts.accept_answer(second.id, by=q.author, accept=False)
    assert second.accepted_at is None
    posts.withdraw_answer(first.id, by=first.author)
    with pytest.raises(Conflict):
        posts.accept_answer(first.id, by=q.author)


def test_answer_order_vetted_then_wilson_then_age_and_accepted_is_not_pinned(ibd):
    q = factories.question(ibd)
    old, popular, vetted, accepted = (factories.answer(q, body=f"answer {i}") for i in range(4))
    voters = [factories.member(ibd).user for _ in range(3)]
    for v in voters:
        posts.vote_answer(popular.id, 1, by=v)
    posts.vote_answer(accepted.id, 1, by=voters[0])
    posts.accept_answer(accepted.id, by=q.author)
    factories.vet(vetted)
    order = [a.id for a in posts.post_page(q.id, by=None).answers]
    assert order == [vetted.id, popular.id, accepted.id, old.id]


def test_comments_go_on_questions_ideas_experiences_calls_and_answers_and_notify(ibd):
    q = factories.question(ibd)
    a = factories.answer(q)
    idea = factories.idea(ibd)
    commenter = factories.member(ibd).user
    asked = posts.post_comment(q.id, "Which **school** year is it?", by=commenter)  # asking the asker to clarify
    assert asked.answer_id is None
    assert "<strong>school</strong>" in asked.body_html
    assert q.comment_count == 1
    assert texts(q.author)[0] == f"{commenter.display_name} commented on your question “{q.title}” in Pediatric IBD."
    assert [c.id for c in posts.post_page(q.id, by=None).comments] == [asked.id]
    posts.post_comment(q.id, "Which school?", by=commenter, answer_id=a.id)
    posts.post_comment(idea.id, "We'd join.", by=commenter)
    assert a.comment_count == 1
    assert idea.comment_count == 1
    assert texts(a.author)[0] == f"{commenter.display_name} commented on your answer to “{q.title}” in Pediatric IBD."
    assert texts(idea.author)[0] == f"{commenter.display_name} commented on your idea “{idea.title}” in Pediatric IBD."
    with pytest.raises(NotFound):
        posts.post_comment(idea.id, "wrong answer id", by=commenter, answer_id=a.id)
    with pytest.raises(ValidationFailed):
        posts.post_comment(idea.id, "x" * 2001, by=commenter)


def test_a_comment_on_a_question_passes_the_phi_guard_and_moderators_hide_it(ibd):
    q = factories.question(ibd)
    commenter = factories.member(ibd).user
    outsider = factories.user()
    with pytest.raises(PHIConfirmationRequired):
        posts.post_comment(q.id, "Is this about DOB 14/03/2009?", by=commenter)
    with pytest.raises(PermissionDenied):
        posts.post_comment(q.id, "Which school?", by=outsider)
    comment = posts.post_comment(q.id, "Which school?", by=commenter)
    moderator = factories.member(ibd, role="moderator").user
    posts.hide_content("comment", comment.id, by=moderator, reason="Off topic")
    assert q.comment_count == 0
    page = posts.post_page(q.id, by=None)
    assert [c.is_visible for c in page.comments] == [False]


def test_mentions_notify_readers_once_and_link_only_real_people(ctx):
    cf = factories.community(restricted=True, name="CF")
    member = factories.member(cf, factories.user(username="cfmum")).user
    factories.user(username="outsider")
    q = factories.question(cf, body="Asking @cfmum and @outsider and @nobody, not `@cfmum` in code")
    assert '<a href="/u/cfmum"' in q.body_html
    assert "/u/outsider" not in q.body_html  # may not read the restricted community
    assert "/u/nobody" not in q.body_html
    assert texts(member)[0] == f"{q.author.display_name} mentioned you in “{q.title}” in CF."
    fields = posts.fields_of(q)
    fields.sections["body"] += " again @cfmum"
    posts.edit_post(q, fields, by=q.author)
    assert texts(member).count(f"{q.author.display_name} mentioned you in “{q.title}” in CF.") == 1  # no second notice


# --- hiding ----------------------------------------------------------------------------------------------


def test_moderators_hide_and_restore_with_a_reason(ibd):
    q = factories.question(ibd)
    a = factories.answer(q)
    moderator = factories.member(ibd, role="moderator").user
    with pytest.raises(PermissionDenied):
        posts.hide_content("answer", a.id, by=factories.member(ibd).user, reason="spam")
    with pytest.raises(ValidationFailed):
        posts.hide_content("answer", a.id, by=moderator, reason=" ")
    posts.hide_content("answer", a.id, by=moderator, reason="Shares a phone number")
    assert a.hidden_reason == "Shares a phone number"
    assert q.answer_count == 0
    assert texts(a.author)[0] == f"A moderator hid your answer to “{q.title}” in Pediatric IBD: Shares a phone number"
    with pytest.raises(Conflict):
        posts.hide_content("answer", a.id, by=moderator, reason="again")
    posts.restore_content("answer", a.id, by=moderator)
    assert a.hidden_at is None
    assert q.answer_count == 1
    posts.hide_content("post", q.id, by=moderator, reason="Off topic")
    assert posts.list_posts(ibd, by=moderator).page.items == []
    with pytest.raises(ValidationFailed):
        posts.hide_content("poll", q.id, by=moderator, reason="x")
