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
    expect(phone.locator("#record-heading + ul")).to_contain_text("granted")
    shot(phone, "3-consent")

    owner = new_page()
    log_in(owner, base, "dr_okafor")  # the community's owner: the trend page shows them their own, empty
    owner.goto(phone.url.replace("/c/pediatric-ibd/my-consent", "/questionnaires/1/mine"))
    expect(owner.locator("table.table-view tbody tr")).to_have_count(0)
