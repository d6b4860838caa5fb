"""Counts read as English: "1 answer", "2 answers", "1 person" — one helper (lhn/plurals.py) that every template
count uses."""

import re
from pathlib import Path

from lhn import plurals
from lhn.posts import services as posts
from tests import factories
from tests.conftest import committed, login

TEMPLATES = Path(__file__).parent.parent / "lhn" / "templates"


def test_the_helper():
    assert plurals.plural(1, "answer") == "1 answer"
    assert plurals.plural(0, "answer") == "0 answers"
    assert plurals.plural(2, "reply", "replies") == "2 replies"
    assert plurals.plural(1, "person", "people") == "1 person"
    assert plurals.plural(-1, "vote") == "-1 vote"  # a score of minus one
    assert plurals.plural(1200, "member") == "1,200 members"
    assert plurals.noun(1, "comment") == "comment"
    assert plurals.noun(3, "comment") == "comments"


def test_no_template_makes_its_own_plural():
    # '' if n == 1 else 's' gets "replies" and "people" wrong, and a count before a fixed plural reads "1 answers".
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        assert "else 's'" not in text, path
        assert not re.search(r"\{\{[^}]*(count|score|length)[^}]*\}\}\s*(votes|answers|comments|members)\b", text), path


def test_lists_and_pages_say_one_answer_one_comment_one_vote(app, client):
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(doc, slug="ibd", name="Pediatric IBD")
        teen = factories.member(ibd, factories.user("patient", username="teen")).user
        question = factories.question(ibd, teen, title="How do you manage school trips during a flare?")
        posts.post_answer(question.id, "We asked the school nurse to join the trip.", by=doc)
        posts.vote_post(question.id, 1, by=doc)
        idea = factories.idea(ibd, teen, title="A nurse phone line after infusions")
        posts.post_comment(idea.id, "Yes please, evenings too.", by=doc)
        posts.vote_post(idea.id, 1, by=doc)
        question_path, idea_path = question.path, idea.path
    login(client, "teen")
    for url in ("/c/ibd", "/c/ibd/posts", question_path, idea_path, "/search?q=school"):
        page = client.get(url, follow_redirects=True).text
        text = re.sub(r"<[^>]+>", " ", page)
        text = " ".join(text.split())
        for wrong in ("1 answers", "1 comments", "1 votes", "1 members"):
            assert wrong not in text, (url, wrong)
    listing = client.get("/c/ibd/posts", follow_redirects=True).text
    assert "1 vote, 1 answer" in listing
    assert "1 vote, 1 comment" in listing
    assert 'aria-label="1 vote"' in client.get(question_path).text
