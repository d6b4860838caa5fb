"""A sender's own messages keep the order they were typed in across a server crash (issue 10): five messages
typed in a burst while the server is down are stored, after it comes back, in the typed order, both for the
browser (chat.js) and for the reference Python client (tests/live/chat_client.py, as integrations send).

The first message of each burst is long and the rest short, so a client that resends them all at once loses
the order on the server (each event runs in its own thread; the long one renders and scans longest)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests

from tests.browser.people import log_in
from tests.live.chat_client import ChatClient, api_token
from tests.servers import LiveServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    # The killed server's sockets are dropped without a close (see tests/live/test_chat_live.py).
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

LONG = " ".join(f"- **Tip {n}:** pack a spare set of clothes, wipes and a *note for the teacher*." for n in range(40))


def burst(who: str) -> list[str]:
    return [f"{who} 1 {LONG}", *(f"{who} {n}" for n in range(2, 6))]


def stored(server: LiveServer, token: str, channel: int, after: int) -> list[tuple[str, str]]:
    """(sender, body) of every message committed after `after`, in server order."""
    answer = requests.get(f"{server.url}/api/v1/channels/{channel}/messages?after={after}&limit=100",
                          headers={"Authorization": f"Bearer {token}"}, timeout=10).json()  # fmt: skip
    return [(m["sender"]["username"], m["body"]) for m in answer["items"]]


def test_own_messages_typed_while_the_server_is_down_are_stored_in_typed_order(
    demo_database_template: Path, tmp_path: Path, new_page, shot
):
    shutil.copy(demo_database_template, tmp_path / "lhn.sqlite3")
    server = LiveServer(f"sqlite:///{tmp_path / 'lhn.sqlite3'}", log_path=tmp_path / "server.log",
                        env={"LHN_CHAT_RATE_LIMIT": "1000 per minute"}).start()  # fmt: skip
    teen = None
    try:
        token = api_token(server.url, "ibd_teen", "lhn-demo-2026")
        channels = requests.get(f"{server.url}/api/v1/communities/pediatric-ibd/channels",
                                headers={"Authorization": f"Bearer {token}"}, timeout=10).json()["items"]  # fmt: skip
        general = next(c["id"] for c in channels if c["name"] == "general")
        teen = ChatClient(server.url, token=token).connect()
        teen.join(general)
        start = max(teen.ids(general))

        mum = new_page()
        log_in(mum, server.url, "mum_of_two")
        mum.goto(server.url + "/c/pediatric-ibd/chat/general")
        mum.locator("#online-list").get_by_text("Mum of two").wait_for(timeout=8000)  # joined

        server.stop(kill=True)  # a crash
        mum.locator("#chat-connection", has_text="Reconnecting").wait_for(timeout=10000)
        box = mum.get_by_label("Message #general")
        for body in burst("mum"):  # typed in a burst, each sent with Enter
            box.fill(body)
            box.press("Enter")
        for body in burst("teen"):
            teen.send(general, body, wait=False)
        assert mum.locator("li.chat-pending").count() == 5
        shot(mum, "1-waiting")

        server.start()
        mum.locator("li.chat-pending").first.wait_for(state="detached", timeout=30000)
        mum.wait_for_function("() => !document.querySelector('li.chat-pending')", timeout=30000)
        assert teen.wait_for(lambda: not teen.pending, 30), "the Python client's sends were not acknowledged"
        shot(mum, "2-sent")

        messages = stored(server, token, general, start)
        for who, prefix in (("mum_of_two", "mum"), ("ibd_teen", "teen")):
            bodies = [body for sender, body in messages if sender == who]
            assert bodies == burst(prefix), f"{who}'s messages were stored out of order"
        # The page shows them in that order too.
        shown = mum.locator("li.chat-message[data-sender=mum_of_two] .chat-body").all_inner_texts()
        assert [text.split()[:2] for text in shown[-5:]] == [["mum", str(n)] for n in range(1, 6)]
    finally:
        if teen is not None:
            teen.disconnect()
        server.stop()
