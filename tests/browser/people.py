"""Logging in to the live server through its real form, as a person would."""

from lhn.demo import DEMO_PASSWORD


def log_in(page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in and wait for the signed-in page (its "Log out" button), so the next step sees the session."""
    page.goto(base + "/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()
