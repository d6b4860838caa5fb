"""A patient on a phone (issue 15): answers the IBD check-in, saving halfway and coming back, finishes, sees their
own trend, and lets their answers count in the network's quality-improvement measures; nobody else sees them."""

import pytest
from playwright.sync_api import expect

from tests.browser.people import log_in

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_a_patient_answers_on_a_phone_sees_their_trend_and_consents_to_qi_use(live_server, new_page, shot):
    base = live_server.url
    phone = new_page(width=390, height=844)
    log_in(phone, base, "ibd_teen")
    phone.goto(base + "/c/pediatric-ibd/questionnaires")
    card = phone.locator(".pro-card", has_text="IBD check-in")
    expect(card).to_contain_text("Your last total: 0 (Quiet)")  # the demo's six check-ins
    card.get_by_role("link", name="Answer it").click()
    phone.get_by_role("group", name="1. Tummy pain in the past week").get_by_label("Mild").check()
    phone.get_by_role("group", name="2. Stools a day, compared with your usual").get_by_label("1 or 2 more").check()
    phone.get_by_role("button", name="Save and finish later").click()
    expect(phone.get_by_text("Saved. Come back to finish it whenever you like.")).to_be_visible()
    phone.locator(".pro-card", has_text="IBD check-in").get_by_role("link", name="Finish your answers").click()
    expect(phone.get_by_role("group", name="1. Tummy pain in the past week").get_by_label("Mild")).to_be_checked()
    shot(phone, "1-draft-on-a-phone")
    phone.get_by_role("group", name="3. Blood in your stools").get_by_label("None").check()
    phone.get_by_role("group", name="4. How you felt in general").get_by_label("A bit below par").check()
    phone.get_by_role("button", name="Finish", exact=True).click()
    expect(phone.get_by_text("Only you can see this page.")).to_be_visible()
    expect(phone.locator(".pro-latest")).to_contain_text("Your latest total: 3 (Some symptoms)")
    expect(phone.locator("svg.pro-trend circle")).to_have_count(7)
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    shot(phone, "2-my-trend")

    phone.goto(base + "/c/pediatric-ibd/my-consent")
    phone.get_by_label("Count my answers in the network's quality-improvement measures", exact=False).check()
    phone.get_by_role("button", name="Save my choices").click()
    record = phone.locator("#record-heading + ul")
    expect(record).to_contain_text("granted")
    expect(record).to_contain_text('Your answers count in the measure "Mean IBD check-in score')  # where they go
    shot(phone, "3-consent")

    owner = new_page()
    log_in(owner, base, "dr_okafor")  # the community's owner: the trend page shows them their own, empty
    owner.goto(phone.url.replace("/c/pediatric-ibd/my-consent", "/questionnaires/1/mine"))
    expect(owner.locator("table.table-view tbody tr")).to_have_count(0)

    # The site's measure computed from the check-in: Riverside's values, Lakeside's four people hidden from all.
    owner.goto(base + "/c/pediatric-ibd/measures")
    owner.get_by_role("link", name="Mean IBD check-in score (lower is better)").click()
    owner.get_by_label("Site", exact=True).select_option(label="Riverside Children's Hospital")
    owner.get_by_role("button", name="Show").click()
    expect(owner.locator("svg circle.point").first).to_be_visible()
    expect(owner.get_by_text("Counts of 1 to 10 are hidden from everyone.")).to_be_visible()
    shot(owner, "4-pro-measure-at-riverside")
    lind = new_page()
    log_in(lind, base, "dr_lind")  # Lakeside's own clinician sees their site's cells masked too
    lind.goto(owner.url.split("?")[0] + "?site=lakeside-clinic")
    expect(lind.locator("svg .masked").first).to_be_visible()
    shot(lind, "5-lakeside-masked-for-its-own-clinician")

