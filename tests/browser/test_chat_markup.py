"""A chat message drawn live is the same markup as the same message in the page's history: the author's,
another member's and a moderator's view, for a plain message and for a hidden one."""

import pytest

from tests.browser.people import log_in

pytestmark = [pytest.mark.browser, pytest.mark.live]

# The element as the reader's page shows it: attributes and classes sorted, text with collapsed spaces,
# whitespace-only text left out (the template's indentation differs where a part was left out), and a CSRF
# token as whether it is there (each page render signs a new one).
SHAPE = """node => {
  function shape(n) {
    if (n.nodeType === 3) { const t = n.textContent.replace(/\\s+/g, " ").trim(); return t ? t : null; }
    if (n.nodeType !== 1) return null;
    const token = n.getAttribute("name") === "csrf_token";
    const value = a => (token && a.name === "value" ? (a.value ? "<token>" : "")
                                                     : a.value.replace(/\\s+/g, " ").trim());
    const attrs = Array.from(n.attributes).filter(a => a.name !== "class").map(a => a.name + "=" + value(a)).sort();
    const classes = Array.from(n.classList).sort().join(".");
    const kids = Array.from(n.childNodes).map(shape).filter(k => k !== null);
    return [n.tagName, classes, attrs, kids];
  }
  return JSON.stringify(shape(node));
}"""


def shapes(page, message_id: int) -> str:
    return page.locator(f"#message-{message_id}").evaluate(SHAPE)


def test_a_message_drawn_live_is_the_markup_of_the_history(live_server, new_page, shot):
    base = live_server.url
    teen, mum, sam = new_page(), new_page(), new_page()
    for page, who in ((teen, "ibd_teen"), (mum, "mum_of_two"), (sam, "sam_mod")):
        log_in(page, base, who)
        page.goto(base + "/c/pediatric-ibd/chat/general")
    for page in (teen, mum, sam):
        page.locator("#online-count", has_text="3 people online").wait_for(timeout=8000)

    teen.get_by_label("Message #general").fill("Same markup, **live** or not, @mum_of_two")
    teen.get_by_label("Message #general").press("Enter")
    received = mum.locator("li.chat-message:not(.chat-pending)", has_text="Same markup")
    received.wait_for(timeout=5000)
    message_id = int(received.get_attribute("data-id"))
    teen.locator(f"#message-{message_id}").wait_for(timeout=5000)
    sam.locator(f"#message-{message_id}").wait_for(timeout=5000)
    shot(mum, "1-live")
    live = {name: shapes(page, message_id) for name, page in (("teen", teen), ("mum", mum), ("sam", sam))}
    assert len(set(live.values())) == 3  # the author, a member and a moderator each see their own actions

    # The moderator hides it (the room's event carries no text; author and moderators keep seeing it).
    sam.locator(f"#message-{message_id} details.chat-hide summary").click()
    sam.locator(f"#hide-reason-{message_id}").fill("Checking the markup")
    sam.locator(f"#message-{message_id}").get_by_role("button", name="Hide message").click()
    for page in (teen, mum, sam):
        page.locator(f"#message-{message_id} .chat-placeholder").wait_for(timeout=5000)
    hidden_live = {name: shapes(page, message_id) for name, page in (("teen", teen), ("mum", mum), ("sam", sam))}
    shot(sam, "2-hidden-live")

    for page in (teen, mum, sam):
        page.reload()
        page.locator(f"#message-{message_id}").wait_for(timeout=5000)
    hidden_history = {name: shapes(page, message_id) for name, page in (("teen", teen), ("mum", mum), ("sam", sam))}
    assert hidden_live == hidden_history
    assert "Checking the markup" in mum.locator(f"#message-{message_id}").inner_text()
    assert "Same markup" not in mum.locator(f"#message-{message_id}").inner_text()
    assert "Same markup" in teen.locator(f"#message-{message_id} .chat-hidden-original").inner_text()

    # Shown again: what everyone drew live is what the page renders for them.
    sam.locator(f"#message-{message_id}").get_by_role("button", name="Unhide").click()
    for page in (teen, mum, sam):
        page.locator(f"#message-{message_id}:not(.chat-hidden)").wait_for(timeout=5000)
        page.reload()
        page.locator(f"#message-{message_id}").wait_for(timeout=5000)
    shot(mum, "3-history")
    history = {name: shapes(page, message_id) for name, page in (("teen", teen), ("mum", mum), ("sam", sam))}
    # The unhidden message carries a newer event number than the first live one: compare the rest.
    for name in live:
        assert live[name].replace(f'"data-seq={_seq(live[name])}"', "") == history[name].replace(
            f'"data-seq={_seq(history[name])}"', ""
        ), name


def _seq(shape: str) -> str:
    return shape.split('"data-seq=', 1)[1].split('"', 1)[0]
