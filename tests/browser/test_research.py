"""The walk-through of issue 15's study matching: a researcher posts a study; a matching patient sees it among the
studies they may fit and says "contact me", sharing their age band; the researcher sees that one contact, with
just that, and nothing about anyone else (the count of who may match is below 11, so it isn't shown)."""

import pytest
from playwright.sync_api import expect

from tests.browser.people import log_in

pytestmark = [pytest.mark.browser, pytest.mark.live]

TITLE = "School days and fatigue in teenagers with IBD"


def test_a_researcher_posts_a_study_a_patient_who_fits_asks_to_be_contacted_and_the_researcher_sees_one(
        live_server, new_page, shot):  # fmt: skip
    base = live_server.url
    lead = new_page()
    log_in(lead, base, "dr_okafor")  # a verified clinician, member (and owner) of Pediatric IBD
    lead.goto(base + "/c/pediatric-ibd/studies")
    lead.get_by_role("link", name="Post a study").click()
    lead.get_by_label("Title").fill(TITLE)
    lead.get_by_label("Condition studied").fill("Inflammatory bowel disease")
    lead.get_by_label("Riverside Children's Hospital").first.check()
    lead.get_by_label("How many people you aim to recruit").fill("60")
    lead.get_by_label("Ethics approval reference").fill("IRB 2026-0512")
    lead.get_by_label("Youngest age").fill("11")
    lead.get_by_label("Oldest age").fill("18")
    lead.get_by_label("Countries (any of", exact=False).fill("United States; Canada")
    lead.get_by_label("Patients").check()
    lead.get_by_label("Other eligibility (Markdown)").fill("Attends school or college **in person**.")
    shot(lead, "1-posting")
    lead.get_by_role("button", name="Post the study").click()
    expect(lead.get_by_text("Study posted.", exact=False)).to_be_visible()
    study_url = lead.url

    teen = new_page(width=390, height=844)
    log_in(teen, base, "ibd_teen")  # opted in to being asked about studies; a research profile that fits
    teen.goto(base + "/c/pediatric-ibd/studies")
    expect(teen.locator(".research-matches")).to_contain_text(TITLE)
    shot(teen, "2-studies-you-may-fit")
    teen.get_by_role("link", name="Change my research profile").click()  # theirs alone: the demo filled it in
    expect(teen.get_by_label("My age band")).to_have_value("12-17")
    expect(teen.get_by_label("IBD check-in", exact=False)).to_be_checked()
    shot(teen, "2b-my-research-profile")
    teen.go_back()
    teen.locator(".research-matches").get_by_role("link", name=TITLE).click()
    teen.get_by_label("My age band").check()
    teen.get_by_label("A message to the study team (optional)").fill("After school is best for me.")
    shot(teen, "3-contact-me")
    teen.get_by_role("button", name="Contact me").click()
    expect(teen.get_by_role("heading", name="You asked this study to contact you")).to_be_visible()
    assert teen.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling

    lead.goto(study_url)
    expect(lead.locator(".research-count")).to_contain_text("fewer than 11")
    contacts = lead.locator(".research-contacts > li")
    expect(contacts).to_have_count(1)
    expect(contacts.first).to_contain_text("Gutsy Teen")
    expect(contacts.first).to_contain_text("12-17")
    expect(contacts.first).to_contain_text("After school is best for me.")
    expect(contacts.first).not_to_contain_text("Crohn")  # the diagnosis wasn't ticked
    shot(lead, "4-one-contact")
