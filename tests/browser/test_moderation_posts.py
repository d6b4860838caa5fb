"""The moderation flow on an answer in Chromium (issue 6, "done when"): a member answers with a dubious claim;
another member flags the answer as misinformation; a moderator opens the community's queue and hides it
with a reason; a reader sees the placeholder (not the text); the public log shows the action; a second
moderator acting on the same item from a stale page is told it was already handled. Screenshots saved."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.people import log_in

pytestmark = [pytest.mark.browser, pytest.mark.live]

QUESTION = "How do you handle school trips during a flare?"


def open_question(page, base):
    page.goto(base + "/c/pediatric-ibd/posts")
    page.get_by_role("link", name=QUESTION).click()


def test_flag_an_answer_hide_it_from_the_queue_placeholder_log_and_already_handled(live_server, new_page, shot):
    base = live_server.url
    claim = f"Skip the steroids for the trip; turmeric tea works just as well ({uuid.uuid4().hex[:6]})."

    writer = new_page()
    log_in(writer, base, "ibd_teen")
    open_question(writer, base)
    writer.get_by_role("textbox", name="Your answer").fill(claim)
    writer.get_by_role("button", name="Post answer").click()
    expect(writer.get_by_text("Answer posted.")).to_be_visible()

    member = new_page()
    log_in(member, base, "mum_of_two")
    open_question(member, base)
    answer = member.locator("article.answer", has_text=claim)
    answer.get_by_role("link", name="Flag this answer").click()
    member.get_by_label("Medical misinformation").check()
    member.get_by_label("Details for the moderators").fill("Telling children to stop steroids is dangerous.")
    shot(member, "1-flag-form")
    member.get_by_role("button", name="Send to the moderators").click()
    expect(member.get_by_text("Moderators will review it")).to_be_visible()

    # Two reviewers open the community's queue at the same time.
    admin, owner = new_page(), new_page()
    log_in(admin, base, "admin")
    log_in(owner, base, "dr_okafor")
    admin.goto(base + "/c/pediatric-ibd/review")
    owner.goto(base + "/c/pediatric-ibd/review")
    item = admin.locator("article.review-item", has=admin.get_by_text("stop steroids is dangerous"))
    expect(item.get_by_text("Medical misinformation")).to_be_visible()
    expect(item.get_by_text("turmeric tea")).to_be_visible()  # the excerpt of the visible answer
    item.get_by_label("Reason").fill("Advises stopping steroids without a doctor (guideline 2).")
    shot(admin, "2-queue")
    item.get_by_role("button", name="Hide with a reason").click()
    expect(admin.get_by_text("Done: hidden.")).to_be_visible()

    reader = new_page()
    log_in(reader, base, "nurse_priya")
    open_question(reader, base)
    hidden = reader.locator("article.answer", has=reader.get_by_text("Advises stopping steroids without a doctor"))
    expect(hidden.get_by_text("This answer was hidden by a moderator.")).to_be_visible()
    assert reader.get_by_text("turmeric tea").count() == 0
    shot(reader, "3-placeholder")

    writer.reload()  # the author still sees their text, with the reason
    mine = writer.locator("article.answer", has_text=claim)
    expect(mine.get_by_text("This answer was hidden by a moderator.")).to_be_visible()

    reader.goto(base + "/c/pediatric-ibd")
    reader.get_by_role("navigation", name="Pediatric IBD Network").get_by_role("link", name="Moderation log").click()
    entry = reader.locator(".mod-log li").first
    assert "Advises stopping steroids" in entry.inner_text()
    assert "LHN Admin" in entry.inner_text()
    assert "turmeric" not in reader.content()
    shot(reader, "4-log")

    late = owner.locator("article.review-item", has=owner.get_by_text("stop steroids is dangerous"))
    late.get_by_role("button", name="Dismiss (nothing wrong)").click()
    expect(owner.get_by_text("This item was already handled by LHN Admin (hidden).")).to_be_visible()
    shot(owner, "5-already-handled")
