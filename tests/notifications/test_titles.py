"""A notification about a post names it: which question was answered, which idea commented on, which answer
vetted. Long titles are shortened; a hidden post's own notice doesn't repeat a title that may be why it was hidden."""

from lhn.notifications import services as notifications
from lhn.posts import services as posts
from tests import factories

TITLE = "How do you manage school trips during a flare?"


def latest(user):
    return notifications.list_notifications(user).items[0].text


def test_answers_comments_and_vetting_name_the_question(ibd):
    question = factories.question(ibd, title=TITLE)
    answer = factories.answer(question)
    assert latest(question.author) == f"{answer.author.display_name} answered your question “{TITLE}” in Pediatric IBD."
    commenter = factories.member(ibd).user
    posts.post_comment(question.id, "Which school?", by=commenter, answer_id=answer.id)
    assert latest(answer.author) == f"{commenter.display_name} commented on your answer to “{TITLE}” in Pediatric IBD."
    vetting = factories.vet(answer)
    assert latest(answer.author) == f"{vetting.by.display_name} vetted your answer to “{TITLE}” in Pediatric IBD."
    posts.hide_content("answer", answer.id, by=factories.owner_of(ibd), reason="Off topic")
    assert latest(answer.author) == f"A moderator hid your answer to “{TITLE}” in Pediatric IBD: Off topic"


def test_ideas_calls_and_mentions_name_the_post(ibd):
    idea = factories.idea(ibd, title="A nurse phone line after infusions")
    commenter = factories.member(ibd).user
    posts.post_comment(idea.id, f"Yes please, @{idea.author.username}.", by=commenter)
    texts = [n.text for n in notifications.list_notifications(idea.author).items]
    assert (
        f"{commenter.display_name} commented on your idea “A nurse phone line after infusions” in Pediatric IBD."
        in texts
    )
    assert f"{commenter.display_name} mentioned you in “A nurse phone line after infusions” in Pediatric IBD." in texts
    posts.change_idea_status(idea.id, "under_review", by=factories.owner_of(ibd), reason="Promising")
    assert latest(idea.author) == "Your idea “A nurse phone line after infusions” in Pediatric IBD is now under review."
    call = factories.call(ibd, factories.member(ibd, factories.user("researcher", verified=True)).user)
    patient = factories.member(ibd).user
    interest = posts.express_interest(call.id, "Happy to help.", by=patient)
    assert latest(call.author) == (
        f"{patient.display_name} is interested in your call for collaborators “{call.title}”."
    )
    posts.decide_interest(interest.id, by=call.author, accept=True)
    assert latest(patient) == (
        f"{call.author.display_name} accepted your interest in their call for collaborators “{call.title}”."
    )


def test_long_titles_are_shortened_and_a_hidden_posts_title_isnt_repeated(ibd):
    long = "Has anyone found a way to keep a teenager on exclusive enteral nutrition through exam season?"
    question = factories.question(ibd, title=long)
    answer = factories.answer(question)
    text = latest(question.author)
    assert "“Has anyone found a way to keep a teenager on exclusive enteral nutrition…”" in text
    assert answer.author.display_name in text
    posts.hide_content("post", question.id, by=factories.owner_of(ibd), reason="Shares a phone number")
    assert latest(question.author) == "A moderator hid your question in Pediatric IBD: Shares a phone number"
