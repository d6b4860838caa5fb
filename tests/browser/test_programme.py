"""The improvement programme, clicked through as its people do (issue 14): the QI lead builds a driver diagram and
links an idea; Northgate starts a PDSA cycle on it and the change turns "testing"; a learning session is announced;
Riverside and Northgate bring storyboards with live charts; Northgate adopts the change, proposes it, and the lead
accepts it into the change package with its evidence."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from lhn.database import utcnow
from tests.browser.people import log_in

pytestmark = [pytest.mark.browser, pytest.mark.live]

IDEA = "A transition checklist for 16-year-olds moving to adult care"
CHANGE = "Checklist at every visit from 15"


def _storyboard(page, base, session_url, who, aim):
    log_in(page, base, who)
    page.goto(session_url)
    page.get_by_role("link", name="storyboard", exact=False).last.click()
    page.get_by_label("Your site's aim").fill(aim)
    page.get_by_label("Charts to show (up to 4)").select_option(label="Clinical remission")
    page.get_by_label("Changes you tested (Markdown)").fill("- The **transition checklist** at every visit")
    page.get_by_label("What you learned (Markdown)").fill("Teenagers fill it in themselves when it is on paper.")
    page.get_by_role("button", name="Save the storyboard").click()
    expect(page.get_by_role("heading", name="Changes we tested")).to_be_visible()
    expect(page.locator("svg.spc-chart")).to_be_visible()  # the site's live chart


def test_a_qi_lead_runs_the_programme_from_diagram_to_change_package(live_server, new_page, shot):
    base = live_server.url
    lead = new_page(width=1280, height=1000)
    log_in(lead, base, "dr_okafor")  # the community's owner: its QI lead

    # 1. A driver diagram: aim, a primary and a secondary driver, a change idea linked to the community's idea.
    lead.goto(base + "/c/pediatric-ibd/drivers")
    lead.get_by_role("link", name="Start a driver diagram").click()
    lead.get_by_label("Title", exact=True).fill("Ready for adult care")
    lead.get_by_label("Aim", exact=True).fill("Every 17-year-old ready to move to adult care by June 2028")
    lead.get_by_role("button", name="Start the diagram").click()
    lead.get_by_label("Name", exact=True).fill("Teenagers manage their own care")
    lead.get_by_role("button", name="Add").click()
    place = lead.get_by_label("Add", exact=True)
    place.select_option(label="A secondary driver under “Teenagers manage their own care”")
    lead.get_by_label("Name", exact=True).fill("Skills checked before the move")
    lead.get_by_role("button", name="Add").click()
    place.select_option(label="A change idea under “Skills checked before the move”")
    lead.get_by_label("Name", exact=True).fill(CHANGE)
    lead.get_by_label("The community's idea it is (change ideas)").select_option(label=IDEA)
    lead.get_by_role("button", name="Add").click()
    change = lead.locator(".dd-tree li.dd-change", has_text=CHANGE)
    expect(change.locator(".dd-badge")).to_have_text("Untested")
    diagram_url = lead.url.split("#")[0]  # the page itself: going to its own #node anchor would not reload it
    shot(lead, "1-diagram-untested")

    # 2. Northgate's data lead starts a PDSA cycle testing the idea: the change turns "testing".
    site = new_page(width=1280, height=1000)
    log_in(site, base, "nurse_priya")
    site.goto(base + "/c/pediatric-ibd/measures")
    site.get_by_role("link", name="Clinical remission").first.click()
    measure_url = site.url.split("?")[0]
    site.goto(measure_url + "/pdsa/new")
    site.get_by_label("Site", exact=True).select_option("northgate-university-hospital")
    site.get_by_label("Started on").fill((utcnow() - timedelta(days=60)).date().isoformat())
    site.get_by_label("Change being tested").fill("Transition checklist in Monday clinic")
    site.get_by_label("Idea it tests (optional)").select_option(label=IDEA)
    site.get_by_label("Prediction: what do you expect to happen?").fill("Most 16-year-olds complete it unaided")
    site.get_by_role("button", name="Start the cycle").click()
    cycle_url = site.url
    lead.goto(diagram_url)
    expect(change.locator(".dd-badge")).to_have_text("Testing")
    assert "Northgate University Hospital" in change.inner_text()
    shot(lead, "2-diagram-testing")

    # 3. A learning session, announced in London time.
    lead.goto(base + "/c/pediatric-ibd/sessions")
    lead.get_by_role("link", name="Announce a session").click()
    day = (utcnow() + timedelta(days=30)).date().isoformat()
    lead.get_by_label("Title", exact=True).fill("Summer learning session: transition")
    lead.get_by_label("Starts", exact=True).fill(f"{day}T15:00")
    lead.get_by_label("Ends", exact=True).fill(f"{day}T17:00")
    lead.get_by_label("Time zone").select_option("Europe/London")
    lead.get_by_label("Where, or the link to join").fill("https://meet.example.org/ibd-summer")
    lead.get_by_label("Places (optional)").fill("30")
    lead.get_by_label("Agenda (Markdown)").fill("1. Storyboards\n2. What we adopt next")
    lead.get_by_role("button", name="Announce").click()
    expect(lead.get_by_role("heading", name="Summer learning session: transition")).to_be_visible()
    session_url = lead.url
    lead.get_by_role("button", name="Register").click()
    expect(lead.get_by_text("You have a place.")).to_be_visible()
    shot(lead, "3-session")

    # 4. Two sites bring storyboards with their live charts.
    _storyboard(lead, base, session_url, "dr_okafor", "Every Riverside 17-year-old ready for adult care")
    shot(lead, "4-storyboard-riverside")
    _storyboard(site, base, session_url, "nurse_priya", "Northgate teenagers own the checklist by June")
    shot(site, "5-storyboard-northgate")
    lead.goto(session_url)
    boards = lead.locator("section", has=lead.get_by_role("heading", name="Storyboards"))
    assert "Riverside Children's Hospital" in boards.inner_text()
    assert "Northgate University Hospital" in boards.inner_text()

    # 5. Northgate adopts the change; the diagram says so; it is proposed and accepted into the change package.
    site.goto(cycle_url)
    site.get_by_label("Adopt — make it standard work").check()
    site.get_by_label("What did you learn? (Markdown)").fill("Standard work in every clinic from next month")
    site.get_by_label("Ended on").fill(utcnow().date().isoformat())
    site.get_by_role("button", name="Close the cycle").click()
    lead.goto(diagram_url)
    expect(change.locator(".dd-badge")).to_have_text("Adopted")
    site.goto(base + "/c/pediatric-ibd/change-package")
    site.get_by_role("link", name="Propose a change").click()
    site.get_by_label("The adopted idea").select_option(label=IDEA)
    site.get_by_label("How to make this change (Markdown)").fill(
        "Give the **checklist** at every visit from 15; the nurse goes through it with the teenager alone.")
    site.get_by_role("button", name="Propose").click()
    lead.goto(base + "/c/pediatric-ibd/change-package")
    proposal = lead.locator("article.package-entry", has_text=IDEA)
    proposal.get_by_role("button", name="Accept into the package").click()
    accepted = lead.locator("article.package-entry", has_text=IDEA)
    expect(accepted).to_contain_text("Adopted at: Northgate University Hospital")
    expect(accepted).to_contain_text("Accepted")
    expect(lead.get_by_text("Version 2", exact=False).first).to_be_visible()  # the demo's huddle made version 1
    shot(lead, "6-change-package")
    lead.goto(base + "/c/pediatric-ibd/change-package/print")
    expect(lead.get_by_role("heading", name=f"1. {IDEA}")).to_be_visible()
    shot(lead, "7-printable")
