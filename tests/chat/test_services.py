"""Chat services: channels and who may read them, sending (idempotent, limited), editing, deleting,
hiding, history by keyset, replay by event number, read positions, mentions."""

import pytest

from lhn.chat import services as chat
from lhn.chat.models import GENERAL
from lhn.chat.services import history, messages
from lhn.errors import Conflict, NotFound, PermissionDenied, RateLimited, ValidationFailed
from lhn.extensions import db
from lhn.notifications import services as notifications
from tests import factories


@pytest.fixture
def ibd(ctx):
    doc = factories.user("clinician", username="doc", verified=True)
    community = factories.community(doc, slug="ibd")
    teen = factories.member(community, factories.user("patient", username="teen")).user
    mum = factories.member(community, factories.user("caregiver", username="mum")).user
    mod = factories.member(community, factories.user("caregiver", username="mod"), role="moderator").user
    nurse = factories.member(community, factories.user("clinician", username="nurse")).user
    intruder = factories.user("patient", username="intruder")
    general = chat.find_channel(community, GENERAL)
    return {"community": community, "doc": doc, "teen": teen, "mum": mum, "mod": mod, "nurse": nurse,
            "intruder": intruder, "general": general}  # fmt: skip


def test_a_new_community_gets_general_and_members_see_it(ibd):
    rows = chat.list_channels(ibd["community"], by=ibd["teen"])
    assert [r.channel.name for r in rows] == ["general"]
    assert rows[0].channel.is_general


def test_non_members_can_neither_list_nor_read_nor_post(ibd):
    with pytest.raises(PermissionDenied):
        chat.list_channels(ibd["community"], by=ibd["intruder"])
    with pytest.raises(NotFound):
        chat.get_channel(ibd["general"].id, by=ibd["intruder"])
    with pytest.raises(NotFound):
        chat.post_message(ibd["general"].id, by=ibd["intruder"], client_id="x1", body="hi")
    message = factories.chat_message(ibd["general"].id, ibd["teen"])
    with pytest.raises(NotFound):
        chat.get_message(message.id, by=ibd["intruder"])


def test_role_limited_channels_for_those_roles_and_moderators(ibd):
    community = ibd["community"]
    clinicians = chat.create_channel(community, by=ibd["mod"], name="#Clinicians-Only", roles=["clinician"])
    families = chat.create_channel(community, by=ibd["doc"], name="families", roles=["caregiver", "patient"])
    assert clinicians.name == "clinicians-only"
    assert families.is_patient_space
    assert not clinicians.is_patient_space
    assert families.audience == "Patients and caregivers (and the community's moderators)"
    names = lambda user: [r.channel.name for r in chat.list_channels(community, by=user)]  # noqa: E731
    assert names(ibd["nurse"]) == ["general", "clinicians-only"]
    assert names(ibd["teen"]) == ["general", "families"]
    assert names(ibd["mod"]) == ["general", "clinicians-only", "families"]  # moderators read everything
    with pytest.raises(NotFound):
        chat.post_message(clinicians.id, by=ibd["teen"], client_id="c1", body="let me in")


def test_only_moderators_add_channels_with_valid_names_and_roles(ibd):
    community = ibd["community"]
    with pytest.raises(PermissionDenied):
        chat.create_channel(community, by=ibd["teen"], name="mine")
    with pytest.raises(ValidationFailed) as bad:
        chat.create_channel(community, by=ibd["mod"], name="No Spaces!", roles=["wizard"], topic="x" * 300)
    assert set(bad.value.errors) == {"name", "roles", "topic"}
    with pytest.raises(ValidationFailed) as taken:
        chat.create_channel(community, by=ibd["mod"], name="general")
    assert "already" in taken.value.errors["name"]


def test_send_renders_markdown_numbers_events_and_is_idempotent_by_client_id(ibd):
    general = ibd["general"]
    first, created = chat.post_message(general.id, by=ibd["teen"], client_id="abc", body="**Hello** <script>x</script>")
    assert created
    assert "<strong>Hello</strong>" in first.body_html
    assert "<script>" not in first.body_html
    again, created_again = chat.post_message(general.id, by=ibd["teen"], client_id="abc", body="**Hello** again")
    assert (again.id, created_again) == (first.id, False)
    second = factories.chat_message(general.id, ibd["mum"])
    assert (first.seq, second.seq) == (1, 2)
    assert second.id > first.id
    db.session.refresh(general)
    assert general.last_seq == 2
    # The same client id may not be reused for a different channel.
    other = factories.channel(ibd["community"])
    with pytest.raises(ValidationFailed):
        chat.post_message(other.id, by=ibd["teen"], client_id="abc", body="hi")


