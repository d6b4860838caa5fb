"""Forgot password, as a person does it: the link from the email, a new password, the old session on another
device logged out, and in again with the new password."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.people import NEW_PASSWORD, log_in, open_mail, register

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_forgot_password_mail_new_password_logs_out_elsewhere(live_server, new_page, shot):
    base = live_server.url
    username = "reset_" + uuid.uuid4().hex[:6]
    email = f"{username}@example.org"
    laptop = new_page()
    register(laptop, base, username, "patient")  # logged in on the laptop
    expect(laptop.get_by_text("Please confirm your email address")).to_be_visible()
    shot(laptop, "0-confirm-banner", full_page=False)

    phone = new_page(width=390, height=844)
    phone.goto(base + "/login")
    phone.get_by_role("link", name="Forgot password?").click()
    phone.get_by_label("Your account's email address").fill(email)
    shot(phone, "1-forgot")
    phone.get_by_role("button", name="Send me a reset link").click()
    expect(phone.get_by_text("If an account uses that address, we sent it a link")).to_be_visible()
    shot(phone, "2-sent")

    open_mail(phone, base, email, "Reset your LHN password")
    expect(phone.get_by_text("Why you got this")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # the long link wraps
    shot(phone, "3-mail")
    phone.locator("pre.mail-text a", has_text="/password/reset/").click()
    phone.get_by_label("New password").fill("password123")
    phone.get_by_role("button", name="Set my new password").click()
    expect(phone.get_by_text("too common")).to_be_visible()
    phone.get_by_label("New password").fill("a new walk by the sea")
    shot(phone, "4-new-password")
    phone.get_by_role("button", name="Set my new password").click()
    expect(phone.get_by_text("Your password is changed and every session was logged out.")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    shot(phone, "5-changed")

    laptop.reload()
    expect(laptop.get_by_role("navigation", name="Main").get_by_role("link", name="Log in")).to_be_visible()  # ended
    assert laptop.get_by_role("button", name="Log out").count() == 0
    shot(laptop, "6-laptop-logged-out")

    laptop.goto(base + "/login")
    laptop.get_by_label("Username or email").fill(username)
    laptop.get_by_label("Password", exact=True).fill(NEW_PASSWORD)  # the old password no longer works
    laptop.get_by_role("button", name="Log in").click()
    expect(laptop.get_by_text("Invalid username/email or password.")).to_be_visible()
    log_in(laptop, base, email, "a new walk by the sea")
    expect(laptop.get_by_text("Welcome back")).to_be_visible()
    assert laptop.get_by_text("Please confirm your email address").count() == 0  # the reset link confirmed it
    shot(laptop, "7-logged-in")
