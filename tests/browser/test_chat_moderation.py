"""Chat and moderation in Chromium: the PHI guard stops a message with a phone number, gives the text back
and sends it once the author confirms; the other member flags it from the chat page; a moderator hides it
from the queue and the open chat page shows the placeholder live."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.people import log_in

pytestmark = [pytest.mark.browser, pytest.mark.live]
TEXT = "Our nurse line is 513-555-0199 if anyone needs it"


def test_the_phi_guard_asks_to_confirm_and_members_flag_messages_in_the_chat(live_server, new_page, shot):
    base = live_server.url
    teen, mum, sam = new_page(), new_page(), new_page()
    log_in(teen, base, "ibd_teen")
    log_in(mum, base, "mum_of_two")
    log_in(sam, base, "sam_mod")
    for page in (teen, mum):
        page.goto(base + "/c/pediatric-ibd/chat/families")
    # A patient space: "online" is a count, never names.
    teen.locator("#online-count", has_text=re.compile(r"^2 people online")).wait_for(timeout=8000)

    # The guard stops the message and gives the text back with what it found.
    box = teen.get_by_label("Message #families")
    box.fill(TEXT)
    box.press("Enter")
    guard = teen.locator("#chat-phi")
    guard.wait_for(state="visible", timeout=5000)
    assert "This may contain a phone number." in guard.inner_text()
    assert box.input_value() == TEXT
    assert teen.locator("li.chat-message", has_text="513-555-0199").count() == 0
    assert mum.locator("li.chat-message", has_text="513-555-0199").count() == 0
    shot(teen, "1-phi-guard")
    teen.get_by_role("button", name="Send anyway").click()
    mine = teen.locator("li.chat-message:not(.chat-pending)", has_text="513-555-0199")
    mine.wait_for(timeout=5000)
    assert guard.is_hidden()
    assert mine.get_by_role("link", name="Flag this message for the moderators").count() == 0  # not one's own
    theirs = mum.locator("li.chat-message", has_text="513-555-0199")
    theirs.wait_for(timeout=5000)

    # The other member flags it from the chat page and comes back to the message.
    theirs.get_by_role("link", name="Flag this message for the moderators").click()
    mum.wait_for_url(re.compile(r".*/flag/chat_message/\d+$"))
    mum.get_by_label("Personal health information exposed").check()
    mum.get_by_label("Details for the moderators").fill("A phone number in #families")
    shot(mum, "2-flag-form")
    mum.get_by_role("button", name="Send to the moderators").click()
    mum.wait_for_url(re.compile(r".*/c/pediatric-ibd/chat/families\?before=\d+#message-\d+$"))
    expect(mum.get_by_text("Moderators will review it")).to_be_visible()
    message_id = mum.url.rsplit("#message-", 1)[1]
    mum.goto(base + "/c/pediatric-ibd/chat/families")  # the latest messages, live
    mum.locator(f"#message-{message_id}").wait_for(timeout=5000)
    mum.locator("#online-count", has_text=re.compile(r"people online")).wait_for(timeout=8000)  # joined again

    # A moderator hides it from the queue; the open chat page shows the placeholder live.
    sam.goto(base + "/c/pediatric-ibd/review")
    item = sam.locator("article.review-item", has=sam.get_by_text("A phone number in #families"))
    assert "513-555-0199" in item.inner_text()
    item.get_by_label(re.compile("^Reason")).fill("Phone numbers stay private here")
    item.get_by_role("button", name="Hide with a reason").click()
    placeholder = mum.locator(f"#message-{message_id} .chat-placeholder")
    placeholder.wait_for(timeout=8000)
    assert "Hidden by a moderator: Phone numbers stay private here" in placeholder.inner_text()
    assert "513-555-0199" not in mum.locator(f"#message-{message_id}").inner_text()
    shot(mum, "3-hidden-live")