@pytest.mark.parametrize(
    ("client_id", "body", "field"),
    [("", "hi", "client_id"), ("has space", "hi", "client_id"), (12, "hi", "client_id"), ("ok", "   ", "body"),
     ("ok", None, "body"), ("ok", "x" * 4001, "body"), ("ok", ["list"], "body")],
)  # fmt: skip
def test_bad_sends_are_refused_with_a_field_message(ibd, client_id, body, field):
    with pytest.raises(ValidationFailed) as exc:
        chat.post_message(ibd["general"].id, by=ibd["teen"], client_id=client_id, body=body)
    assert field in exc.value.errors


def test_a_retry_that_meets_its_twin_under_the_lock_leaves_no_gap_in_event_numbers(ibd, monkeypatch):
    # The twin committed while the retry rendered: the read phase missed it, the check after the lock finds it.
    general = ibd["general"]
    sent, created = chat.post_message(general.id, by=ibd["teen"], client_id="twin", body="hello")
    db.session.commit()
    read_phase = messages._read_phase
    monkeypatch.setattr(messages, "_read_phase", lambda *args: (*read_phase(*args)[:2], None))  # twin unseen
    again, created_again = chat.post_message(general.id, by=ibd["teen"], client_id="twin", body="hello")
    db.session.commit()
    assert (created, created_again, again.id) == (True, False, sent.id)
    db.session.expire_all()
    assert chat.replay(general, last_seq=sent.seq).last_seq == sent.seq  # the number it took was given back
    following, _ = chat.post_message(general.id, by=ibd["teen"], client_id="next", body="next")
    assert following.seq == sent.seq + 1


def test_sending_is_rate_limited_per_person_but_retries_are_free(app, ibd):
    app.config["CHAT_RATE_LIMIT"] = "3 per minute"
    app.extensions.pop("lhn_chat_limiter", None)
    for n in range(3):
        chat.post_message(ibd["general"].id, by=ibd["teen"], client_id=f"r{n}", body="hi")
    chat.post_message(ibd["general"].id, by=ibd["teen"], client_id="r0", body="hi")  # a retry, not counted
    with pytest.raises(RateLimited) as limited:
        chat.post_message(ibd["general"].id, by=ibd["teen"], client_id="r3", body="hi")
    assert limited.value.retry_after >= 1
    chat.post_message(ibd["general"].id, by=ibd["mum"], client_id="m0", body="others are fine")


def test_mentions_notify_readers_link_profiles_and_skip_code(ibd):
    community = ibd["community"]
    clinicians = factories.channel(community, name="clinicians", roles=("clinician",))
    message = factories.chat_message(
        ibd["general"].id, ibd["teen"], "Thanks @Mum and @nurse! Not `@doc` and not @nobody or @teen"
    )
    assert '<a href="/u/mum" rel="nofollow ugc noopener noreferrer">@mum</a>' in message.body_html
    assert "<code>@doc</code>" in message.body_html
    assert [n.text for n in notifications.list_notifications(ibd["mum"]).items] == [
        f"teen mentioned you in #general ({community.name})".replace("teen", ibd["teen"].display_name)
    ]
    assert notifications.unread_count(ibd["nurse"]) == 1
    assert notifications.unread_count(ibd["doc"]) == 0  # inside code
    assert notifications.unread_count(ibd["teen"]) == 0  # never yourself
    # Someone who can't read the channel is not told about it.
    factories.chat_message(clinicians.id, ibd["nurse"], "@mum look at this")
    assert notifications.unread_count(ibd["mum"]) == 1
    # Editing notifies only newly added mentions.
    chat.edit_message(message.id, by=ibd["teen"], body="Thanks @mum, @nurse and @doc")
    assert notifications.unread_count(ibd["doc"]) == 1
    assert notifications.unread_count(ibd["mum"]) == 1


def test_edit_and_delete_are_for_the_author_and_take_new_event_numbers(ibd):
    message = factories.chat_message(ibd["general"].id, ibd["teen"], "frist")
    with pytest.raises(PermissionDenied):
        chat.edit_message(message.id, by=ibd["mum"], body="hacked")
    with pytest.raises(PermissionDenied):
        chat.delete_message(message.id, by=ibd["mod"])  # moderators hide, they don't delete
    edited = chat.edit_message(message.id, by=ibd["teen"], body="first")
    assert (edited.body, edited.edited_at is not None, edited.change_seq) == ("first", True, 2)
    deleted = chat.delete_message(message.id, by=ibd["teen"])
    assert (deleted.body, deleted.body_html, deleted.change_seq) == ("", "", 3)
    with pytest.raises(PermissionDenied):
        chat.edit_message(message.id, by=ibd["teen"], body="back")


