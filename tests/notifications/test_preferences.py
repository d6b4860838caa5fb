"""Preferences: categories and role defaults, email at once (titles and links only), quiet hours, one-click
unsubscribe."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.errors import ValidationFailed
from lhn.extensions import db
from lhn.mail.models import OutboxMessage
from lhn.notifications import mydata
from lhn.notifications import services as notifications
from lhn.notifications.services.preferences import send_time
from tests import factories
from tests.conftest import committed, login
from tests.forms import submit


def outbox_for(user):
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == user.email)).all()


def test_every_known_kind_has_a_category_and_unknown_kinds_are_reminders():
    assert set(notifications.KIND_CATEGORY.values()) <= set(notifications.CATEGORY_KEYS)
    assert notifications.category_of("answer") == "replies"
    assert notifications.category_of("submission_due") == "reminders"


def test_defaults_by_role(ctx):
    patient, clinician = factories.user("patient"), factories.user("clinician")
    assert notifications.get_preferences(patient).deliveries["following"] == "weekly"
    assert notifications.get_preferences(factories.user("caregiver")).deliveries["replies"] == "weekly"
    assert notifications.get_preferences(clinician).deliveries["following"] == "daily"
    assert notifications.get_preferences(factories.user("researcher")).deliveries["mentions"] == "daily"
    assert notifications.get_preferences(patient).deliveries["account"] == "email"


def test_email_at_once_has_the_title_and_link_and_nothing_of_the_body(ctx):
    community = factories.community()
    asker = factories.member(community).user
    notifications.update_preferences(asker, deliveries={"replies": "email"})
    post = factories.question(community, asker, title="School trips and flares")
    factories.answer(post, body="Pack SECRET-BODY-TEXT and call the nurse.")
    [mail] = outbox_for(asker)
    assert "School trips and flares" in mail.subject
    assert "/notifications/" in mail.text_body
    assert "SECRET-BODY-TEXT" not in mail.text_body + (mail.html_body or "")
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.headers["List-Unsubscribe"].startswith("<http")
    assert "/unsubscribe/" in mail.headers["List-Unsubscribe"]
    assert "because your LHN setting" in mail.text_body


def test_a_moderators_reason_never_goes_in_an_email(ctx):
    user = factories.user()
    notifications.notify(user, kind="sanction", text="A moderator sent you a warning: you posted a phone number",
                         url="/settings/standing")  # fmt: skip
    [mail] = outbox_for(user)  # moderation and account: email at once by default
    assert "phone number" not in mail.subject + mail.text_body + (mail.html_body or "")


def test_reminders_are_their_own_category_and_email_their_text(ctx):
    user = factories.user()
    notifications.update_preferences(user, deliveries={"reminders": "email"})
    notifications.notify(user, kind="reminder_submission_due", text="Riverside has not submitted for November.",
                         url="/measures/1")  # fmt: skip
    [mail] = outbox_for(user)
    assert mail.subject == "Riverside has not submitted for November."
    assert notifications.category_of("reminder_submission_due") == "reminders"


def test_never_means_no_notice_and_site_means_no_email(ctx):
    user = factories.user()
    notifications.update_preferences(user, deliveries={"mentions": "never", "replies": "site"})
    assert notifications.notify(user, kind="mention", text="m", url="/") is None
    assert notifications.notify(user, kind="answer", text="a", url="/") is not None
    assert outbox_for(user) == []


def test_quiet_hours_hold_an_email_until_they_end_in_the_persons_time_zone(ctx):
    user = factories.user()
    prefs = notifications.update_preferences(user, time_zone="America/New_York", quiet_start=22, quiet_end=7,
                                             deliveries={"replies": "email"})  # fmt: skip
    late = datetime(2026, 12, 5, 4, 30, tzinfo=UTC)  # 23:30 in New York
    assert send_time(prefs, late) == datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # 07:00 in New York
    day = datetime(2026, 12, 5, 17, 0, tzinfo=UTC)  # noon in New York
    assert send_time(prefs, day) == day
    early = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)  # 05:00 in New York: the same morning
    assert send_time(prefs, early) == datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_bad_preferences_are_refused_by_field(ctx):
    user = factories.user()
    with pytest.raises(ValidationFailed) as refused:
        notifications.update_preferences(user, deliveries={"replies": "pigeon", "gossip": "email"},
                                         time_zone="Mars/Olympus", quiet_start=3, quiet_end=3)  # fmt: skip
    assert set(refused.value.errors) == {"replies", "gossip", "time_zone", "quiet_start"}


def test_settings_page_saves_what_the_form_sent(app, client):
    with committed(app):
        factories.user("clinician", username="doc")
    login(client, "doc")
    page = client.get("/settings/notifications").text
    assert '<option selected value="daily">' in page
    done = submit(client, "/settings/notifications", "Save settings", replies="email", following="weekly",
                  time_zone="Europe/London", quiet_start="22", quiet_end="7")  # fmt: skip
    assert done.status_code == 302
    with app.app_context():
        prefs = notifications.get_preferences(accounts.get_user("doc"))
    assert prefs.deliveries["replies"] == "email"
    assert prefs.deliveries["following"] == "weekly"
    assert (prefs.time_zone, prefs.quiet_start, prefs.quiet_end) == ("Europe/London", 22, 7)
    again = submit(client, "/settings/notifications", "Save settings", quiet_start="", quiet_end="")
    assert again.status_code == 302
    with app.app_context():
        assert notifications.get_preferences(accounts.get_user("doc")).quiet_start is None


def test_settings_page_shows_a_refusal_on_its_field(app, client):
    with committed(app):
        factories.user(username="pat")
    login(client, "pat")
    shown = submit(client, "/settings/notifications", "Save settings", quiet_start="22", quiet_end="")
    assert shown.status_code == 422
    assert "Quiet hours need a start and a different end" in shown.text


def test_preferences_over_the_api(app, client):
    with committed(app):
        factories.user(username="pat")
    login(client, "pat")
    assert client.get("/api/v1/notifications/preferences").json["deliveries"]["replies"] == "weekly"
    changed = client.patch("/api/v1/notifications/preferences",
                           json={"deliveries": {"replies": "daily"}, "time_zone": "Asia/Tokyo"})  # fmt: skip
    assert changed.status_code == 200, changed.json
    assert changed.json["deliveries"]["replies"] == "daily"
    assert changed.json["time_zone"] == "Asia/Tokyo"
    refused = client.patch("/api/v1/notifications/preferences", json={"quiet_start": 25, "quiet_end": 3})
    assert refused.status_code == 422


def test_one_click_unsubscribe_needs_no_login_and_is_honoured_at_once(app, client):
    with committed(app):
        user = factories.user(username="pat")
        notifications.update_preferences(user, deliveries={"replies": "email"})
        token = notifications.unsubscribe_token(user, "replies")
    confirm = client.get(f"/unsubscribe/{token}")
    assert confirm.status_code == 200
    assert "Replies to me" in confirm.text
    # RFC 8058: the mail client POSTs this body, with no cookie and no CSRF token.
    done = client.post(f"/unsubscribe/{token}", data="List-Unsubscribe=One-Click",
                       content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert done.status_code == 200
    with app.app_context():
        assert notifications.get_preferences(accounts.get_user("pat")).deliveries["replies"] == "site"
    assert client.get("/unsubscribe/not-a-token").status_code == 404


def test_unsubscribe_confirmation_form_works_in_a_browser(app, client):
    with committed(app):
        user = factories.user("clinician", username="doc")
        token = notifications.unsubscribe_token(user, "following")
    done = submit(client, f"/unsubscribe/{token}", "Unsubscribe")
    assert done.status_code == 200
    assert "You are unsubscribed" in done.text
    with app.app_context():
        assert notifications.get_preferences(accounts.get_user("doc")).deliveries["following"] == "site"


def test_my_data_export_holds_my_follows_and_settings(ctx):
    community = factories.community()
    reader = factories.member(community).user
    post = factories.question(community, reader)
    notifications.update_preferences(reader, time_zone="Europe/Paris")
    data = mydata.export_notifications(reader)
    assert [(f["target_type"], f["target_id"]) for f in data["follows"]] == [("post", post.id)]
    assert data["notification_settings"]["time_zone"] == "Europe/Paris"


def test_one_click_unsubscribe_is_rate_limited_per_client_address(app, client):
    with committed(app):
        token = notifications.unsubscribe_token(factories.user(username="pat"), "replies")
    form = "application/x-www-form-urlencoded"
    statuses = [client.post(f"/unsubscribe/{token}", data="List-Unsubscribe=One-Click", content_type=form).status_code
                for _ in range(31)]  # fmt: skip
    assert statuses[:30] == [200] * 30
    assert statuses[30] == 429
