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
    """Create an account through the registration form (display name = username), then log in with its password
    (registration itself logs no one in, so that it answers the same for a taken address; the account's address
    stays unconfirmed: tests/browser/test_onboarding.py follows the confirmation email instead)."""
    page.goto(base + "/register")
    page.get_by_label("Email").fill(f"{username}@example.org")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Display name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_label("I am a").select_option(role)
    page.get_by_role("button", name="Create my account").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    log_in(page, base, username, password)


def ask_question(page, base: str, title: str, details: str) -> str:
    """Ask a question in the demo's IBD community through its form, as the page's person; returns its URL."""
    page.goto(base + "/c/pediatric-ibd/posts")
    page.get_by_role("link", name="Ask a question").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Details").fill(details)
    page.get_by_role("button", name="Post question").click()
    page.get_by_role("heading", name=title).wait_for()
    return page.url


def open_mail(page, base: str, to: str, subject: str) -> None:
    """Open the newest email to `to` with `subject` in the development mailbox (/dev/mail), waiting for the
    server's mail worker to write it (it is woken by the commit that queued it)."""
    letter = page.locator("li", has_text=f"to {to},").get_by_role("link", name=subject).first
    for _ in range(50):
        page.goto(base + "/dev/mail")
        if letter.count():
            break
        page.wait_for_timeout(200)  # the worker writes the file right after the request's commit
    letter.click()
    page.get_by_role("heading", name=subject).wait_for()