def test_moderators_hide_with_a_reason_shown_to_readers(ibd):
    message = factories.chat_message(ibd["general"].id, ibd["teen"], "My hospital number is 123")
    with pytest.raises(PermissionDenied):
        chat.hide_message(message.id, by=ibd["mum"], reason="no")
    with pytest.raises(ValidationFailed):
        chat.hide_message(message.id, by=ibd["mod"], reason="  ")
    chat.hide_message(message.id, by=ibd["mod"], reason="Identifying details")
    with pytest.raises(Conflict):
        chat.hide_message(message.id, by=ibd["mod"], reason="again")
    with pytest.raises(PermissionDenied):
        chat.edit_message(message.id, by=ibd["teen"], body="sorry")
    general, membership = chat.get_channel(ibd["general"].id, by=ibd["mum"])
    reader = chat.message_json(message, viewer=ibd["mum"], membership=membership, roles={})
    assert reader["body"] is None
    assert reader["body_html"] is None
    assert reader["hidden"]["reason"] == "Identifying details"
    for viewer in ("teen", "mod"):
        _, m = chat.get_channel(general.id, by=ibd[viewer])
        assert chat.message_json(message, viewer=ibd[viewer], membership=m, roles={})["body"] == message.body
    chat.unhide_message(message.id, by=ibd["mod"])
    assert message.hidden_at is None
    assert message.change_seq == 3


def test_history_pages_upward_by_keyset(ibd):
    ids = [factories.chat_message(ibd["general"].id, ibd["teen"], f"m{n}").id for n in range(7)]
    latest = chat.list_messages(ibd["general"], limit=3)
    assert [m.id for m in latest.items] == ids[-3:]
    older = chat.list_messages(ibd["general"], before=int(latest.next_cursor), limit=3)
    assert [m.id for m in older.items] == ids[1:4]
    oldest = chat.list_messages(ibd["general"], before=int(older.next_cursor), limit=3)
    assert [m.id for m in oldest.items] == ids[:1]
    assert oldest.next_cursor is None
    newer = chat.list_messages(ibd["general"], after=ids[2], limit=2)
    assert [m.id for m in newer.items] == ids[3:5]
    assert newer.next_cursor == str(ids[4])


def test_replay_returns_exactly_what_was_missed_including_edits(ibd, monkeypatch):
    general = ibd["general"]
    seen = [factories.chat_message(general.id, ibd["teen"], f"seen {n}") for n in range(3)]
    last_seq = seen[-1].change_seq
    missed = [factories.chat_message(general.id, ibd["mum"], f"missed {n}") for n in range(4)]
    chat.edit_message(seen[0].id, by=ibd["teen"], body="seen 0, edited")
    by_seq = chat.replay(general, last_seq=last_seq)
    assert [m.id for m in by_seq.messages] == [m.id for m in missed] + [seen[0].id]
    assert (by_seq.last_seq, by_seq.has_more, by_seq.reset) == (last_seq + 5, False, False)
    by_id = chat.replay(general, last_id=seen[-1].id)
    assert [m.id for m in by_id.messages] == [m.id for m in missed] + [seen[0].id]
    assert chat.replay(general, last_seq=by_seq.last_seq).messages == []
    monkeypatch.setattr(history, "REPLAY_MAX", 3)
    first = chat.replay(general, last_seq=last_seq)
    assert first.has_more
    assert [m.id for m in first.messages] == [m.id for m in missed[:3]]
    rest = chat.replay(general, last_seq=first.last_seq)
    assert [m.id for m in rest.messages] == [missed[3].id, seen[0].id]
    assert not rest.has_more
    # A first join, an unknown id or a gap wider than the horizon: the latest page, to replace the list.
    assert chat.replay(general).reset
    assert chat.replay(general, last_id=999_999).reset
    monkeypatch.setattr(history, "REPLAY_HORIZON", 2)
    assert chat.replay(general, last_seq=1).reset


def test_read_positions_and_unread_counts(ibd):
    general = ibd["general"]
    for n in range(3):
        factories.chat_message(general.id, ibd["teen"], f"m{n}")
    factories.chat_message(general.id, ibd["mum"], "mine")
    assert chat.list_channels(ibd["community"], by=ibd["mum"])[0].unread == 3  # not her own
    first = chat.list_messages(general).items[0]
    assert chat.mark_read(general, by=ibd["mum"], last_id=first.id) == first.id
    assert chat.list_channels(ibd["community"], by=ibd["mum"])[0].unread == 2
    chat.mark_read(general, by=ibd["mum"], last_id=0)  # never backwards
    assert chat.last_read_id(ibd["mum"], general) == first.id
    chat.mark_read(general, by=ibd["mum"])
    assert chat.list_channels(ibd["community"], by=ibd["mum"])[0].unread == 0
