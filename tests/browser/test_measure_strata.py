"""A clinician opens the demo quality-of-life measure by age band: one line per band, the gap between them, the
month a small band hides, and a table of the same data."""

import pytest
from playwright.sync_api import expect

from tests.browser.people import log_in

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_the_strata_page_shows_the_bands_the_gap_and_a_hidden_month(live_server, new_page, shot):
    page = new_page(width=1280, height=1000)
    log_in(page, live_server.url, "dr_okafor")
    page.goto(live_server.url + "/c/pediatric-ibd/measures")
    page.get_by_role("link", name="Quality of life (IMPACT-III)").first.click()
    page.get_by_role("link", name="By age band").click()
    expect(page.get_by_role("heading", name="Quality of life (IMPACT-III) by age band")).to_be_visible()
    chart = page.locator("svg.strata-chart")
    expect(chart).to_be_visible()
    assert chart.locator("g.series").count() == 4  # 0-11, 12-17, 18+ and Not recorded
    assert chart.locator("rect.masked").count() >= 1  # Lakeside's small band hides its month
    expect(page.locator("svg.gap-chart")).to_be_visible()
    table = page.locator(".table-view table")
    assert "hidden" in table.inner_text()
    shot(page, "1-strata")

    phone = new_page(width=390, height=844)
    log_in(phone, live_server.url, "dr_okafor")
    phone.goto(page.url)
    expect(phone.locator("svg.strata-chart")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    shot(phone, "2-strata-phone")
