"""Logging in to the live server through its real form, as a person would."""

from lhn.demo import DEMO_PASSWORD


def log_in(page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in and wait for the signed-in page (its "Log out" button), so the next step sees the session."""
    page.goto(base + "/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()


NEW_PASSWORD = "a long walk by the river"  # a test account's


def register(page, base: str, username: str, role: str, password: str = NEW_PASSWORD) -> None:
    """Create an account through the registration form (display name = username) and wait until signed in."""
    page.goto(base + "/register")
    page.get_by_label("Email").fill(f"{username}@example.org")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Display name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_label("I am a").select_option(role)
    page.get_by_role("button", name="Create my account").click()
    page.get_by_role("button", name="Log out").wait_for()
