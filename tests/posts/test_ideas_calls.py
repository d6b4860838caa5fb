"""Ideas' status timeline and who moves it; calls for collaborators and the interest flow; measures' signals."""

from datetime import timedelta

import pytest

from lhn import signals
from lhn.database import utcnow
from lhn.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lhn.posts import services as posts
from lhn.posts.models import IdeaStatus, InterestStatus
from tests import factories
from tests.factories import notification_texts as texts

# --- ideas ----------------------------------------------------------------------------------------------


def test_moderators_move_an_idea_along_allowed_transitions_with_a_reason(ibd):
    idea = factories.idea(ibd)
    moderator = factories.member(ibd, role="moderator").user
    for who in (idea.author, factories.vetter(ibd), factories.member(ibd).user, factories.user(username="intruder")):
        with pytest.raises((PermissionDenied, NotFound)):
            posts.change_idea_status(idea.id, "under_review", by=who, reason="Looks promising")
    with pytest.raises(ValidationFailed) as exc:
        posts.change_idea_status(idea.id, "tested", by=moderator, reason="skip ahead")
    assert exc.value.errors["status"] == "An idea that is proposed can move to: under review, declined."
    with pytest.raises(ValidationFailed) as exc:
        posts.change_idea_status(idea.id, "under_review", by=moderator, reason="")
    assert "reason" in exc.value.errors
    with pytest.raises(ValidationFailed):
        posts.change_idea_status(idea.id, "approved", by=moderator, reason="x")
    posts.change_idea_status(idea.id, "under_review", by=moderator, reason="Three sites want it.")
    posts.change_idea_status(idea.id, "adopted", by=factories.owner_of(ibd), reason="Agreed at the March call.")
    assert idea.idea_status == IdeaStatus.ADOPTED
    timeline = posts.list_status_changes(idea)
    assert [(c.from_status, c.to_status) for c in timeline] == [
        (None, IdeaStatus.PROPOSED), (IdeaStatus.PROPOSED, IdeaStatus.UNDER_REVIEW),
        (IdeaStatus.UNDER_REVIEW, IdeaStatus.ADOPTED),
    ]  # fmt: skip
    assert timeline[2].reason == "Agreed at the March call."
    question = factories.question(ibd)
    with pytest.raises(ValidationFailed):
        posts.change_idea_status(question.id, "adopted", by=moderator, reason="x")


def test_status_changes_notify_the_author_and_voters_once(ibd):
    idea = factories.idea(ibd)
    voter = factories.member(ibd).user
    posts.vote_post(idea.id, 1, by=voter)
    moderator = factories.member(ibd, role="moderator").user
    posts.change_idea_status(idea.id, "declined", by=moderator, reason="Out of scope.")
    assert texts(idea.author)[0] == f"Your idea “{idea.title}” in Pediatric IBD is now declined."
    assert texts(voter)[0] == f"An idea you voted for, “{idea.title}”, in Pediatric IBD is now declined."
    assert texts(moderator) == [] or "idea" not in texts(moderator)[0]


def test_experiences_link_to_their_idea(ibd):
    idea = factories.idea(ibd)
    experience = factories.experience(ibd, linked_idea_id=idea.id)
    factories.experience(ibd, title="Another site's experience")
    assert posts.list_linked_experiences(idea) == [experience]
    assert (idea.id, idea.title) in posts.idea_choices(ibd.id)


# --- calls for collaborators ----------------------------------------------------------------------------


