"""A patient asks; a clinician comments on the question to ask what they mean; the patient sees the comment under the
question, is told of it, and answers the comment."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.people import ask_question, log_in

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_a_clinician_asks_the_asker_to_clarify_under_the_question(live_server, new_page, shot):
    base = live_server.url
    title = f"Is it normal to feel this tired? ({uuid.uuid4().hex[:6]})"

    patient = new_page()
    log_in(patient, base, "ibd_teen")
    question_url = ask_question(patient, base, title, "Since the new medicine I sleep after school every day.")
    expect(patient.get_by_role("heading", name=title)).to_be_visible()

    clinician = new_page()
    log_in(clinician, base, "dr_lind")
    clinician.goto(question_url)
    question = clinician.locator("article.post-page")
    question.get_by_text("Add a comment").click()
    question.get_by_role("textbox", name="Comment").fill("Which medicine did you **start**, and when?")
    shot(clinician, "1-comment-form")
    question.get_by_role("button", name="Comment").click()
    comment = clinician.locator("article.post-page .comment", has_text="Which medicine did you")
    comment.wait_for()
    assert comment.locator("strong").inner_text() == "start"  # Markdown, rendered by lhn/markup.py

    patient.goto(base + "/notifications")
    notice = patient.get_by_role("link", name=f"commented on your question “{title}”")
    notice.first.click()
    patient.locator("article.post-page .comment", has_text="Which medicine did you").wait_for()
    patient.locator("article.post-page").get_by_text("Add a comment").click()
    patient.locator("article.post-page").get_by_role("textbox", name="Comment").fill("Azathioprine, in March.")
    patient.locator("article.post-page").get_by_role("button", name="Comment").click()
    patient.locator("article.post-page .comment", has_text="Azathioprine, in March.").wait_for()
    assert patient.locator("article.post-page .comment").count() == 2
    patient.locator("article.post-page").scroll_into_view_if_needed()
    shot(patient, "2-comments-under-the-question")
