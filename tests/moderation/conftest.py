"""Moderation fixtures: a fake content adapter registered for the test, and a community with its cast."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from lhn.accounts import services as accounts
from lhn.moderation.services import targets
from lhn.posts import services as posts
from tests import factories
from tests.conftest import committed
from tests.moderation.fakes import FakeContentAdapter


@pytest.fixture
def fake_content() -> Iterator[FakeContentAdapter]:
    adapter = FakeContentAdapter()
    targets.register(adapter)
    yield adapter
    targets.unregister(adapter.type)


@dataclass
class Cast:
    """Usernames and ids of a small, realistic cast (ids, so tests can reload rows in any session)."""

    community_id: int
    other_community_id: int
    answer_id: int  # a fake "answer" by the author in the community


@pytest.fixture
def cast(app, fake_content) -> Cast:
    """ibd (public): owner doc, moderator mod, author, readers r1..r3, verified clinician vet; cf: its own
    moderator othermod; intruder (no community); site admin boss."""
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(doc, slug="ibd", name="Pediatric IBD")
        factories.member(ibd, factories.user("caregiver", username="mod"), role="moderator")
        author = factories.member(ibd, factories.user("patient", username="author")).user
        for name in ("rdr1", "rdr2", "rdr3"):
            factories.member(ibd, factories.user("patient", username=name))
        factories.member(ibd, factories.user("clinician", username="vet", verified=True))
        cf = factories.community(factories.user("researcher", username="cfowner", verified=True), slug="cystic")
        factories.member(cf, factories.user("clinician", username="othermod"), role="moderator")
        factories.user("patient", username="intruder")
        factories.user("other", username="boss", admin=True)
        answer_id = fake_content.add(ibd, author, "Try 5 mg/kg. Call me on 513-555-0134 if you want the diet sheet.")
        return Cast(ibd.id, cf.id, answer_id)


# --- posts (phase 2) ----------------------------------------------------------------------------------------

PHONE = "513-555-0134"


@dataclass
class Thread:
    question_id: int
    answer_id: int
    comment_id: int
    idea_id: int


@pytest.fixture
def thread(app) -> Thread:
    """ibd (public): owner doc, moderator mod, asker, author, readers rdr1..rdr3; cystic with its own moderator
    othermod; intruder (no community); site admin boss. A question by asker with an answer by author (whose
    first revision held a phone number), a comment by rdr1 on the answer, an idea by author."""
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(doc, slug="ibd", name="Pediatric IBD")
        factories.member(ibd, factories.user("caregiver", username="mod"), role="moderator")
        asker = factories.member(ibd, factories.user("caregiver", username="asker")).user
        author = factories.member(ibd, factories.user("patient", username="author")).user
        for name in ("rdr1", "rdr2", "rdr3"):
            factories.member(ibd, factories.user("patient", username=name))
        cf = factories.community(factories.user("researcher", username="cfowner", verified=True), slug="cystic")
        factories.member(cf, factories.user("clinician", username="othermod"), role="moderator")
        factories.user("patient", username="intruder")
        factories.user("other", username="boss", admin=True)
        question = factories.question(ibd, asker, title="Which zinc lozenges helped during a flare?")
        answer = posts.post_answer(
            question.id, f"Zinc lozenges twice a day. Text me on {PHONE} for the brand.", by=author, confirm_phi=True
        )
        posts.edit_answer(
            answer.id, f"Zinc lozenges twice a day helped. Text me on {PHONE}.", by=author, confirm_phi=True
        )
        comment = posts.post_comment(
            question.id, "Which brand exactly?", by=accounts.get_user("rdr1"), answer_id=answer.id
        )
        idea = factories.idea(ibd, author)
        return Thread(question.id, answer.id, comment.id, idea.id)
