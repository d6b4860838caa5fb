"""The PHI guard and author redaction in Chromium: a patient's question with a phone number is held with a prompt
that says to tick the box (and that earlier versions can be redacted from History); once posted and later edited,
the author removes the number from the first revision on the History page."""

import re

import pytest

from tests.browser.people import log_in

pytestmark = [pytest.mark.browser, pytest.mark.live]
PHONE = "07700 900456"


def test_an_author_confirms_a_phone_number_then_redacts_it_from_the_history(live_server, new_page, shot):
    base = live_server.url
    teen = new_page()
    log_in(teen, base, "ibd_teen")
    teen.goto(base + "/c/pediatric-ibd/new/question")
    teen.get_by_label("Title").fill("Who do you text when the stoma bag leaks at school?")
    teen.get_by_label("Details").fill(f"Text me on {PHONE} if you have tips.")
    teen.get_by_role("button", name="Post question").click()
    prompt = teen.locator("#phi-guard")
    prompt.wait_for(state="visible", timeout=5000)
    text = prompt.inner_text()
    assert "tick the box" in text
    assert "confirm_phi" not in text
    assert "Redact personal details" in text
    assert teen.content().count("This may contain a phone number.") == 1
    shot(teen, "1-prompt")
    teen.get_by_label("I checked it: I want to share this as written").check()
    teen.get_by_role("button", name="Post question").click()
    teen.wait_for_url(re.compile(r"/c/pediatric-ibd/q/\d+"))
    post_path = teen.url.removeprefix(base).split("#")[0]
    post_id = re.search(r"/q/(\d+)", post_path).group(1)

    teen.goto(f"{base}/c/pediatric-ibd/posts/{post_id}/edit")
    teen.get_by_label("Details").fill("Ask the school nurse first; she keeps spare bags.")
    teen.get_by_role("button", name="Save changes").click()
    teen.wait_for_url(re.compile(r"/c/pediatric-ibd/q/\d+"))

    teen.goto(f"{base}/c/pediatric-ibd/posts/{post_id}/revisions")
    assert PHONE in teen.locator("#revision-1").inner_text()
    shot(teen, "2-history-before")
    teen.get_by_role("button", name="Redact from revision 1").click()
    teen.get_by_text("Removed from revision 1").wait_for(timeout=5000)
    assert PHONE not in teen.content()
    assert "Text me on [removed by the author]" in teen.locator("#revision-1").inner_text()
    shot(teen, "3-history-after")
