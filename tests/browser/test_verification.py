"""A clinician's verification through the real pages: request, a site admin's approval beside the evidence, and
revocation with a reason, which drops the badge at once on a page another member has open."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.people import log_in, register

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_request_approve_and_revoke_a_clinicians_verification(live_server, new_page, shot):
    base, username = live_server.url, "dr_" + uuid.uuid4().hex[:6]
    doctor = new_page()
    register(doctor, base, username, "clinician")
    doctor.goto(base + "/settings/verification")
    doctor.get_by_label("Licence or registration number").fill("GMC-7654321")
    doctor.get_by_label("Issuing body").fill("General Medical Council")
    doctor.get_by_label("ORCID iD").fill("0000-0002-1825-0097")
    doctor.get_by_role("button", name="Submit for review").click()
    expect(doctor.get_by_text("A reviewer will check your evidence")).to_be_visible()
    shot(doctor, "1-requested")

    moderator = new_page()  # a caregiver moderator in the demo: sees that requests wait, never decides
    log_in(moderator, base, "sam_mod")
    moderator.goto(base + "/verification")
    assert moderator.get_by_role("button", name="Approve").count() == 0
    assert moderator.get_by_text("GMC-7654321").count() == 0
    shot(moderator, "2-moderator-sees-waiting")

    admin = new_page()
    log_in(admin, base, "admin")
    admin.goto(base + "/verification")
    card = admin.locator("article.request", has=admin.locator(f'a[href="/u/{username}"]'))
    assert "GMC-7654321" in card.inner_text()
    assert "General Medical Council" in card.inner_text()
    assert card.get_by_role("link", name="0000-0002-1825-0097").get_attribute("href") == \
        "https://orcid.org/0000-0002-1825-0097"
    shot(admin, "3-evidence-beside-the-buttons")
    card.get_by_label("Verified until").fill("2030-06-30")
    card.get_by_role("button", name=f"Approve {username}").click()
    expect(admin.get_by_text(f"Verification for {username} approved.")).to_be_visible()

    reader = new_page()  # someone reading the doctor's profile while staff revoke
    log_in(reader, base, "ibd_teen")
    reader.goto(base + f"/u/{username}")
    badge = reader.locator(".profile-badge .badge-verified")
    assert badge.inner_text() == "✓ Verified"
    reader.wait_for_function("() => window.LHN && window.LHN.state === 'connected'")

    admin.goto(base + f"/u/{username}")
    admin.get_by_role("button", name="Revoke verification").click()
    expect(admin.get_by_text("Say why")).to_be_visible()  # no reason: the page stays, with the message
    admin.get_by_label("Reason").fill("The GMC register lists this licence as suspended.")
    admin.get_by_role("button", name="Revoke verification").click()
    expect(admin.get_by_text(f"Verification of {username} revoked.")).to_be_visible()
    expect(admin.get_by_text("The GMC register lists this licence as suspended.")).to_be_visible()
    shot(admin, "4-revoked-history")

    reader.locator(".profile-badge .badge-claimed").wait_for(timeout=5000)  # live, without a reload
    assert reader.locator(".profile-badge .badge-verified").count() == 0
    assert "has just ended" in reader.locator(".verification-status").inner_text()
    shot(reader, "5-badge-dropped-live")

    doctor.goto(base + "/notifications")
    expect(doctor.get_by_text("verification was revoked")).to_be_visible()
