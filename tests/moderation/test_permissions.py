"""allowed_actions, the pure rule behind every item's buttons and every action's check."""

import pytest

from lhn.moderation.models import ReviewKind
from lhn.moderation.permissions import ItemFacts, allowed_actions


def facts(**changes):
    base = {
        "kind": ReviewKind.FLAGGED_CONTENT,
        "is_open": True,
        "reviewer_is_admin": False,
        "reviewer_may_review": True,
        "about_reviewer": False,
        "has_community": True,
        "target_hideable": True,
        "target_hidden": False,
        "has_author": True,
        "author_protected": False,
    }
    return ItemFacts(**{**base, **changes})


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, ["dismiss", "hide", "redact", "warn", "mute"]),
        ({"reviewer_is_admin": True}, ["dismiss", "hide", "redact", "warn", "mute", "suspend"]),
        ({"target_hidden": True}, ["restore", "hide", "redact", "warn", "mute"]),
        ({"author_protected": True}, ["dismiss", "hide", "redact"]),
        (
            {"author_protected": True, "reviewer_is_admin": True},
            ["dismiss", "hide", "redact", "warn", "mute", "suspend"],
        ),
        ({"has_community": False, "reviewer_is_admin": True}, ["dismiss", "hide", "redact", "warn", "suspend"]),
        ({"has_author": False}, ["dismiss", "hide", "redact"]),
        ({"target_exists": False}, ["dismiss"]),
        ({"reviewer_may_review": False}, []),
        ({"about_reviewer": True}, []),
        ({"is_open": False}, []),
        ({"kind": ReviewKind.JOIN_REQUEST}, ["approve", "reject"]),
        ({"kind": ReviewKind.VERIFICATION}, ["approve", "reject"]),
        ({"kind": ReviewKind.ANSWER_VETTING}, ["dismiss"]),
        ({"kind": ReviewKind.VETTED_ANSWER_CHANGED, "reviewer_may_vet": True}, ["approve", "reject", "dismiss"]),
        ({"kind": ReviewKind.VETTED_ANSWER_CHANGED}, ["reject", "dismiss"]),  # moderators curate
    ],
)
def test_allowed_actions(changes, expected):
    assert allowed_actions(facts(**changes)) == expected
