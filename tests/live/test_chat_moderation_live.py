"""Chat moderation against the real server with real python-socketio clients: a moderator hides a flagged
message from the review queue and every open chat shows the placeholder live (the text never reaches
ordinary readers), restoring brings it back live; a suspension closes the person's open sockets (cookie
and token) and keeps them out. The same across two gevent processes sharing a Redis queue."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests
import socketio

from tests.live.chat_client import ChatClient, api_token, close, cookie_header, login_session
from tests.servers import LiveServer, postgres_available, two_gevent_servers

pytestmark = [
    pytest.mark.live,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),  # see tests/live/test_chat_live.py
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]
DEMO_PASSWORD = "lhn-demo-2026"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def general_id(url: str, token: str) -> int:
    items = requests.get(f"{url}/api/v1/communities/pediatric-ibd/channels", headers=auth(token), timeout=10).json()
    return next(c["id"] for c in items["items"] if c["name"] == "general")


def flag(url: str, token: str, target_type: str, target_id: int, reason: str = "misinformation") -> None:
    made = requests.post(f"{url}/api/v1/flags", headers=auth(token), timeout=10,
                         json={"target_type": target_type, "target_id": target_id, "reason": reason})  # fmt: skip
    assert made.status_code == 201, made.text


def act(url: str, token: str, target_type: str, target_id: int, action: str, **extra: object) -> dict:
    """Find the open item about the target in the reviewer's queue and act on it with its version."""
    queue = requests.get(f"{url}/api/v1/review-queue", headers=auth(token), timeout=10).json()["items"]
    about = [i for i in queue if i["target"] and i["target"]["type"] == target_type]
    item = next(i for i in about if i["target"]["id"] == target_id)
    answer = requests.post(f"{url}/api/v1/review-items/{item['id']}/actions", headers=auth(token), timeout=10,
                           json={"action": action, "version": item["version"], **extra})  # fmt: skip
    assert answer.status_code == 200, answer.text
    return answer.json()


def browser_socket(url: str, session: requests.Session) -> socketio.Client:
    sock = socketio.Client(reconnection=False)
    sock.connect(url, headers={"Cookie": cookie_header(session)}, transports=["websocket"], wait_timeout=5)
    return sock


def check_hide_and_restore(author_url: str, reader_url: str, mod_url: str, tokens: dict[str, str],
                           made: list[ChatClient]) -> None:  # fmt: skip
    general = general_id(author_url, tokens["ibd_teen"])
    teen = ChatClient(author_url, token=tokens["ibd_teen"]).connect()
    mum = ChatClient(reader_url, token=tokens["mum_of_two"]).connect()
    sam = ChatClient(mod_url, token=tokens["sam_mod"]).connect()
    made += [teen, mum, sam]
    for client in (teen, mum, sam):
        assert client.join(general)["ok"]
    client_id = teen.send(general, "Stop the infliximab, turmeric works better")
    message_id = teen.acked[client_id]
    assert mum.wait_for(lambda: message_id in mum.messages, 5)

    flag(reader_url, tokens["mum_of_two"], "chat_message", message_id)
    act(mod_url, tokens["sam_mod"], "chat_message", message_id, "hide", reason="Medical misinformation")
    for client in (mum, teen, sam):
        assert client.wait_for(lambda c=client: (c.messages[message_id].get("hidden") or {}).get("reason")
                               == "Medical misinformation", 5)  # fmt: skip
    assert mum.messages[message_id]["body"] is None  # the live event never carries the text
    assert mum.messages[message_id]["body_html"] is None
    # Reading it again: the reader gets the placeholder, the author and the moderator the text.
    for name, url, sees in (("mum_of_two", reader_url, False), ("ibd_teen", author_url, True),
                            ("sam_mod", mod_url, True)):  # fmt: skip
        page = requests.get(f"{url}/api/v1/channels/{general}/messages?after={message_id - 1}",
                            headers=auth(tokens[name]), timeout=10).json()  # fmt: skip
        assert (page["items"][0]["body"] is not None) is sees, name
    replay = mum.sio.call("sync", {"channel_id": general, "last_seq": 0}, timeout=10)
    assert next(m for m in replay["messages"] if m["id"] == message_id)["body"] is None

    flag(reader_url, tokens["nurse_priya"], "chat_message", message_id, "spam")
    act(mod_url, tokens["sam_mod"], "chat_message", message_id, "restore")
    text = "Stop the infliximab, turmeric works better"
    shown = lambda: (mum.messages[message_id]["hidden"], mum.messages[message_id]["body"])  # noqa: E731
    assert mum.wait_for(lambda: shown() == (None, text), 5)


def check_suspension(member_url: str, admin_url: str, tokens: dict[str, str], made: list[ChatClient]) -> None:
    general = general_id(member_url, tokens["data_mika"])
    session = login_session(member_url, "data_mika", DEMO_PASSWORD)
    browser = browser_socket(member_url, session)
    mika = ChatClient(member_url, token=tokens["data_mika"]).connect()  # reconnects by itself, like live.js
    made.append(mika)
    assert mika.join(general)["ok"]
    message_id = mika.acked[mika.send(general, "Ask me for the study data by email")]
    flag(member_url, tokens["nurse_priya"], "chat_message", message_id, "spam")
    act(admin_url, tokens["admin"], "chat_message", message_id, "suspend", days=1, reason="Repeated spam")
    assert mika.wait_for(lambda: not browser.connected and not mika.sio.connected, 10), "sockets stayed open"
    close(browser)
    # They stay out: neither the old session nor the token opens a socket any more.
    for headers, token in (({"Cookie": cookie_header(session)}, None), ({}, tokens["data_mika"])):
        again = socketio.Client(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            again.connect(member_url, headers=headers, auth={"token": token} if token else None,
                          transports=["websocket"], wait_timeout=5)  # fmt: skip
        close(again)
    assert not mika.sio.connected


USERS = ("ibd_teen", "mum_of_two", "sam_mod", "nurse_priya", "data_mika", "admin")


def test_hides_propagate_live_and_a_suspension_closes_sockets(demo_database_template: Path, tmp_path, clients):
    shutil.copy(demo_database_template, tmp_path / "lhn.sqlite3")
    server = LiveServer(f"sqlite:///{tmp_path / 'lhn.sqlite3'}", log_path=tmp_path / "server.log",
                        env={"LHN_CHAT_RATE_LIMIT": "1000 per minute"}).start()  # fmt: skip
    try:
        tokens = {name: api_token(server.url, name, DEMO_PASSWORD) for name in USERS}
        check_hide_and_restore(server.url, server.url, server.url, tokens, clients)
        check_suspension(server.url, server.url, tokens, clients)
    finally:
        for client in clients:
            client.disconnect()
        server.stop()


@pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed")
@pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not reachable (LHN_TEST_PG_SERVER)")
def test_across_two_gevent_processes_with_redis(tmp_path, clients):
    with two_gevent_servers(tmp_path, LHN_CHAT_RATE_LIMIT="1000 per minute") as (one, two, _):
        tokens = {name: api_token(one.url, name, DEMO_PASSWORD) for name in USERS}
        # The reader's socket is on process 2; the moderator acts through process 1.
        check_hide_and_restore(one.url, two.url, one.url, tokens, clients)
        # The suspended member's sockets are on process 2; the admin suspends through process 1.
        check_suspension(two.url, one.url, tokens, clients)
