"""Two people chat in two Chromium pages: presence, typing, messages both ways, a mention that updates
the other person's notification count live, an edit propagated, and the page on a phone."""

import pytest
from playwright.sync_api import expect

from tests.browser.people import log_in

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_two_people_chat_with_typing_presence_and_live_badges(live_server, new_page, shot):
    base = live_server.url
    mum, teen = new_page(), new_page()
    log_in(mum, base, "mum_of_two")
    log_in(teen, base, "ibd_teen")
    for page in (mum, teen):
        page.goto(base + "/c/pediatric-ibd/chat/general")
    # Both are online; the panel names them with their badges.
    mum.locator("#online-list").get_by_text("Gutsy Teen").wait_for(timeout=8000)
    teen.locator("#online-list").get_by_text("Mum of two").wait_for(timeout=8000)
    assert "2 people online" in mum.locator("#online-count").inner_text()
    shot(mum, "1-both-online")

    # A message of only spaces is not sent, and the composer says why.
    teen.get_by_label("Message #general").fill("   ")
    teen.get_by_label("Message #general").press("Enter")
    expect(teen.locator("#chat-send-error")).to_have_text("Write something first.")
    assert teen.locator("li.chat-pending").count() == 0
    shot(teen, "0-nothing-to-send", full_page=False)
    # Nor one over the limit (maxlength stops typing past it; a script can still set it), in the server's words.
    teen.locator("#body").evaluate("(box, n) => { box.value = 'x'.repeat(n); }", 4001)
    teen.get_by_label("Message #general").press("Enter")
    expect(teen.locator("#chat-send-error")).to_have_text("Messages are limited to 4000 characters (4001 now).")
    assert teen.locator("li.chat-pending").count() == 0
    teen.get_by_label("Message #general").fill("")

    # Typing shows on the other page.
    teen.get_by_label("Message #general").press_sequentially("Hello from the teen", delay=20)
    mum.get_by_text("Gutsy Teen is typing…").wait_for(timeout=5000)
    shot(mum, "2-typing")
    teen.get_by_label("Message #general").press("Enter")
    received = mum.locator("li.chat-message", has_text="Hello from the teen")
    received.wait_for(timeout=5000)
    assert received.locator(".badge-patient").inner_text() == "Patient"
    assert "Hello from the teen" in mum.locator("#chat-announcer").inner_text()  # read out by screen readers

    # A mention updates the header's notification count live.
    before = (
        teen.locator("#notification-count").inner_text() if teen.locator("#notification-count").is_visible() else "0"
    )
    mum.get_by_label("Message #general").fill("Welcome back @ibd_teen, **well done**")
    mum.get_by_role("button", name="Send").click()
    reply = teen.locator("li.chat-message", has_text="Welcome back")
    reply.wait_for(timeout=5000)
    assert reply.locator("strong").inner_text() == "well done"
    teen.wait_for_function(
        "b => document.getElementById('notification-count').textContent === String(b + 1)", arg=int(before)
    )
    expect(teen.locator("#notification-count")).to_be_visible()
    shot(teen, "3-reply-and-badge")

    # The author edits; the other page follows.
    mine = teen.locator("li.chat-message", has_text="Hello from the teen")
    mine.get_by_role("button", name="Edit").click()
    editor = mine.get_by_label("Edit your message")
    editor.fill("Hello from the teen (edited)")
    editor.press("Enter")
    mum.locator("li.chat-message", has_text="(edited)").get_by_text("Hello from the teen (edited)").wait_for(
        timeout=5000
    )
    shot(mum, "4-edited")

    # On a phone: everything fits, nothing scrolls sideways.
    phone = new_page(width=390, height=844)
    log_in(phone, base, "sam_mod")
    phone.goto(base + "/c/pediatric-ibd/chat/general")
    phone.locator("#online-list").get_by_text("Sam the moderator").wait_for(timeout=8000)
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(phone, "5-phone")
