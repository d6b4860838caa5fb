"""Chat against the real server (gunicorn on a loopback port) with real python-socketio clients:
members chat; anonymous and foreign-origin connections are refused; a non-member can't join or read;
a retried send is stored once; a client that was away gets exactly what it missed; a server killed
mid-conversation loses nothing; two gevent processes share a Redis queue and heal a Redis outage."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
import requests
import socketio

from tests.live.chat_client import ChatClient, api_token, close, cookie_header, login_cookie, login_session, logout
from tests.servers import (
    LiveServer,
    postgres_available,
    two_gevent_servers,
)

pytestmark = [
    pytest.mark.live,
    # When a server is killed or refuses a socket, python-socketio's client drops its websocket without
    # closing it and the garbage collector reports it; that is the test's doing, not a leak in LHN.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def channel_id(server: LiveServer, token: str, slug: str = "pediatric-ibd", name: str = "general") -> int:
    items = requests.get(f"{server.url}/api/v1/communities/{slug}/channels",
                         headers={"Authorization": f"Bearer {token}"}, timeout=10).json()["items"]  # fmt: skip
    return next(c["id"] for c in items if c["name"] == name)


def committed_ids(server: LiveServer, token: str, channel: int, after: int = 0) -> list[int]:
    ids, cursor = [], after
    while True:
        page = requests.get(f"{server.url}/api/v1/channels/{channel}/messages?after={cursor}&limit=100",
                            headers={"Authorization": f"Bearer {token}"}, timeout=10).json()  # fmt: skip
        ids += [m["id"] for m in page["items"]]
        if not page["next_cursor"]:
            return ids
        cursor = int(page["next_cursor"])


@pytest.fixture(scope="module")
def server(demo_database_template: Path, tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("chat-live")
    shutil.copy(demo_database_template, directory / "lhn.sqlite3")
    running = LiveServer(f"sqlite:///{directory / 'lhn.sqlite3'}", log_path=directory / "server.log",
                         env={"LHN_CHAT_RATE_LIMIT": "1000 per minute"}).start()  # fmt: skip
    yield running
    running.stop()


@pytest.fixture(scope="module")
def tokens(server):
    return {name: api_token(server.url, name, "lhn-demo-2026") for name in ("ibd_teen", "mum_of_two", "sugar_runner")}


def test_two_members_chat(server, tokens, clients):
    cookie = login_cookie(server.url, "mum_of_two", "lhn-demo-2026")
    mum = ChatClient(server.url, cookie=cookie).connect()  # a browser session
    teen = ChatClient(server.url, token=tokens["ibd_teen"]).connect()  # an integration's token
    clients += [mum, teen]
    general = channel_id(server, tokens["ibd_teen"])
    assert teen.join(general)["ok"]
    joined = mum.join(general)
    assert joined["ok"]
    assert any("Welcome to the network chat" in (m["body"] or "") for m in mum.messages.values())  # demo history
    teen.send(general, "Morning! Anyone up for the **parents' call** tonight?")
    assert mum.wait_for(lambda: any("parents' call" in (m["body"] or "") for m in mum.messages.values()), 5)
    received = next(m for m in mum.messages.values() if "parents' call" in (m["body"] or ""))
    assert "<strong>parents' call</strong>" in received["body_html"]
    assert received["sender"]["username"] == "ibd_teen"
    assert received["sender"]["role"] == "patient"
    mum.send(general, "Count me in @ibd_teen")
    assert teen.wait_for(lambda: any((m["body"] or "").startswith("Count me in") for m in teen.messages.values()), 5)


def test_anonymous_and_foreign_origin_are_refused(server):
    anonymous = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        anonymous.connect(server.url, transports=["websocket"], wait_timeout=5)
    close(anonymous)
    cookie = login_cookie(server.url, "mum_of_two", "lhn-demo-2026")
    for transports in (["websocket"], ["polling"]):
        evil = socketio.Client(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            evil.connect(server.url, headers={"Cookie": cookie, "Origin": "https://evil.example"},
                         transports=transports, wait_timeout=5)  # fmt: skip
        close(evil)
    handshake = requests.get(server.url + "/socket.io/?EIO=4&transport=polling",
                             headers={"Cookie": cookie, "Origin": "https://evil.example"}, timeout=5)  # fmt: skip
    assert handshake.status_code == 400
    # The same request from our own origin opens an Engine.IO session (a polling socket.io client
    # would sit on its long-poll for up to 25 s when closed, so the handshake is checked directly).
    own = requests.get(server.url + "/socket.io/?EIO=4&transport=polling",
                       headers={"Cookie": cookie, "Origin": server.url}, timeout=5)  # fmt: skip
    assert own.status_code == 200
    assert '"sid"' in own.text


def test_a_non_member_cannot_join_or_read(server, tokens, clients):
    general = channel_id(server, tokens["ibd_teen"])
    runner = ChatClient(server.url, token=tokens["sugar_runner"]).connect()  # not in pediatric IBD
    teen = ChatClient(server.url, token=tokens["ibd_teen"]).connect()
    clients += [runner, teen]
    refused = runner.join(general)
    assert refused == {"ok": False, "error": {"code": "not_found", "message": "No such channel."}}
    teen.join(general)
    teen.send(general, "members only, please")  # acknowledged after the room's message_created went out
    # The sentinel: the server answers the runner's own (refused) send on the runner's socket after it would
    # have sent it the message; the runner handles events in order, so by now the message would be here.
    answer = runner.sio.call("send_message", {"channel_id": general, "client_id": "sneaky", "body": "hi"}, timeout=5)
    assert answer["ok"] is False
    assert runner.messages == {}
    history = requests.get(f"{server.url}/api/v1/channels/{general}/messages",
                           headers={"Authorization": f"Bearer {tokens['sugar_runner']}"}, timeout=5)  # fmt: skip
    assert history.status_code == 404


def test_a_retried_send_is_stored_and_delivered_once(server, tokens, clients):
    general = channel_id(server, tokens["ibd_teen"])
    teen = ChatClient(server.url, token=tokens["ibd_teen"]).connect()
    mum = ChatClient(server.url, token=tokens["mum_of_two"]).connect()
    clients += [teen, mum]
    teen.join(general)
    mum.join(general)
    request = {"channel_id": general, "client_id": "retry-me-1", "body": "Did this arrive?"}
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(teen.sio.call("send_message", request, timeout=5)))
               for _ in range(3)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({a["id"] for a in answers}) == 1
    assert sorted(a["duplicate"] for a in answers) == [False, True, True]
    message_id = answers[0]["id"]
    # The sentinel: a later message from the same sender. Every answer above came after its own delivery (if
    # any) went out, so once mum has handled the later one, a second delivery would have been handled too.
    sentinel = teen.acked[teen.send(general, "sentinel after the retries")]
    assert mum.wait_for(lambda: sentinel in mum.messages, 5)
    assert mum.deliveries[message_id] == 1
    assert committed_ids(server, tokens["ibd_teen"], general, after=message_id - 1).count(message_id) == 1


def test_a_client_away_during_20_messages_gets_exactly_those_20_in_order(server, tokens, clients):
    general = channel_id(server, tokens["ibd_teen"])
    teen = ChatClient(server.url, token=tokens["ibd_teen"]).connect()
    mum = ChatClient(server.url, token=tokens["mum_of_two"]).connect()
    clients += [teen, mum]
    teen.join(general)
    mum.join(general)
    before = set(mum.ids(general))
    mum.disconnect()
    sent = [teen.send(general, f"while you were away #{n}") for n in range(20)]
    expected = [teen.acked[c] for c in sent]
    mum.connect()  # re-joins with the last event number it saw and catches up
    assert mum.wait_for(lambda: set(expected) <= set(mum.ids(general)), 5)
    new = [i for i in mum.ids(general) if i not in before]
    assert new == expected  # exactly those 20, in order
    assert [mum.messages[i]["body"] for i in new] == [f"while you were away #{n}" for n in range(20)]


def test_payload_too_large_closes_that_socket_only(server, tokens, clients):
    general = channel_id(server, tokens["ibd_teen"])
    teen = ChatClient(server.url, token=tokens["ibd_teen"]).connect()
    clients.append(teen)
    teen.sio.reconnection = False
    teen.sio.emit("send_message", {"channel_id": general, "client_id": "big", "body": "x" * 200_000})
    assert teen.wait_for(lambda: not teen.sio.connected, 5)
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
    auth = {"Authorization": f"Bearer {tokens['ibd_teen']}"}
    latest = requests.get(f"{server.url}/api/v1/channels/{general}/messages", headers=auth, timeout=5).json()["items"]
    assert "big" not in [m["client_id"] for m in latest]


def test_server_killed_mid_conversation_loses_nothing(demo_database_template, tmp_path, clients):
    shutil.copy(demo_database_template, tmp_path / "lhn.sqlite3")
    server = LiveServer(f"sqlite:///{tmp_path / 'lhn.sqlite3'}", log_path=tmp_path / "server.log",
                        env={"LHN_CHAT_RATE_LIMIT": "1000 per minute"}).start()  # fmt: skip
    try:
        teen_token = api_token(server.url, "ibd_teen", "lhn-demo-2026")
        mum_token = api_token(server.url, "mum_of_two", "lhn-demo-2026")
        general = channel_id(server, teen_token)
        start = committed_ids(server, teen_token, general)[-1]
        teen = ChatClient(server.url, token=teen_token).connect()
        mum = ChatClient(server.url, token=mum_token).connect()
        clients += [teen, mum]
        teen.join(general)
        mum.join(general)

        for n in range(30):  # queued at once; each client sends them one at a time, each after the last ack
            for client, who in ((teen, "teen"), (mum, "mum")):
                client.send(general, f"{who} {n}", wait=False)
        for client in (teen, mum):  # a few acknowledged: the conversation is under way
            assert client.wait_for(lambda c=client: len(c.acked) >= 5, 10)
        server.stop(kill=True)  # SIGKILL mid-conversation
        assert teen.pending, "the conversation ended before the kill"
        assert mum.pending, "the conversation ended before the kill"
        # Both notice the crash before the server is back: their sends in flight fail and are retried.
        assert teen.wait_for(lambda: not teen.sio.connected and not mum.sio.connected, 10)
        server.start()
        assert teen.wait_for(lambda: not teen.pending and not mum.pending, 30), "unacknowledged sends remain"
        committed = committed_ids(server, teen_token, general, after=start)
        assert len(committed) == 60  # every send stored exactly once (retries deduplicated)
        for client in (teen, mum):
            assert client.wait_for(lambda c=client: [i for i in c.ids(general) if i > start] == committed, 15)
        assert teen.connects >= 2  # both really reconnected
        assert mum.connects >= 2
    finally:
        server.stop()


@pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed")
@pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not reachable (LHN_TEST_PG_SERVER)")
def test_two_gevent_processes_share_the_redis_queue_and_survive_a_redis_outage(tmp_path, clients):
    with two_gevent_servers(tmp_path, LHN_CHAT_RATE_LIMIT="1000 per minute") as (one, two, redis_server):
        token = api_token(one.url, "ibd_teen", "lhn-demo-2026")
        mum_token = api_token(two.url, "mum_of_two", "lhn-demo-2026")
        general = channel_id(one, token)
        teen = ChatClient(one.url, token=token).connect()  # process 1
        mum = ChatClient(two.url, token=mum_token).connect()  # process 2
        clients += [teen, mum]
        teen.join(general)
        mum.join(general)
        teen.send(general, "across processes")
        assert mum.wait_for(lambda: "across processes" in mum.bodies(general), 5)
        mum.send(general, "and back")
        assert teen.wait_for(lambda: "and back" in teen.bodies(general), 5)

        redis_server.stop()
        during = [teen.send(general, f"sent while Redis was down {n}") for n in range(3)]
        for server in (one, two):  # both processes' listeners lost the queue: the outage is real on both sides
            assert server.wait_for_log("message queue: cannot receive", 10), "a listener never noticed the outage"
        redis_server.start()
        expected = [teen.acked[c] for c in during]
        assert mum.wait_for(lambda: set(expected) <= set(mum.ids(general)), 15), "missed messages never arrived"
        mum.send(general, "queue healed")
        assert teen.wait_for(lambda: "queue healed" in teen.bodies(general), 10)
        assert teen.wait_for(lambda: teen.ids(general) == mum.ids(general), 5)
        assert set(teen.ids(general)) <= set(committed_ids(one, token, general))

        # Logging out on one process closes that person's browser socket held by the other process.
        session = login_session(one.url, "mum_of_two", "lhn-demo-2026")
        browser = socketio.Client(reconnection=False)
        browser.connect(two.url, headers={"Cookie": cookie_header(session)}, transports=["websocket"], wait_timeout=5)
        assert browser.connected
        logout(one.url, session)
        assert mum.wait_for(lambda: not browser.connected, 5)
        close(browser)
        session.close()


def test_sockets_beyond_the_cap_are_refused_and_pages_keep_answering(demo_database_template, tmp_path, clients):
    shutil.copy(demo_database_template, tmp_path / "lhn.sqlite3")
    server = LiveServer(f"sqlite:///{tmp_path / 'lhn.sqlite3'}", log_path=tmp_path / "server.log",
                        env={"LHN_MAX_SOCKETS": "4", "LHN_THREADS": "12"}).start()  # fmt: skip
    try:
        token = api_token(server.url, "ibd_teen", "lhn-demo-2026")
        refused = 0
        for _ in range(7):
            client = ChatClient(server.url, token=token)
            client.sio.reconnection = False
            try:
                client.connect()
                clients.append(client)
            except socketio.exceptions.ConnectionError:
                refused += 1
                close(client.sio)
        assert (len(clients), refused) == (4, 3)
        timings = []
        for _ in range(10):
            start = time.perf_counter()
            assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
            timings.append(time.perf_counter() - start)
        assert max(timings) < 1.0  # pages are not starved of threads
    finally:
        for client in clients:
            client.disconnect()
        server.stop()
