"""The Socket.IO layer in-process (Flask-SocketIO's test client): connecting, joining after the
membership check, sending with acks and idempotency, edits/deletes/hides live, typing, presence,
watchable rooms, errors for bad events, and sockets closed on logout, password change and leaving."""

from collections import Counter

import pytest

from lhn import realtime
from lhn.chat import services as chat
from lhn.chat.models import GENERAL
from lhn.communities import services as communities
from lhn.extensions import socketio
from tests import factories
from tests.api.test_api import token_for
from tests.bad_input import assert_nothing_coerced
from tests.conftest import committed, login


@pytest.fixture
def world(app):
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        community = factories.community(doc, slug="ibd")
        factories.member(community, factories.user("patient", username="teen"))
        factories.member(community, factories.user("caregiver", username="mum"))
        factories.member(community, factories.user("caregiver", username="mod"), role="moderator")
        factories.user("patient", username="intruder")
        families = factories.channel(community, name="families", roles=("patient", "caregiver"))
        general = chat.find_channel(community, GENERAL)
        return {"general": general.id, "families": families.id}


def connect(app, username=None, **kwargs):
    client = app.test_client()
    if username:
        login(client, username)
    return socketio.test_client(app, flask_test_client=client, **kwargs), client


def events(sock, name):
    return [e["args"][0] for e in sock.get_received() if e["name"] == name]


def test_only_logged_in_sessions_or_tokens_connect(app, world, socket_client):
    assert not socket_client().is_connected()
    assert socket_client("teen").is_connected()
    token = token_for(app.test_client(), "mum")
    by_token = socketio.test_client(app, auth={"token": token})
    assert by_token.is_connected()
    assert not socketio.test_client(app, auth={"token": "lhn_wrong"}).is_connected()
    assert not socketio.test_client(app, auth={"token": 42}).is_connected()
    assert not socketio.test_client(app, auth={"token": "lhn_\ud800"}).is_connected()  # not a crash either


