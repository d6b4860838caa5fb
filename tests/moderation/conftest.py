"""Moderation fixtures: a fake content adapter registered for the test, and a community with its cast."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from lhn.moderation import targets
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
