"""Chat wired into moderation (issue 6): flagging messages, queue hides/restores/redactions that every open
chat page sees live, auto-hide by flag weight, hides from the chat page in the public log and the audit
trail, mutes, slow mode per channel, the PHI guard, the per-person rate limit (lower for new accounts),
the new-account link limit, suspension closing sockets, and my data (export, deletion in both modes)."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.chat import services as chat
from lhn.chat.models import GENERAL, ChannelRead, ChatMessage
from lhn.communities import services as communities
from lhn.database import utcnow
from lhn.extensions import db, socketio
from lhn.moderation import mydata
from lhn.moderation.models import AuditEvent, PHIConfirmation, ReviewItem
from lhn.moderation.services import actions, sanctions
from lhn.moderation.services import log as modlog
from lhn.notifications.models import Notification
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.conftest import PASSWORD, committed, login

PHONE = "Ring me on 513-555-0134 after the clinic"


@pytest.fixture
def world(app):
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        community = factories.community(doc, slug="ibd", name="Pediatric IBD")
        for name, role in (("teen", "patient"), ("mum", "caregiver"), ("rdr1", "patient"), ("rdr2", "patient")):
            factories.member(community, factories.user(role, username=name))
        factories.member(community, factories.user("caregiver", username="mod"), role="moderator")
        factories.user("patient", username="intruder")
        factories.user("other", username="boss", admin=True)
        general = chat.find_channel(community, GENERAL)
        return {"general": general.id, "community": community.id}


def u(name):
    return accounts.get_user(name)


def connect(app, username):
    client = app.test_client()
    login(client, username)
    return socketio.test_client(app, flask_test_client=client), client


def events(sock, name):
    return [e["args"][0] for e in sock.get_received() if e["name"] == name]


def joined(app, world, *names):
    socks = {}
    for name in names:
        sock, _ = connect(app, name)
        assert sock.emit("join_channel", {"channel_id": world["general"]}, callback=True)["ok"]
        socks[name] = sock
    return socks


def send(sock, world, body, client_id, **extra):
    return sock.emit("send_message", {"channel_id": world["general"], "client_id": client_id, "body": body, **extra},
                     callback=True)  # fmt: skip


def api(app, username):
    client = app.test_client()
    return client, bearer(token_for(client, username))


def log_entries(app):
    with app.app_context():
        community = communities.get_community("ibd")
        return [(e.action, e.target_type, e.reason, e.details) for e in
                modlog.list_moderation_log(community, by=u("mum")).items]  # fmt: skip


def audit_actions(app, object_type=None):
    with app.app_context():
        stmt = select(AuditEvent.action)
        if object_type:
            stmt = stmt.where(AuditEvent.object_type == object_type)
        return list(db.session.scalars(stmt.order_by(AuditEvent.id)))


def notices(app, name):
    with app.app_context():
        return list(db.session.scalars(select(Notification.text).where(Notification.user_id == u(name).id)))


# --- flags and the review queue --------------------------------------------------------------------------


def test_members_flag_others_messages_over_the_api_and_from_the_chat_page(app, world):
    with committed(app):
        theirs = factories.chat_message(world["general"], u("teen"), "Ignore your doctor, stop the meds").id
        mine = factories.chat_message(world["general"], u("mum"), "Please don't").id
    client, auth = api(app, "mum")
    flag = {"target_type": "chat_message", "target_id": theirs, "reason": "misinformation"}
    made = client.post("/api/v1/flags", headers=auth, json=flag)
    assert made.status_code == 201, made.get_json()
    own = client.post("/api/v1/flags", headers=auth,
                      json={"target_type": "chat_message", "target_id": mine, "reason": "spam"})  # fmt: skip
    assert_error(own, 422, "validation_failed")
    outsider, outsider_auth = api(app, "intruder")  # not a member: can't see the channel, so can't flag it
    refused = outsider.post("/api/v1/flags", headers=outsider_auth,
                            json={"target_type": "chat_message", "target_id": theirs, "reason": "spam"})  # fmt: skip
    assert_error(refused, 404, "not_found")
    with app.app_context():
        item = db.session.scalar(select(ReviewItem).where(ReviewItem.target_type == "chat_message"))
        assert (item.target_id, item.community_id, item.subject_user_id) == (theirs, world["community"], u("teen").id)
    # The chat page offers a Flag link on other people's messages, never on one's own.
    page_client = app.test_client()
    login(page_client, "mum")
    html = page_client.get("/c/ibd/chat/general").get_data(as_text=True)
    assert f'href="/flag/chat_message/{theirs}"' in html
    assert f'href="/flag/chat_message/{mine}"' not in html
    # The flag page works for chat messages and returns to the message.
    page_client = app.test_client()
    login(page_client, "rdr1")
    form = page_client.get(f"/flag/chat_message/{theirs}")
    assert form.status_code == 200
    done = page_client.post(f"/flag/chat_message/{theirs}", data={"reason": "spam", "details": ""})
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"/c/ibd/chat/general?before={theirs + 1}#message-{theirs}")


def test_a_queue_hide_shows_the_placeholder_live_and_restore_brings_it_back(app, world):
    socks = joined(app, world, "teen", "mum", "mod")
    sent = send(socks["teen"], world, "Stop your meds, diet cures everything", "h1")
    client, auth = api(app, "rdr1")
    client.post("/api/v1/flags", headers=auth,
                json={"target_type": "chat_message", "target_id": sent["id"], "reason": "misinformation"})  # fmt: skip
    mod_client, mod_auth = api(app, "mod")
    queue = mod_client.get("/api/v1/communities/ibd/review-queue", headers=mod_auth).get_json()["items"]
    item = next(i for i in queue if i["target"]["type"] == "chat_message")
    assert item["target"]["label"] == "chat message"
    hide = {"action": "hide", "reason": "Medical misinformation", "version": item["version"]}
    acted = mod_client.post(f"/api/v1/review-items/{item['id']}/actions", headers=mod_auth, json=hide)
    assert acted.status_code == 200, acted.get_json()
    live = events(socks["mum"], "message_updated")[-1]
    assert live["id"] == sent["id"]
    assert live["hidden"]["reason"] == "Medical misinformation"
    assert live["body"] is None
    assert live["body_html"] is None
    # History, replay and the API: the text only for its author and the moderators.
    for name, sees in (("mum", False), ("teen", True), ("mod", True)):
        reader, reader_auth = api(app, name)
        items = reader.get(f"/api/v1/channels/{world['general']}/messages", headers=reader_auth).get_json()["items"]
        message = next(m for m in items if m["id"] == sent["id"])
        assert (message["body"] is not None) is sees, name
        assert message["hidden"]["reason"] == "Medical misinformation"
    late, _ = connect(app, "mum")
    replay = late.emit("join_channel", {"channel_id": world["general"], "last_seq": 0}, callback=True)
    assert next(m for m in replay["messages"] if m["id"] == sent["id"])["body"] is None
    page_client = app.test_client()
    login(page_client, "mum")
    page = page_client.get("/c/ibd/chat/general").get_data(as_text=True)
    assert "Hidden by a moderator: Medical misinformation" in page
    assert "diet cures everything" not in page
    assert ("hidden", "chat_message", "Medical misinformation", "") in log_entries(app)
    assert "content.hidden" in audit_actions(app, "chat_message")
    assert any("hid your chat message: Medical misinformation" in n for n in notices(app, "teen"))

    # Restoring (from a new flag's item) shows it again, live.
    client2, auth2 = api(app, "rdr2")
    client2.post("/api/v1/flags", headers=auth2,
                 json={"target_type": "chat_message", "target_id": sent["id"], "reason": "spam"})  # fmt: skip
    queue = mod_client.get("/api/v1/communities/ibd/review-queue", headers=mod_auth).get_json()["items"]
    item = next(i for i in queue if i["target"]["type"] == "chat_message")
    assert "restore" in item["actions"]
    restored = mod_client.post(f"/api/v1/review-items/{item['id']}/actions", headers=mod_auth,
                               json={"action": "restore", "version": item["version"]})  # fmt: skip
    assert restored.status_code == 200, restored.get_json()
    live = events(socks["mum"], "message_updated")[-1]
    assert live["hidden"] is None
    assert live["body"] == "Stop your meds, diet cures everything"
    assert "content.restored" in audit_actions(app, "chat_message")


def test_enough_flag_weight_hides_a_message_automatically_and_live(app, world):
    socks = joined(app, world, "teen", "mum")
    sent = send(socks["teen"], world, "Buy my miracle supplement at example.com", "a1")
    for name in ("mum", "rdr1", "rdr2"):  # three members: the default threshold of 3
        client, auth = api(app, name)
        assert client.post("/api/v1/flags", headers=auth, json={"target_type": "chat_message",
                           "target_id": sent["id"], "reason": "spam"}).status_code == 201  # fmt: skip
    live = events(socks["mum"], "message_updated")[-1]
    assert live["hidden"]["reason"].startswith("Hidden automatically")
    assert live["body"] is None
    assert log_entries(app)[0][:2] == ("auto_hidden", "chat_message")


def test_redaction_rewrites_the_stored_text_and_html_live(app, world):
    socks = joined(app, world, "teen", "mum")
    sent = send(socks["teen"], world, PHONE, "r1", confirm_phi=True)
    with committed(app):
        count = actions.redact_target(u("mod"), target_type="chat_message", target_id=sent["id"])
        assert count == 1
    with app.app_context():
        message = db.session.get(ChatMessage, sent["id"])
        assert "513-555-0134" not in message.body
        assert "513-555-0134" not in message.body_html
        assert "[removed by moderation]" in message.body_html
        assert message.edited_at is None
    live = events(socks["mum"], "message_updated")[-1]
    assert live["body"] == "Ring me on [removed by moderation] after the clinic"
    assert log_entries(app)[0][0] == "redacted"
    assert log_entries(app)[0][3] == "a phone number from this chat message"
    assert "content.redacted" in audit_actions(app, "chat_message")


def test_hides_from_the_chat_page_are_logged_audited_and_told_to_the_author(app, world):
    with committed(app):
        message_id = factories.chat_message(world["general"], u("teen"), "off topic rant").id
    client = app.test_client()
    login(client, "mod")
    assert client.post(f"/chat/messages/{message_id}/hide", data={"reason": "Off topic"}).status_code == 302
    assert client.post(f"/chat/messages/{message_id}/unhide").status_code == 302
    assert [e[:3] for e in log_entries(app)[:2]] == [("restored", "chat_message", ""),
                                                     ("hidden", "chat_message", "Off topic")]  # fmt: skip
    assert audit_actions(app, "chat_message")[-2:] == ["content.hidden", "content.restored"]
    assert any("hid your chat message: Off topic" in n for n in notices(app, "teen"))


# --- writing: mutes, slow mode, PHI guard, rate and link limits -------------------------------------------


def test_a_muted_member_reads_but_cannot_send_or_edit_until_the_mute_runs_out(app, world):
    with committed(app):
        before = factories.chat_message(world["general"], u("teen"), "before the mute").id
        sanctions.mute(u("teen"), communities.get_community("ibd"), by=u("mod"), reason="Cool off", days=1)
    sock, _ = connect(app, "teen")
    assert sock.emit("join_channel", {"channel_id": world["general"]}, callback=True)["ok"]  # still reads
    refused = send(sock, world, "let me talk", "m1")
    assert refused["ok"] is False
    assert refused["error"]["code"] == "forbidden"
    assert "You are muted in Pediatric IBD until" in refused["error"]["message"]
    assert events(sock, "error")[-1]["code"] == "forbidden"
    edit = sock.emit("edit_message", {"message_id": before, "body": "edited while muted"}, callback=True)
    assert "muted" in edit["error"]["message"]
    client, auth = api(app, "teen")
    answer = client.post(f"/api/v1/channels/{world['general']}/messages", headers=auth, json={"body": "hi"})
    assert "muted" in assert_error(answer, 403, "forbidden")["message"]
    with committed(app):  # the mute ran out (placed two days back): no restart, no job
        membership = communities.find_membership(u("teen"), communities.get_community("ibd"))
        membership.muted_until = utcnow() - timedelta(minutes=1)
    assert send(sock, world, "back again", "m2")["ok"]


def test_moderators_set_slow_mode_on_a_channel_and_it_is_logged_and_enforced(app, world):
    socks = joined(app, world, "teen")
    mod_client, mod_auth = api(app, "mod")
    member_client, member_auth = api(app, "mum")
    url = f"/api/v1/channels/{world['general']}/slow-mode"
    assert_error(member_client.put(url, headers=member_auth, json={"seconds": 30}), 403, "forbidden")
    assert_error(mod_client.put(url, headers=mod_auth, json={"seconds": 7}), 422, "validation_failed")
    assert mod_client.put(url, headers=mod_auth, json={"seconds": 30}).get_json()["slow_mode_seconds"] == 30
    assert events(socks["teen"], "channel_updated")[-1] == {"channel_id": world["general"], "slow_mode_seconds": 30}
    assert log_entries(app)[0] == ("slow_mode_on", "channel", "", "one message every 30 seconds per member")
    assert "slow_mode.set" in audit_actions(app, "channel")
    assert send(socks["teen"], world, "first", "s1")["ok"]
    second = send(socks["teen"], world, "second", "s2")
    assert second["error"]["code"] == "validation_failed"
    assert second["error"]["message"].startswith("#general is in slow mode: please wait ")
    assert send(socks["teen"], world, "first", "s1")["duplicate"] is True  # a retry is not a new message
    api_send = member_client.post(f"/api/v1/channels/{world['general']}/messages", headers=member_auth,
                                  json={"body": "one"})  # fmt: skip
    assert api_send.status_code == 201
    assert "slow mode" in assert_error(
        member_client.post(f"/api/v1/channels/{world['general']}/messages", headers=member_auth, json={"body": "two"}),
        422, "validation_failed",
    )["message"]  # fmt: skip
    mod_sock, _ = connect(app, "mod")
    assert send(mod_sock, world, "moderators are exempt", "x1")["ok"]
    assert send(mod_sock, world, "still exempt", "x2")["ok"]
    # The channel page shows it, and moderators get the form (which logs too).
    page = app.test_client()
    login(page, "mod")
    html = page.get("/c/ibd/chat/general").get_data(as_text=True)
    assert "Slow mode: one message every" in html
    assert 'action="/c/ibd/chat/general/slow-mode"' in html
    assert page.post("/c/ibd/chat/general/slow-mode", data={"seconds": "0"}).status_code == 302
    assert log_entries(app)[0][0] == "slow_mode_off"
    assert send(socks["teen"], world, "free again", "s3")["ok"]
    reader = app.test_client()
    login(reader, "mum")
    assert 'action="/c/ibd/chat/general/slow-mode"' not in reader.get("/c/ibd/chat/general").get_data(as_text=True)


def test_the_phi_guard_asks_to_confirm_over_the_socket_the_api_and_the_page(app, world):
    sock, _ = connect(app, "teen")
    asked = send(sock, world, PHONE, "p1")
    assert asked["ok"] is False
    assert asked["error"]["code"] == "phi_confirmation_required"
    assert asked["error"]["kinds"] == ["phone"]
    assert "a phone number" in asked["error"]["message"]
    assert events(sock, "error")[-1]["kinds"] == ["phone"]
    confirmed = send(sock, world, PHONE, "p1", confirm_phi=True)
    assert confirmed["ok"] is True
    with app.app_context():
        row = db.session.scalar(select(PHIConfirmation).where(PHIConfirmation.target_type == "chat_message"))
        assert (row.user_id, row.target_id, row.kinds, row.community_id) == (
            u("teen").id, confirmed["id"], "phone", world["community"])  # fmt: skip
    # Editing goes through the guard too.
    fresh = send(sock, world, "nothing personal", "p2")
    edit = sock.emit("edit_message", {"message_id": fresh["id"], "body": "mail me: kid@example.org"}, callback=True)
    assert edit["error"]["kinds"] == ["email"]
    assert sock.emit("edit_message", {"message_id": fresh["id"], "body": "mail me: kid@example.org",
                                      "confirm_phi": True}, callback=True)["ok"]  # fmt: skip
    client, auth = api(app, "mum")
    url = f"/api/v1/channels/{world['general']}/messages"
    body = assert_error(client.post(url, headers=auth, json={"body": PHONE}), 422, "phi_confirmation_required")
    assert body["kinds"] == ["phone"]
    assert client.post(url, headers=auth, json={"body": PHONE, "confirm_phi": True}).status_code == 201
    # Without JavaScript: the page shows what was found and the box to tick.
    page = app.test_client()
    login(page, "rdr1")
    shown = page.post("/c/ibd/chat/general", data={"client_id": "nojs1", "body": PHONE}).get_data(as_text=True)
    assert 'id="phi-guard"' in shown
    assert shown.count("This may contain a phone number.") == 1  # on the text, not repeated by the prompt
    assert "tick the box" in shown
    assert page.post("/c/ibd/chat/general", data={"client_id": "nojs1", "body": PHONE,
                                                  "confirm_phi": "y"}).status_code == 302  # fmt: skip


def test_the_chat_rate_limit_uses_the_limits_table_and_is_lower_for_new_accounts(make_app, world):
    limits = {"CHAT_RATE_LIMIT": "", "RATE_LIMITS": {"chat": "3 per minute"},
              "NEW_ACCOUNT_RATE_LIMITS": {"chat": "1 per minute"}}  # fmt: skip
    new_app = make_app(**limits)
    sock, _ = connect(new_app, "teen")
    answers = [send(sock, world, f"hi {n}", f"n{n}")["ok"] for n in range(2)]
    assert answers == [True, False]
    seasoned_app = make_app(NEW_ACCOUNT_DAYS=0, **limits)
    sock, _ = connect(seasoned_app, "mum")
    answers = [send(sock, world, f"hi {n}", f"o{n}") for n in range(4)]
    assert [a["ok"] for a in answers] == [True, True, True, False]
    assert answers[3]["error"]["code"] == "rate_limited"
    client, auth = api(seasoned_app, "mum")  # the API shares the person's bucket
    refused = client.post(f"/api/v1/channels/{world['general']}/messages", headers=auth, json={"body": "more"})
    assert_error(refused, 429, "rate_limited")
    assert refused.headers["Retry-After"]


def test_new_accounts_may_include_at_most_two_links(make_app, world):
    links = "See https://a.example, https://b.example and https://c.example"
    sock, _ = connect(make_app(), "teen")
    refused = send(sock, world, links, "l1")
    assert refused["error"]["code"] == "validation_failed"
    assert "at most 2 links in a message (this has 3)" in refused["error"]["message"]
    assert send(sock, world, "See https://a.example and https://b.example", "l2")["ok"]
    seasoned, _ = connect(make_app(NEW_ACCOUNT_DAYS=0), "mum")
    assert send(seasoned, world, links, "l3")["ok"]


# --- suspension ------------------------------------------------------------------------------------------


def test_a_suspension_closes_the_persons_sockets_and_keeps_them_out(app, world):
    sock, _ = connect(app, "teen")
    other, _ = connect(app, "mum")
    token = token_for(app.test_client(), "teen")
    by_token = socketio.test_client(app, auth={"token": token})
    assert sock.is_connected()
    assert by_token.is_connected()
    with committed(app):
        sanctions.suspend(u("teen"), by=u("boss"), reason="Harassment", days=7)
    assert not sock.is_connected()
    assert not by_token.is_connected()
    assert other.is_connected()
    assert not socketio.test_client(app, auth={"token": token}).is_connected()


# --- my data ---------------------------------------------------------------------------------------------


def test_the_export_holds_my_chat_messages_and_read_positions(app, world):
    with committed(app):
        kept = factories.chat_message(world["general"], u("teen"), "my first message").id
        gone = factories.chat_message(world["general"], u("teen"), "oops")
        chat.delete_message(gone.id, by=u("teen"))
        factories.chat_message(world["general"], u("mum"), "not mine")
        chat.mark_read(chat.find_channel(communities.get_community("ibd"), GENERAL), by=u("teen"))
        chat.hide_message(kept, by=u("mod"), reason="Test")
    client, auth = api(app, "teen")
    data = client.get("/api/v1/me/export", headers=auth).get_json()
    assert [(m["id"], m["body"], m["community"], m["channel"]) for m in data["chat_messages"]] == [
        (kept, "my first message", "ibd", "general")]  # fmt: skip
    assert data["chat_messages"][0]["hidden"]["reason"] == "Test"
    assert data["chat_read_positions"][0]["channel"] == "general"
    assert data["chat_read_positions"][0]["last_read_id"] >= kept


def test_deleting_my_account_keeping_my_messages_shows_them_by_former_member(app, world):
    with committed(app):
        ids = [
            factories.chat_message(world["general"], u("teen"), "keep 0", client_id="same").id,
            factories.chat_message(world["general"], u("teen"), "keep 1").id,
        ]
        factories.chat_message(world["general"], u("rdr1"), "to be deleted", client_id="same")
    with committed(app):
        mydata.delete_account(u("teen"), password=PASSWORD, mode="keep")
    with committed(app):  # a second deleted member with the same client id: no clash under the shared account
        mydata.delete_account(u("rdr1"), password=PASSWORD, mode="keep")
    with app.app_context():
        rows = db.session.scalars(select(ChatMessage).where(ChatMessage.id.in_(ids))).all()
        assert {m.sender.display_name for m in rows} == {"Former member"}
        assert [m.body for m in sorted(rows, key=lambda m: m.id)] == ["keep 0", "keep 1"]
        assert db.session.scalar(select(ChannelRead).where(ChannelRead.user_id.is_(None))) is None
    reader = app.test_client()
    login(reader, "mum")
    page = reader.get("/c/ibd/chat/general").get_data(as_text=True)
    assert "keep 1" in page
    assert "Former member" in page
    assert "account.delete" in audit_actions(app)


def test_deleting_my_account_removing_my_messages_erases_them_live(app, world):
    socks = joined(app, world, "mum")
    with committed(app):
        ids = [factories.chat_message(world["general"], u("teen"), f"remove {n}").id for n in range(3)]
        factories.chat_message(world["general"], u("mum"), "stays")
    socks["mum"].get_received()
    client = app.test_client()
    login(client, "teen")
    assert client.delete("/api/v1/me", json={"password": PASSWORD, "mode": "remove"}).status_code == 204
    deleted = events(socks["mum"], "message_deleted")
    assert sorted(m["id"] for m in deleted) == ids
    assert all(m["deleted"] and m["body"] is None and m["sender"] is None for m in deleted)
    seqs = [m["seq"] for m in deleted]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 3
    with app.app_context():
        rows = db.session.scalars(select(ChatMessage).where(ChatMessage.id.in_(ids))).all()
        assert all(m.body == "" and m.body_html == "" and m.deleted_at and m.sender_id is None for m in rows)
        assert db.session.scalar(select(ChatMessage.body).where(ChatMessage.body == "stays")) == "stays"
    # A reader who was away catches up by replay: the tombstones, never the text.
    late, _ = connect(app, "mum")
    replay = late.emit("join_channel", {"channel_id": world["general"], "last_seq": 0}, callback=True)
    assert [m["body"] for m in replay["messages"] if m["id"] in ids] == [None, None, None]
    assert "account.delete" in audit_actions(app)