def test_a_token_socket_is_its_holders_and_closes_when_the_token_is_revoked(app, world):
    client = app.test_client()
    token = token_for(client, "mum")
    by_token = socketio.test_client(app, auth={"token": token})
    joined = by_token.emit("join_channel", {"channel_id": world["general"]}, callback=True)
    (mum,) = joined["presence"]["online"]
    assert (mum["username"], mum["role"]) == ("mum", "caregiver")
    assert 'data-username="mum"' in mum["html"]
    assert "badge-caregiver" in mum["html"]
    token_id = client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {token}"}).get_json()["items"][0]["id"]
    revoked = client.delete(f"/api/v1/tokens/{token_id}", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 204
    assert not by_token.is_connected()  # a leaked token reads no more chat
    assert not socketio.test_client(app, auth={"token": token}).is_connected()


def test_revalidation_closes_a_socket_whose_token_was_revoked_while_its_disconnect_was_lost(app, world):
    token = token_for(app.test_client(), "mum")
    by_token = socketio.test_client(app, auth={"token": token})
    other = socketio.test_client(app, auth={"token": token_for(app.test_client(), "mum")})
    with committed(app):
        from lhn.accounts import services as accounts
        from lhn.accounts.models import ApiToken
        from lhn.database import utcnow
        from lhn.extensions import db

        row = db.session.get(ApiToken, accounts.find_token_holder(token).token_id)
        row.revoked_at = utcnow()  # as if revoke_token's disconnect never reached this process
    assert by_token.is_connected()
    hub = app.extensions["lhn_sockets"]
    hub.revalidate(hub.snapshot())
    assert not by_token.is_connected()
    assert other.is_connected()  # the person's other token stays


def test_sockets_beyond_the_cap_are_refused_in_threading_mode(make_app, world):
    app = make_app(MAX_SOCKETS=2)
    first, second, third = (connect(app, "teen")[0] for _ in range(3))
    assert first.is_connected()
    assert second.is_connected()
    assert not third.is_connected()
    first.disconnect()
    assert connect(app, "teen")[0].is_connected()


def test_members_chat_and_a_retried_send_is_stored_and_broadcast_once(app, world):
    teen, _ = connect(app, "teen")
    mum, _ = connect(app, "mum")
    for sock in (teen, mum):
        answer = sock.emit("join_channel", {"channel_id": world["general"]}, callback=True)
        assert answer["ok"]
        assert answer["channel"]["name"] == "general"
        assert answer["messages"] == []
    mum.get_received()
    sent = teen.emit("send_message", {"channel_id": world["general"], "client_id": "c-1", "body": "Hi *all*"},
                     callback=True)  # fmt: skip
    assert sent["ok"]
    assert sent["duplicate"] is False
    retried = teen.emit("send_message", {"channel_id": world["general"], "client_id": "c-1", "body": "Hi *all*"},
                        callback=True)  # fmt: skip
    assert (retried["ok"], retried["id"], retried["duplicate"]) == (True, sent["id"], True)
    received = events(mum, "message_created")
    assert len(received) == 1
    message = received[0]
    assert message["id"] == sent["id"]
    assert message["seq"] == 1
    assert message["body_html"] == "<p>Hi <em>all</em></p>"
    assert message["sender"]["username"] == "teen"
    assert message["sender"]["role"] == "patient"
    with app.app_context():
        stored = chat.list_messages(
            chat.get_channel(world["general"], by=factories.owner_of(communities.get_community("ibd")))[0]
        ).items
        assert [m.id for m in stored] == [sent["id"]]


def test_a_non_member_cannot_join_read_or_send(app, world):
    intruder, _ = connect(app, "intruder")
    teen, _ = connect(app, "teen")
    teen.emit("join_channel", {"channel_id": world["general"]}, callback=True)
    answer = intruder.emit("join_channel", {"channel_id": world["general"]}, callback=True)
    assert answer == {"ok": False, "error": {"code": "not_found", "message": "No such channel."}}
    assert events(intruder, "error")[0]["event"] == "join_channel"
    refused = intruder.emit("send_message", {"channel_id": world["general"], "client_id": "x", "body": "hi"},
                            callback=True)  # fmt: skip
    assert refused["ok"] is False
    assert refused["error"]["code"] == "not_found"
    teen.emit("send_message", {"channel_id": world["general"], "client_id": "t1", "body": "members only"},
              callback=True)  # fmt: skip
    assert events(intruder, "message_created") == []  # never put in the room
    assert intruder.emit("typing", {"channel_id": world["general"]}, callback=True)["ok"] is False
    # A caregiver-and-patient channel is closed to a clinician member too.
    doc, _ = connect(app, "doc")
    assert doc.emit("join_channel", {"channel_id": world["families"]}, callback=True)["ok"] is True  # owner
    with committed(app):
        nurse = factories.user("clinician", username="nurse")
        factories.member(communities.get_community("ibd"), nurse)
    nurse_sock, _ = connect(app, "nurse")
    assert nurse_sock.emit("join_channel", {"channel_id": world["families"]}, callback=True)["ok"] is False


@pytest.mark.parametrize(
    ("event", "data", "code"),
    [
        ("send_message", None, "validation_failed"),
        ("send_message", ["a", "list"], "validation_failed"),
        ("send_message", {"channel_id": "1", "client_id": "x", "body": "hi"}, "validation_failed"),
        ("send_message", {"channel_id": 1, "client_id": "x"}, "validation_failed"),
        ("send_message", {"channel_id": 1, "client_id": "x", "body": "x" * 5000}, "validation_failed"),
        ("join_channel", {"channel_id": True}, "validation_failed"),
        ("join_channel", {"channel_id": 10**30}, "validation_failed"),
        ("edit_message", {"message_id": 99999, "body": "x"}, "not_found"),
        ("watch", {"room": ["x"]}, "validation_failed"),
        ("watch", {"room": "nope:1"}, "not_found"),
        ("no_such_event", {"x": 1}, "unknown_event"),
    ],
)
def test_malformed_and_unknown_events_get_an_error_never_a_crash(app, world, event, data, code):
    sock, _ = connect(app, "teen")
    answer = sock.emit(event, data, callback=True)
    assert answer["ok"] is False
    assert answer["error"]["code"] == code
    errors = events(sock, "error")
    assert errors
    assert errors[0]["code"] == code
    assert errors[0]["message"]
    assert sock.is_connected()
    assert sock.emit("join_channel", {"channel_id": world["general"]}, callback=True)["ok"]


EVENTS = ["join_channel", "sync", "leave_channel", "send_message", "edit_message", "delete_message", "typing",
          "mark_read", "watch", "unwatch"]  # fmt: skip


@pytest.mark.parametrize("event", EVENTS)
def test_a_missing_or_null_payload_is_a_validation_error(app, world, event):
    """python-socketio's client sends `emit(event, None)` as an event with no argument at all; socket.io-client
    sends `emit(event, null)` as one null argument. Both are a malformed payload, never an internal error."""
    sock, _ = connect(app, "teen")
    for args in ((), (None,)):
        answer = sock.emit(event, *args, callback=True)
        assert answer["ok"] is False
        assert answer["error"]["code"] == "validation_failed", (args, answer)
    assert sock.is_connected()


@pytest.mark.parametrize(("event", "data", "field"), [
    ("send_message", {"channel_id": 1, "client_id": "c-1", "body": None}, "body"),
    ("send_message", {"channel_id": 1, "client_id": "c-1", "body": ["x"]}, "body"),
    ("send_message", {"channel_id": 1, "client_id": 5, "body": "hi"}, "client_id"),
    ("send_message", {"channel_id": 1, "client_id": "c-1", "body": "hi", "confirm_phi": "yes"}, "confirm_phi"),
    ("send_message", {"channel_id": 1, "client_id": "c-1", "body": "abc \ud800"}, "body"),
    ("send_message", {"channel_id": 1, "client_id": "c-1", "body": "evif \u202e"}, "body"),
    ("edit_message", {"message_id": 1, "body": {"a": "b"}}, "body"),
    ("mark_read", {"channel_id": 1, "last_id": 2**63}, "last_id"),
    ("join_channel", {"channel_id": 1, "last_seq": -1}, "last_seq"),
    ("watch", {"room": None}, "room"),
])  # fmt: skip
def test_payload_fields_of_the_wrong_type_are_refused_and_nothing_is_stored(app, world, event, data, field):
    sock, _ = connect(app, "teen")
    sock.emit("join_channel", {"channel_id": world["general"]}, callback=True)
    data = {**data, "channel_id": world["general"]} if "channel_id" in data else data
    answer = sock.emit(event, data, callback=True)
    assert (answer["ok"], answer["error"]["code"]) == (False, "validation_failed")
    assert field in answer["error"]["fields"]
    assert_nothing_coerced(app)


# What a client can put in any field of an event: wrong types, numbers past a PostgreSQL INTEGER, a NUL, a
# direction control, "²" (a digit to str.isdigit(), not to int()), and digits int() would take but should not.
BAD_VALUES = [None, "", "x", "\x00", "a\x00b", "\u202e", "x" * 70_000, 2**31, -1, -(2**31) - 1, 2**63, 1e309, 1.5, True,
              [], {}, ["x"], {"a": 1}, "1", " 7", "²"]  # fmt: skip
BAD_ROOMS = ["post:2147483648", "post:\x00", "post:-1", "post:1e3", "post:", ":1", "post:²", "post: 1", "post:٣",
             "channel:1", "x" * 64]  # fmt: skip
# Each event's valid payload ("G": the general channel's id, "M": a message's id), delete last.
EVENT_SHAPES = {
    "join_channel": {"channel_id": "G", "last_id": 1, "last_seq": 1},
    "sync": {"channel_id": "G", "last_id": 1, "last_seq": 1},
    "leave_channel": {"channel_id": "G"},
    "send_message": {"channel_id": "G", "client_id": "c1", "body": "hello", "confirm_phi": False},
    "edit_message": {"message_id": "M", "body": "hello", "confirm_phi": False},
    "typing": {"channel_id": "G"},
    "mark_read": {"channel_id": "G", "last_id": "M"},
    "watch": {"room": "post:1"},
    "unwatch": {"room": "post:1"},
    "delete_message": {"message_id": "M"},
}


def test_every_event_answers_any_bad_field_with_an_error_event_never_an_internal_error(make_app, world):
    """Each field of each event, made bad in each way: the answer is an ack (refused, or taken where the value is
    fine, as "" for a client id), never internal_error, and the socket stays connected. On PostgreSQL this found
    "post:2147483648" reaching a query; on both databases, "post:²" raising in int()."""
    app = make_app(RATELIMIT_ENABLED=False, CHAT_RATE_LIMIT="10000 per minute")
    sock, _ = connect(app, "teen")
    seed = sock.emit("send_message", {"channel_id": world["general"], "client_id": "seed", "body": "hi"}, callback=True)
    faults, codes = [], Counter()
    for event, shape in EVENT_SHAPES.items():
        valid = {k: {"G": world["general"], "M": seed["id"]}.get(v, v) for k, v in shape.items()}
        cases = [(field, value) for field in valid for value in BAD_VALUES]
        cases += [("room", room) for room in BAD_ROOMS if "room" in valid]
        for field, value in cases:
            answer = sock.emit(event, {**valid, field: value}, callback=True)
            codes[answer["error"]["code"] if answer and not answer["ok"] else "ok"] += 1
            if not sock.is_connected() or not answer or answer.get("error", {}).get("code") == "internal_error":
                faults.append((event, field, repr(value)[:30], answer))
                sock, _ = connect(app, "teen")
            sock.get_received()
    assert faults == [], faults
    assert codes["validation_failed"] > 150, codes  # the cases were refused, not ignored
    assert codes["not_found"] > 10, codes


def test_an_unexpected_exception_is_an_internal_error_event(app, world, monkeypatch):
    sock, _ = connect(app, "teen")

    def boom(*args, **kwargs):
        raise RuntimeError("database exploded")

    monkeypatch.setattr(chat, "post_message", boom)
    answer = sock.emit("send_message", {"channel_id": world["general"], "client_id": "x", "body": "hi"}, callback=True)
    assert answer["error"]["code"] == "internal_error"
    assert "exploded" not in answer["error"]["message"]
    assert sock.is_connected()


def test_a_write_that_collides_with_a_row_committed_meanwhile_is_a_conflict_event(app, world, monkeypatch):
    sock, _ = connect(app, "teen")
    monkeypatch.setattr(chat, "post_message", lambda *args, **kwargs: factories.colliding_write())
    answer = sock.emit("send_message", {"channel_id": world["general"], "client_id": "x", "body": "hi"}, callback=True)
    assert answer["error"]["code"] == "conflict"
    assert sock.is_connected()


def test_rate_limit_answers_an_error_ack(make_app, world):
    app = make_app(CHAT_RATE_LIMIT="2 per minute")
    sock, _ = connect(app, "teen")
    answers = [
        sock.emit("send_message", {"channel_id": world["general"], "client_id": f"r{n}", "body": "hi"}, callback=True)
        for n in range(3)
    ]
    assert [a["ok"] for a in answers] == [True, True, False]
    assert answers[2]["error"]["code"] == "rate_limited"
    assert 0 < answers[2]["error"]["retry_after"] <= 60


def test_edits_deletes_and_hides_propagate_live(app, world):
    teen, _ = connect(app, "teen")
    mum, _ = connect(app, "mum")
    mod, _ = connect(app, "mod")
    for sock in (teen, mum, mod):
        sock.emit("join_channel", {"channel_id": world["general"]}, callback=True)
    sent = teen.emit("send_message", {"channel_id": world["general"], "client_id": "e1", "body": "typo"},
                     callback=True)  # fmt: skip
    assert mum.emit("edit_message", {"message_id": sent["id"], "body": "mine now"}, callback=True)["ok"] is False
    assert teen.emit("edit_message", {"message_id": sent["id"], "body": "fixed"}, callback=True)["ok"]
    updated = events(mum, "message_updated")
    assert updated[-1]["body"] == "fixed"
    assert updated[-1]["edited_at"]
    assert updated[-1]["seq"] == 2
    client = app.test_client()
    login(client, "mod")
    hidden = client.post(f"/api/v1/messages/{sent['id']}/hide", json={"reason": "Off topic"})
    assert hidden.status_code == 200
    assert hidden.get_json()["body"] == "fixed"
    live = events(mum, "message_updated")[-1]
    assert live["hidden"]["reason"] == "Off topic"
    assert live["body"] is None
    assert live["body_html"] is None
    second = teen.emit("send_message", {"channel_id": world["general"], "client_id": "e2", "body": "bye"},
                       callback=True)  # fmt: skip
    assert teen.emit("delete_message", {"message_id": second["id"]}, callback=True)["ok"]
    deleted = events(mum, "message_deleted")
    assert deleted[-1]["id"] == second["id"]
    assert deleted[-1]["deleted"]
    assert deleted[-1]["body"] is None
    # A late joiner's replay carries the same final state, per viewer.
    late, _ = connect(app, "mum")
    answer = late.emit("join_channel", {"channel_id": world["general"], "last_id": 0}, callback=True)
    states = {m["id"]: m for m in answer["messages"]}
    assert states[sent["id"]]["hidden"]
    assert states[sent["id"]]["body"] is None
    assert states[second["id"]]["deleted"]
    assert answer["last_seq"] == 5


def test_typing_names_people_but_not_in_patient_spaces(app, world):
    teen, _ = connect(app, "teen")
    mum, _ = connect(app, "mum")
    for sock in (teen, mum):
        sock.emit("join_channel", {"channel_id": world["general"]}, callback=True)
        sock.emit("join_channel", {"channel_id": world["families"]}, callback=True)
    mum.get_received()
    assert teen.emit("typing", {"channel_id": world["general"]}, callback=True)["sent"] is True
    assert teen.emit("typing", {"channel_id": world["general"]}, callback=True)["sent"] is False  # throttled
    teen.emit("typing", {"channel_id": world["families"]}, callback=True)
    typing = events(mum, "typing")
    assert typing[0]["channel_id"] == world["general"]
    assert typing[0]["user"]["username"] == "teen"
    assert typing[1] == {"channel_id": world["families"], "user": None}
    assert events(teen, "typing") == []  # not echoed to the typist


def test_presence_lists_people_counts_patient_spaces_and_respects_the_opt_out(app, world):
    with committed(app):
        from lhn.accounts import services as accounts

        accounts.get_user("mum").show_presence = False
    teen, _ = connect(app, "teen")
    mum, _ = connect(app, "mum")
    mum.emit("join_channel", {"channel_id": world["general"]}, callback=True)
    answer = teen.emit("join_channel", {"channel_id": world["general"]}, callback=True)
    assert answer["presence"]["count"] == 1  # mum opted out: neither listed nor counted
    assert [p["username"] for p in answer["presence"]["online"]] == ["teen"]
    families = teen.emit("join_channel", {"channel_id": world["families"]}, callback=True)
    assert families["presence"] == {"channel_id": world["families"], "count": 1, "online": None}
    teen.disconnect()
    left = app.extensions["lhn_sockets"].state.presence(world["general"])
    assert len(left) == 1
    assert not left[0].visible


def test_watch_joins_only_rooms_the_feature_authorizes(app, world):
    realtime.register_watchable("testpage", lambda user, object_id: object_id == 7 and user.username == "teen")
    teen, _ = connect(app, "teen")
    intruder, _ = connect(app, "intruder")
    assert teen.emit("watch", {"room": "testpage:7"}, callback=True) == {"ok": True, "room": "testpage:7"}
    denied = teen.emit("watch", {"room": "testpage:8"}, callback=True)
    assert denied["ok"] is False
    assert denied["error"]["code"] == "not_found"
    assert intruder.emit("watch", {"room": "testpage:7"}, callback=True)["ok"] is False
    with app.app_context():
        socketio.emit("answer_posted", {"id": 1}, to="testpage:7")
    assert events(teen, "answer_posted") == [{"id": 1}]
    assert events(intruder, "answer_posted") == []
    assert teen.emit("unwatch", {"room": "testpage:7"}, callback=True)["ok"]
    with app.app_context():
        socketio.emit("answer_posted", {"id": 2}, to="testpage:7")
    assert events(teen, "answer_posted") == []


def test_mentions_push_the_new_unread_count_to_the_person(app, world):
    teen, _ = connect(app, "teen")
    mum, _ = connect(app, "mum")
    teen.emit("send_message", {"channel_id": world["general"], "client_id": "m1", "body": "hey @mum"}, callback=True)
    notices = events(mum, "notification")
    assert notices
    assert notices[-1]["unread"] == 1
    assert notices[-1]["url"] == "/c/ibd/chat/general#message-1"
    assert events(teen, "notification") == []


def test_logout_password_change_and_leaving_close_the_sockets(app, world):
    sock, client = connect(app, "teen")
    other, _ = connect(app, "mum")
    client.post("/logout")
    assert not sock.is_connected()
    assert other.is_connected()
    sock, client = connect(app, "mum")
    client.post("/settings/password", data={"current_password": factories.PASSWORD, "new_password": "a new long pw 1"})
    assert not sock.is_connected()
    assert not other.is_connected()  # every session of mum ended
    sock, client = connect(app, "teen")
    assert sock.emit("join_channel", {"channel_id": world["general"]}, callback=True)["ok"]
    client.post("/c/ibd/leave")
    assert not sock.is_connected()
    again, _ = connect(app, "teen")  # a new socket: still logged in, no longer a member
    assert again.emit("join_channel", {"channel_id": world["general"]}, callback=True)["ok"] is False


def test_a_socket_whose_session_ended_is_refused_on_its_next_event(app, world):
    sock, _ = connect(app, "teen")
    with committed(app):
        from lhn.accounts import services as accounts

        user = accounts.get_user("teen")
        user.session_version += 1  # as if another process logged them out and its disconnect was lost
    answer = sock.emit("join_channel", {"channel_id": world["general"]}, callback=True)
    assert answer["error"]["code"] == "unauthenticated"
    assert not sock.is_connected()


def test_disconnected_client_catches_up_by_last_id(app, world):
    teen, _ = connect(app, "teen")
    mum, _ = connect(app, "mum")
    first = mum.emit("join_channel", {"channel_id": world["general"]}, callback=True)
    mum.disconnect()
    ids = [
        teen.emit(
            "send_message", {"channel_id": world["general"], "client_id": f"x{n}", "body": f"#{n}"}, callback=True
        )["id"]
        for n in range(5)
    ]
    back, _ = connect(app, "mum")
    answer = back.emit("sync", {"channel_id": world["general"], "last_seq": first["last_seq"]}, callback=True)
    assert [m["id"] for m in answer["messages"]] == ids
    assert answer["last_seq"] == 5
    assert not answer["has_more"]
    assert not answer["reset"]


def test_many_events_leave_no_database_connection_checked_out(app, world):
    from lhn.extensions import db

    sock, _ = connect(app, "teen")
    for n in range(150):
        sock.emit("join_channel" if n % 3 else "mark_read", {"channel_id": world["general"]}, callback=True)
        sock.emit("send_message", {"channel_id": world["general"], "client_id": f"p{n}", "body": "x"}, callback=True)
    with app.app_context():
        assert db.engine.pool.checkedout() == 0


def test_upkeep_revalidation_closes_ended_sessions_and_leaves_lost_channels(app, world):
    """The safety net for queue messages lost in an outage (scale-out runs it every 20 s)."""
    ended, _ = connect(app, "teen")
    removed, _ = connect(app, "mum")
    removed.emit("join_channel", {"channel_id": world["general"]}, callback=True)
    with committed(app):
        from lhn.accounts import services as accounts
        from lhn.communities.models import Membership
        from lhn.extensions import db

        accounts.get_user("teen").session_version += 1  # ended elsewhere; the disconnect was lost
        mum = accounts.get_user("mum")
        db.session.delete(db.session.scalar(db.select(Membership).where(Membership.user_id == mum.id)))
    hub = app.extensions["lhn_sockets"]
    hub.revalidate(hub.snapshot())
    assert not ended.is_connected()
    assert removed.is_connected()
    removed.get_received()
    teen_again, _ = connect(app, "doc")
    teen_again.emit("send_message", {"channel_id": world["general"], "client_id": "after", "body": "hi"}, callback=True)
    assert events(removed, "message_created") == []  # no longer in the channel's room


def test_connecting_rejoining_and_sending_run_a_pinned_number_of_statements(app, world, count_queries):
    # The fan-out bench's path: a token connects, rejoins with the event number it already has, and sends.
    # Pinned so that nothing reloads between phases (keep_loaded) and an up-to-date rejoin replays no query.
    token = token_for(app.test_client(), "teen")
    with count_queries() as connecting:
        teen = socketio.test_client(app, auth={"token": token})
    assert teen.is_connected()
    first = teen.emit("join_channel", {"channel_id": world["general"]}, callback=True)
    teen.emit("leave_channel", {"channel_id": world["general"]}, callback=True)
    with count_queries() as rejoining:
        again = teen.emit("join_channel", {"channel_id": world["general"], "last_seq": first["last_seq"]},
                          callback=True)  # fmt: skip
    assert (again["ok"], again["messages"], again["reset"]) == (True, [], False)
    teen.emit("send_message", {"channel_id": world["general"], "client_id": "warm", "body": "hello"}, callback=True)
    with count_queries() as sending:
        sent = teen.emit("send_message", {"channel_id": world["general"], "client_id": "s-1", "body": "Hi all"},
                         callback=True)  # fmt: skip
    assert (sent["ok"], sent["duplicate"]) == (True, False)
    # token and its person in one; the person, the channel with its community and membership in one, the channel's
    # last event with its slow mode in one; the person, then the read phase (channel with community, membership and
    # the retry check, in one), then the write phase (the channel's event number, which locks it; the retry check
    # with the slow mode; the message; the channel's followers)
    assert (len(connecting), len(rejoining), len(sending)) == (1, 3, 6), (connecting, rejoining, sending)


def test_read_markers_and_deletions_over_the_write_backstop_answer_an_error_ack(make_app, world):
    """Flask-Limiter sees only HTTP: a socket's other writes count against lhn.limits' "write" row themselves, each
    event on its own as each endpoint is (a flood of read markers would otherwise hold the write lock for everyone)."""
    two = {"write": "2 per minute"}
    app = make_app(RATE_LIMITS=two, NEW_ACCOUNT_RATE_LIMITS=two)
    sock, _ = connect(app, "teen")
    sock.emit("join_channel", {"channel_id": world["general"]}, callback=True)
    marks = [sock.emit("mark_read", {"channel_id": world["general"]}, callback=True) for _ in range(3)]
    assert [m["ok"] for m in marks] == [True, True, False]
    assert marks[2]["error"]["code"] == "rate_limited"
    assert "Too many attempts in a short time: please try again in" in marks[2]["error"]["message"]
    assert 0 < marks[2]["error"]["retry_after"] <= 60  # the wait the message says, in seconds
    sent = [
        sock.emit("send_message", {"channel_id": world["general"], "client_id": f"d{n}", "body": "oops"}, callback=True)
        for n in range(3)
    ]
    deleted = [sock.emit("delete_message", {"message_id": s["id"]}, callback=True) for s in sent]
    assert [d["ok"] for d in deleted] == [True, True, False]  # read markers did not use up deleting
    assert deleted[2]["error"]["code"] == "rate_limited"
