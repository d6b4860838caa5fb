"""Phase 1 of the moderation flow in Chromium, on a member profile (posts and answers come in phase 2):
a member flags a profile that advertises a "cure"; a site admin hides it from the community's queue with a
reason; a reader sees the placeholder; the public log shows the action; a second moderator who had the
queue open is told the item was already handled. Screenshots saved."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.people import log_in, register

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_flag_hide_placeholder_log_and_already_handled(live_server, new_page, shot):
    base = live_server.url
    name = "tea_" + uuid.uuid4().hex[:6]

    seller = new_page()
    register(seller, base, name, "caregiver")
    seller.goto(base + "/settings/profile")
    seller.get_by_label("About you (optional, Markdown)").fill("Our detox tea cures Crohn's in 30 days! Shop now.")
    seller.get_by_role("button", name="Save").click()
    seller.goto(base + "/c/pediatric-ibd")
    seller.get_by_label("I have read and accept the community guidelines").check()
    seller.get_by_role("button", name="Join community").click()

    member = new_page()
    log_in(member, base, "ibd_teen")
    member.goto(f"{base}/u/{name}")
    member.get_by_role("link", name="Flag this member").click()
    member.get_by_label("Medical misinformation").check()
    member.get_by_label("Details for the moderators").fill("Says a tea cures Crohn's. Kids might stop their meds.")
    member.get_by_label("Where did this happen?").select_option("pediatric-ibd")
    shot(member, "1-flag-form")
    member.get_by_role("button", name="Send to the moderators").click()
    expect(member.get_by_text("Moderators will review it")).to_be_visible()

    # Two reviewers open the community's queue at the same time.
    admin, owner = new_page(), new_page()
    log_in(admin, base, "admin")
    log_in(owner, base, "dr_okafor")
    admin.goto(base + "/c/pediatric-ibd/review")
    owner.goto(base + "/c/pediatric-ibd/review")
    item = admin.locator("article.review-item", has=admin.get_by_text("Kids might stop their meds"))
    expect(item.get_by_text("Medical misinformation")).to_be_visible()
    item.get_by_label("Reason").fill("Promotes an unproven cure (guideline 2).")
    shot(admin, "2-queue")
    item.get_by_role("button", name="Hide with a reason").click()
    expect(admin.get_by_text("Done: hidden.")).to_be_visible()

    reader = new_page()
    log_in(reader, base, "mum_of_two")
    reader.goto(f"{base}/u/{name}")
    expect(reader.get_by_text("This profile text was hidden by a moderator.")).to_be_visible()
    assert reader.get_by_text("detox tea").count() == 0
    shot(reader, "3-placeholder")

    reader.goto(base + "/c/pediatric-ibd")
    reader.get_by_role("navigation", name="Pediatric IBD Network").get_by_role("link", name="Moderation log").click()
    entry = reader.locator(".mod-log li").first
    assert "Promotes an unproven cure" in entry.inner_text()
    assert "LHN Admin" in entry.inner_text()
    shot(reader, "4-log")

    late = owner.locator("article.review-item", has=owner.get_by_text("Kids might stop their meds"))
    late.get_by_role("button", name="Dismiss (nothing wrong)").click()
    expect(owner.get_by_text("This item was already handled by LHN Admin (hidden).")).to_be_visible()
    shot(owner, "5-already-handled")

    phone = new_page(width=390, height=844)
    log_in(phone, base, "sam_mod")
    phone.goto(base + "/c/pediatric-ibd/review")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(phone, "6-queue-phone")