def test_interest_flow_and_both_sides_are_notified(ibd):
    call = factories.call(ibd, factories.member(ibd, factories.user("researcher", verified=True)).user)
    patient = factories.member(ibd).user
    with pytest.raises(PermissionDenied):
        posts.express_interest(call.id, "me", by=call.author)
    with pytest.raises(PermissionDenied):
        posts.express_interest(call.id, "me", by=factories.user(username="intruder"))
    with pytest.raises(ValidationFailed):
        posts.express_interest(call.id, " ", by=patient)
    interest = posts.express_interest(call.id, "I'm 15 and on EEN now.", by=patient)
    assert call.interest_count == 1
    assert (
        texts(call.author)[0] == f"{patient.display_name} is interested in your call for collaborators “{call.title}”."
    )
    with pytest.raises(Conflict):
        posts.express_interest(call.id, "again", by=patient)
    # Only the author sees everyone; others see only their own interest.
    other = factories.member(ibd).user
    posts.express_interest(call.id, "Parent, happy to help.", by=other)
    assert [i.user_id for i in posts.list_interests(call.id, by=call.author)] == [patient.id, other.id]
    assert [i.user_id for i in posts.list_interests(call.id, by=patient)] == [patient.id]
    assert posts.list_interests(call.id, by=None) == []
    with pytest.raises(NotFound):
        posts.decide_interest(interest.id, by=patient, accept=True)
    posts.decide_interest(interest.id, by=call.author, accept=True)
    assert interest.status == InterestStatus.ACCEPTED
    assert (
        texts(patient)[0]
        == f"{call.author.display_name} accepted your interest in their call for collaborators “{call.title}”."
    )
    posts.decide_interest(interest.id, by=call.author, accept=False)
    assert (
        texts(patient)[0]
        == f"{call.author.display_name} declined your interest in their call for collaborators “{call.title}”."
    )
    posts.withdraw_interest(call.id, by=other)
    assert call.interest_count == 1
    with pytest.raises(Conflict):
        posts.decide_interest(posts.find_interest(call, other).id, by=call.author, accept=True)
    posts.express_interest(call.id, "Changed my mind, I can help.", by=other)
    assert posts.find_interest(call, other).status == InterestStatus.PENDING


def test_a_call_past_its_deadline_is_closed(ibd):
    call = factories.call(ibd)
    call.deadline = utcnow().date() - timedelta(days=1)
    with pytest.raises(Conflict, match="closed"):
        posts.express_interest(call.id, "Too late?", by=factories.member(ibd).user)
    question = factories.question(ibd)
    with pytest.raises(NotFound):
        posts.express_interest(question.id, "not a call", by=factories.member(ibd).user)


# --- measures talks to posts through signals --------------------------------------------------------------


def merged(results):
    out = {}
    for _receiver, value in results:
        out.update(value or {})
    return out


def test_ideas_requested_returns_plain_dicts_of_visible_ideas(ibd):
    adopted, plain, hidden = factories.idea(ibd), factories.idea(ibd, title="A second idea for the unit"), \
        factories.idea(ibd, title="A hidden idea for the unit")  # fmt: skip
    factories.question(ibd)
    moderator = factories.member(ibd, role="moderator").user
    posts.change_idea_status(adopted.id, "under_review", by=moderator, reason="r")
    posts.change_idea_status(adopted.id, "adopted", by=moderator, reason="r")
    posts.hide_content("post", hidden.id, by=moderator, reason="dup")
    everything = merged(signals.ideas_requested.send(ibd.id, ids=None))
    assert set(everything) == {adopted.id, plain.id}
    row = everything[adopted.id]
    assert row["status"] == "adopted"
    assert row["url"] == f"/c/ibd/ideas/{adopted.id}"
    assert row["adopted_at"] is not None
    assert everything[plain.id]["adopted_at"] is None
    some = merged(signals.ideas_requested.send(ibd.id, ids=[plain.id, hidden.id, 999]))
    assert list(some) == [plain.id]
    assert merged(signals.ideas_requested.send(factories.community().id, ids=None)) == {}


def test_pdsa_cycle_closed_adds_the_summary_as_a_comment_by_the_closer(ibd):
    idea = factories.idea(ibd)
    lead = factories.vetter(ibd)
    results = signals.pdsa_cycle_closed.send(
        object(), idea_id=idea.id, by=lead, summary="**Adopt**: waits fell from 90 to 40 minutes. <script>x</script>"
    )
    [(_receiver, store)] = results  # posts renders first, then stores in the sender's write transaction
    comment_id = store()
    page = posts.post_page(idea.id, by=None)
    comment = page.comments[0]
    assert comment.id == comment_id
    assert comment.author_id == lead.id
    assert comment.body_html.startswith("<p><strong>Adopt</strong>: waits fell")
    assert "<script>" not in comment.body_html
    assert idea.comment_count == 1
    assert texts(idea.author)[0] == f"{lead.display_name} commented on your idea “{idea.title}” in Pediatric IBD."
    nothing = signals.pdsa_cycle_closed.send(object(), idea_id=999_999, by=lead, summary="x")
    assert [v for _r, v in nothing] == [None]
