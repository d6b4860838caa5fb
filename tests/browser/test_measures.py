"""A clinician opens the demo measures dashboard, then Riverside's remission chart: a detected shift after the
adopted change, its annotation on the timeline, and the same on a phone."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.people import log_in

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_dashboard_and_a_chart_with_a_detected_shift_and_its_annotation(live_server, new_page, shot):
    page = new_page(width=1280, height=1000)
    log_in(page, live_server.url, "dr_okafor")
    page.goto(live_server.url + "/c/pediatric-ibd")
    page.get_by_role("navigation", name="Pediatric IBD Network").get_by_role("link", name="Measures").click()
    expect(page.get_by_role("heading", name="Outcome measures")).to_be_visible()
    cards = page.locator(".measure-card")
    assert cards.count() == 3  # remission, quality of life, and the mean check-in score computed from answers
    remission = cards.filter(has_text="Clinical remission")
    expect(remission.locator("svg.sparkline")).to_be_visible()
    assert "Signal:" in remission.inner_text()
    shot(page, "1-dashboard")

    remission.get_by_role("link", name="Clinical remission").click()
    page.get_by_label("Site", exact=True).select_option("riverside-childrens")
    page.get_by_role("button", name="Show").click()
    assert "site=riverside-childrens" in page.url
    assert (
        "p chart, Shewhart 3σ + Anhøj" in page.locator(".chart-card figcaption").inner_text()
    )  # the site's own default
    chart = page.locator("svg.spc-chart").first
    expect(chart).to_be_visible()
    signal_points = chart.locator("circle.point.signal")
    assert signal_points.count() >= 6
    title = signal_points.last.locator("title").text_content()
    assert re.search(r"signal: .*(Unusually long run|Outside the 3-sigma)", title)
    signals = page.locator(".signal-list")  # plain words first, whether it is better, the technical term a click away
    assert re.search(r"Improved: a long run of values on one side of the usual level: \w+ \d{4} – \w+ \d{4}",
                     signals.inner_text())  # fmt: skip
    term = signals.locator("li", has_text="a long run of values").locator(".signal-term")
    expect(term.locator(".term")).to_be_hidden()
    term.get_by_text("Technical term").click()
    expect(term.locator(".term")).to_have_text("Unusually long run on one side of the centre line (Anhøj)")
    annotations = page.locator(".annotation-list")
    assert "Pre-visit planning huddle with text reminders (adopted)" in annotations.inner_text()
    # Riverside's two measures demo cycles and the nurse-line cycle the programme demo runs there
    assert chart.locator("g.annotation-pdsa").count() == 3
    shot(page, "2-riverside-shift")

    page.get_by_text("Table view of the same data").click()
    assert page.locator(".table-view tbody tr.row-signal").count() >= 6
    shot(page, "3-table-view")

    phone = new_page(width=390, height=844)
    log_in(phone, live_server.url, "dr_okafor")
    phone.goto(page.url)
    expect(phone.locator("svg.spc-chart").first).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    shot(phone, "4-chart-phone")
    phone.goto(page.url.split("?")[0])  # every site: the funnel and its table of sites compared
    expect(phone.get_by_role("heading", name="Sites compared")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # the gap below the header (a .wrap rule once zeroed main's padding on every page)
    assert phone.evaluate("parseFloat(getComputedStyle(document.querySelector('main')).paddingTop)") > 0
    shot(phone, "5-sites-compared-phone")
