"""A first-time visitor registers as a patient, confirms their address from the email, joins a community and sees
their badge in the member list."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.people import open_mail

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_register_join_and_see_my_badge(live_server, new_page, shot):
    page = new_page()
    username = "river_" + uuid.uuid4().hex[:6]
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Learn together. Own the outcome together.")).to_be_visible()
    shot(page, "1-home")

    page.get_by_role("link", name="Join LHN").first.click()
    page.get_by_label("Email").fill(f"{username}@example.org")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Display name").fill("River Walker")
    expect(page.locator("#real-name-hint")).to_be_visible()  # the live warning about a real-looking name
    page.get_by_label("Password").fill("short")
    page.get_by_label("I am a").select_option("patient")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_text("Use at least 8 characters.")).to_be_visible()
    expect(page.get_by_text("This looks like a full real name.").first).to_be_visible()
    shot(page, "2-register-errors")

    page.get_by_label("Display name").fill("river_walker")
    page.get_by_label("Password").fill("a long walk by the river")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    shot(page, "3-check-email")
    open_mail(page, live_server.url, f"{username}@example.org", "Confirm your email address for LHN")
    page.locator("pre.mail-text a", has_text="/email/confirm/").click()
    page.get_by_role("button", name="Confirm my address").click()
    expect(page.get_by_text("Welcome, river_walker!")).to_be_visible()

    page.get_by_role("link", name="Pediatric IBD Network").click()
    page.get_by_label("I have read and accept the community guidelines").check()
    shot(page, "4-community")
    page.get_by_role("button", name="Join community").click()
    expect(page.get_by_text("Welcome to Pediatric IBD Network!")).to_be_visible()

    page.get_by_role("navigation", name="Pediatric IBD Network").get_by_role("link", name="Members").click()
    row = page.locator(".member-list li", has=page.locator(f'a[href="/u/{username}"]'))
    assert row.locator(".badge-patient").inner_text() == "Patient"
    verified = page.locator(".member-list li", has=page.locator('a[href="/u/dr_okafor"]'))
    assert "Verified" in verified.locator(".badge-verified").inner_text()
    shot(page, "5-members")

    phone = new_page(width=390, height=844)
    phone.goto(live_server.url + "/c/pediatric-ibd/members")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    shot(phone, "6-members-phone")
