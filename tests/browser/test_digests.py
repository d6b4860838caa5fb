"""A clinician follows a question; another member answers; the digest preview lists it; the digest job runs; the
email arrives in the development mailbox with the title and a link, and none of the answer's words."""

import re
import time
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.people import ask_question, log_in
from tests.servers import flask_command

pytestmark = [pytest.mark.browser, pytest.mark.live]


def daytime_zone() -> str:
    """A time zone where it is day now: digests wait for the person's morning."""
    now = datetime.now(UTC)
    return next(z for z in ("UTC", "Asia/Tokyo", "America/New_York") if 8 <= now.astimezone(ZoneInfo(z)).hour <= 20)


def test_follow_answer_preview_digest_and_the_email(live_server, new_page, shot):
    base = live_server.url
    title = f"Does fasting before an infusion help? ({uuid.uuid4().hex[:6]})"
    secret = "SECRET-ANSWER-WORDS"

    patient = new_page()
    log_in(patient, base, "ibd_teen")
    question_url = ask_question(patient, base, title, "My team says eat normally, a friend says fast. Who is right?")

    doc = new_page()
    log_in(doc, base, "dr_lind")
    doc.goto(base + "/settings/notifications")
    doc.get_by_label("Time zone").select_option(daytime_zone())
    doc.get_by_role("button", name="Save settings").click()
    expect(doc.get_by_text("Notification settings saved.")).to_be_visible()
    shot(doc, "1-settings")
    doc.goto(question_url)
    doc.get_by_role("button", name="Follow this question").click()
    expect(doc.get_by_text("You follow this question.")).to_be_visible()
    shot(doc, "2-following")

    parent = new_page()
    log_in(parent, base, "mum_of_two")
    parent.goto(question_url)
    parent.get_by_role("textbox", name="Your answer").fill(f"We ate a light breakfast. {secret}")
    parent.get_by_role("button", name="Post answer").click()
    expect(parent.get_by_text("Answer posted.")).to_be_visible()

    doc.goto(base + "/settings/notifications/digest")
    preview = doc.locator("main")
    assert "Daily digest" in preview.inner_text()
    assert title in preview.inner_text()
    shot(doc, "3-digest-preview")

    result = flask_command(live_server.env["LHN_DATABASE_URL"], "lhn", "digests", "--period", "daily")
    assert re.search(r"daily: [1-9]\d* digest\(s\) queued", result.stdout), result.stdout + result.stderr

    # The server's mail worker sends it within its poll interval; the mailbox page lists it.
    deadline = time.monotonic() + 30
    while True:
        doc.goto(base + "/dev/mail")
        mine = doc.locator("li", has_text="dr_lind@demo.lhn.example")  # other clinicians get daily digests too
        link = mine.get_by_role("link", name=re.compile("Your LHN daily digest")).first
        if link.count() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    shot(doc, "4-mailbox")
    link.click()
    letter = doc.locator("main").inner_text()
    html_part = doc.locator("iframe.mail-html").get_attribute("srcdoc")
    shot(doc, "5-digest-email")
    assert title in letter
    assert "/notifications/" in letter
    assert "List-Unsubscribe-Post" in doc.locator("details").text_content()
    assert title in html_part
    assert secret not in letter
    assert secret not in html_part
    assert "light breakfast" not in letter
