"""Through the real pages: a measure's owner appoints a new site's data lead, who records the site's consent; the
owner sees the site hasn't sent last month's data and reminds it; the lead reads the reminder, which holds no value."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.people import log_in

pytestmark = [pytest.mark.browser, pytest.mark.live]

MEASURE = "Quality of life (IMPACT-III)"  # owned by dr_okafor in the demo; every IBD site sent every month
SITE = "Nordic Institute for Health Research"  # prof_chen's, a member of Pediatric IBD: not taking part yet


def data_card(page):
    return page.locator("section", has=page.get_by_role("heading", name=re.compile(r"^Data for ")))


def test_an_owner_reminds_a_site_that_has_not_sent_last_month(live_server, new_page, shot):
    owner = new_page()
    log_in(owner, live_server.url, "dr_okafor")
    owner.goto(live_server.url + "/c/pediatric-ibd/measures")
    owner.get_by_role("link", name=MEASURE).first.click()
    measure_url = re.sub(r"\?.*", "", owner.url)
    owner.goto(measure_url + "/owners")
    assert data_card(owner).get_by_text("Not yet sent").count() == 0  # all sent: no button either
    assert data_card(owner).get_by_role("button", name="Remind sites that haven't submitted").count() == 0
    appoint = owner.locator("form", has=owner.get_by_role("button", name="Appoint a site data lead"))
    appoint.get_by_label("Username").fill("prof_chen")
    appoint.get_by_label("Site").select_option(label=SITE)
    appoint.get_by_role("button", name="Appoint a site data lead").click()
    expect(owner.get_by_text(f"data lead for {SITE}", exact=True)).to_be_visible()

    lead = new_page()
    log_in(lead, live_server.url, "prof_chen")
    lead.goto(measure_url + "/data/new")
    box = lead.locator(".consent", has=lead.get_by_role("heading", name=SITE))
    box.get_by_label("We agree to the statement above").check()
    box.get_by_role("button", name="Record consent").click()
    expect(lead.get_by_text(f"Consent recorded for {SITE}.")).to_be_visible()

    owner.goto(measure_url + "/owners")
    row = data_card(owner).locator("tr", has_text=SITE)
    expect(row.get_by_text("Not yet sent")).to_be_visible()
    data_card(owner).scroll_into_view_if_needed()
    shot(owner, "1-who-has-sent")
    data_card(owner).get_by_role("button", name="Remind sites that haven't submitted").click()
    expect(owner.get_by_text(f"Reminded {SITE}.")).to_be_visible()
    data_card(owner).get_by_role("button", name="Remind sites that haven't submitted").click()
    expect(owner.get_by_text("already reminded today")).to_be_visible()  # once a day per site

    lead.goto(live_server.url + "/notifications")
    notice = lead.get_by_role("link", name=re.compile(f"Reminder: {SITE} has not sent its"))
    assert notice.count() == 1
    text = notice.inner_text()
    assert f"data for the measure “{MEASURE}” in Pediatric IBD Network yet." in text
    assert not re.search(r"\d", text.replace("III", "").split(" 20")[0])  # no value before the period's year
    shot(lead, "2-lead-reminded")
    notice.click()
    assert lead.url.endswith(measure_url.removeprefix(live_server.url) + "/data/new")
