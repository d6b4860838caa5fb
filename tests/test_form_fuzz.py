"""Every form a person can reach in the demo, sent with each field made bad (as pasted text or a tampered page
would send it): the answer is never a 5xx, and a page that shows the form again with its errors says so with a
422, not a 200. The forms are found by crawling the demo as people who see most of them, so a form added
tomorrow is sent too. On PostgreSQL (CI's second run) this is what found a NUL reaching a lookup."""

from __future__ import annotations

import re
from collections import Counter, deque
from urllib.parse import urljoin, urlsplit

import pytest
from flask.testing import FlaskClient

from lhn import demo
from lhn.database import transaction
from tests.conftest import login
from tests.forms import PageForm, form_data, page_forms, send

PASSWORD = "lhn-demo-2026"  # the demo people's (lhn/demo.py)
# What a person can paste, and what a tampered page can send instead of a hidden value or a choice. "²" is a digit
# to str.isdigit() but int() raises on it.
BAD = ["", "A" * 30_000, "-1", "2147483648", "9" * 25, "abc", "²", "Lake\x00side", "Off \u202etopic"]
LEAVE_ALONE = re.compile(r"/logout|/static/|/api/|/me/delete|/delete-account|/socket")
SHOWN_WITH_ERRORS = ("field-invalid", 'class="form-errors"')


def _reachable_forms(client: FlaskClient, *, pages: int = 160) -> list[tuple[str, PageForm]]:
    """(action, form) for each POST form on the pages a crawl from "/" reaches: one page of each address shape."""
    queue, seen, shapes, found, keys = deque(["/"]), {"/"}, set(), [], set()
    while queue and len(shapes) < pages:
        path = queue.popleft()
        shape = re.sub(r"\d+", "N", urlsplit(path).path)
        if shape in shapes:
            continue
        shapes.add(shape)
        page = client.get(path)
        if page.status_code != 200 or "html" not in (page.content_type or ""):
            continue
        for form in page_forms(page.text):
            action = urljoin(path, form.action) if form.action else path
            key = (form.source, re.sub(r"\d+", "N", urlsplit(action).path))
            if form.method == "post" and form.buttons and key not in keys and not LEAVE_ALONE.search(action):
                keys.add(key)
                found.append((action, form))
        for href in re.findall(r'href="(/[^"#]*)', page.text):
            link = href.replace("&amp;", "&")
            if link not in seen and not LEAVE_ALONE.search(link):
                seen.add(link)
                queue.append(link)
    return found


@pytest.mark.parametrize("username", ["admin", "dr_okafor"])  # the site admin; a clinician who leads a site
def test_no_form_answers_bad_input_with_a_server_error_or_hides_its_refusal_behind_a_200(make_app, username):
    app = make_app(RATELIMIT_ENABLED=False)
    with app.app_context():
        for _name, step in demo.STEPS:
            with transaction():
                step()
    client = app.test_client()
    login(client, username, PASSWORD)
    forms = _reachable_forms(client)
    assert len(forms) > 60, len(forms)  # the crawl reached the pages (the demo has about 120 forms)
    faults, sent = [], Counter()
    for action, form in forms:
        base = form_data(form, form.buttons[0], {})
        names = dict.fromkeys(name for name, value in base if name != "csrf_token" and isinstance(value, str))
        for name in names:
            variants = [[(k, bad if k == name else v) for k, v in base] for bad in BAD]
            variants.append([(k, v) for k, v in base if k != name])  # left out
            for entries in variants:
                answer = send(client, action, form, entries)
                sent[answer.status_code] += 1
                showed_errors = answer.status_code == 200 and any(mark in answer.text for mark in SHOWN_WITH_ERRORS)
                if answer.status_code >= 500 or showed_errors:
                    faults.append((answer.status_code, form.source, action, name, dict(entries).get(name, "")[:20]))
        if client.get("/settings/profile").status_code != 200:  # a form signed this person out: in again
            login(client, username, PASSWORD)
    assert sum(sent.values()) > 1000, sent
    assert faults == [], faults
