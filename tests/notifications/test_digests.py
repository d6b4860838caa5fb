"""Digests: one email per person and period, titles and links only, idempotent, a preview, no N+1."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from lhn.extensions import db
from lhn.mail.models import OutboxMessage
from lhn.notifications import services as notifications
from lhn.notifications.models import Notification
from lhn.notifications.services.digests import NEW_QUESTIONS_SHOWN
from tests import factories
from tests.conftest import committed, login

NOON = datetime(2026, 12, 9, 12, 0, tzinfo=UTC)  # a Wednesday


def digests_to(user):
    return db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == user.email, OutboxMessage.kind.like("digest_%"))
    ).all()


def followed_answer(community, reader, *, title="How do you manage school trips with a flare?"):
    post = factories.question(community, title=title)
    notifications.follow(reader, "post", post.id)
    return factories.answer(post, body="Pack SECRET-BODY-TEXT and call the nurse.")


def test_a_daily_digest_lists_titles_and_links_once(ctx):
    community = factories.community()
    doc = factories.member(community, factories.user("clinician")).user
    followed_answer(community, doc)
    [item] = notifications.preview(doc)["daily"]
    assert "school trips" in item.line
    report = notifications.send_digests("daily", now=NOON)
    assert (report.queued, report.already) == (1, 0)
    [mail] = digests_to(doc)
    assert mail.subject == "Your LHN daily digest: 1 update"
    assert "school trips" in mail.text_body
    assert "/notifications/" in mail.text_body
    assert "SECRET-BODY-TEXT" not in mail.text_body + mail.html_body
    assert "school trips" in mail.html_body
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.dedupe_key == f"digest:daily:{doc.id}:2026-12-09"
    # Listed once: the next run finds nothing new, and the preview is empty.
    assert notifications.send_digests("daily", now=NOON).queued == 0
    assert notifications.preview(doc) == {}
    assert len(digests_to(doc)) == 1


def test_a_weekly_digest_goes_once_a_week_and_a_rerun_sends_nothing(ctx):
    community = factories.community()
    patient = factories.member(community, factories.user("patient")).user
    followed_answer(community, patient)
    notifications.send_digests("daily", now=NOON)
    assert digests_to(patient) == []  # patients: weekly
    notifications.send_digests("weekly", now=NOON)
    assert len(digests_to(patient)) == 1
    followed_answer(community, patient, title="Another question this week")
    notifications.send_digests("weekly", now=NOON + timedelta(days=1))
    assert len(digests_to(patient)) == 1  # this week's went: the new one waits for next week
    notifications.send_digests("weekly", now=NOON + timedelta(days=7))
    [_, second] = digests_to(patient)
    assert "Another question this week" in second.text_body


def test_read_notices_and_site_only_categories_are_left_out(ctx):
    community = factories.community()
    reader = factories.member(community).user
    followed_answer(community, reader)
    notifications.mark_read(reader)
    other = factories.member(community).user
    notifications.update_preferences(other, deliveries={"following": "site"})
    followed_answer(community, other)
    notifications.send_digests("weekly", now=NOON)
    assert digests_to(other) == []
    [mail] = digests_to(reader)  # only the other person's new question: the read notice is not listed
    assert "/notifications/" not in mail.text_body
    assert mail.subject == "Your LHN weekly digest: 1 update"


def test_a_digest_waits_for_the_morning_and_quiet_hours_in_the_persons_time_zone(ctx):
    community = factories.community()
    reader = factories.member(community).user
    notifications.update_preferences(reader, time_zone="Asia/Tokyo", quiet_start=8, quiet_end=10)
    followed_answer(community, reader)
    night = datetime(2026, 12, 9, 20, 0, tzinfo=UTC)  # 05:00 in Tokyo
    notifications.send_digests("weekly", now=night)
    assert digests_to(reader) == []
    morning = datetime(2026, 12, 9, 23, 30, tzinfo=UTC)  # 08:30 in Tokyo: quiet until 10:00
    notifications.send_digests("weekly", now=morning)
    [mail] = digests_to(reader)
    assert mail.next_attempt_at == datetime(2026, 12, 10, 1, 0, tzinfo=UTC)


def test_digests_run_in_a_fixed_number_of_queries(ctx, count_queries):
    community = factories.community()
    post = factories.question(community)

    def queries_for(people):
        readers = [factories.member(community).user for _ in range(people)]
        for reader in readers:
            notifications.notify(reader, kind="followed_answer", text=f"Something on {post.title}", url=post.path)
        with count_queries() as queries:
            assert notifications.send_digests("weekly", now=NOON).queued == people
        return len(queries)

    few, many = queries_for(2), queries_for(7)
    # People, settings, notices, memberships, new questions, follows, the outbox's keys, one INSERT, one UPDATE.
    assert many == few


def test_new_questions_in_my_communities_that_i_neither_asked_nor_follow(ctx):
    ibd, asthma = factories.community(name="Pediatric IBD"), factories.community(name="Asthma")
    other = factories.community()
    doc = factories.member(ibd, factories.user("clinician")).user
    factories.member(asthma, doc)
    patient = factories.member(asthma).user
    asked = [factories.question(ibd, title=f"Growth question {i}") for i in range(NEW_QUESTIONS_SHOWN + 1)]
    asked.append(factories.question(ibd, doc, title="My own question"))
    followed = factories.question(asthma, title="Inhaler spacers at school")
    notifications.follow(doc, "post", followed.id)
    hidden = factories.question(asthma, title="Hidden by a moderator")
    asked += [followed, hidden, factories.question(other, title="In a community I am not in")]
    for post in asked:
        post.created_at = NOON - timedelta(hours=1)
    hidden.hidden_at = NOON
    old = factories.question(asthma, title="Asked two days ago")
    old.created_at = NOON - timedelta(days=2)
    db.session.flush()

    newest = [f"New question in Pediatric IBD: “Growth question {i}”" for i in range(NEW_QUESTIONS_SHOWN, 0, -1)]
    expected = [*newest, "More new questions in Pediatric IBD"]
    assert [item.line for item in notifications.preview(doc, now=NOON)["daily"]] == expected
    notifications.send_digests("daily", now=NOON)
    [mail] = digests_to(doc)
    assert all(line in mail.text_body for line in expected)
    assert "Growth question 5" in mail.html_body
    assert f"/c/{ibd.slug}/q\n" in mail.text_body  # the "more" line links to the community's questions
    assert "My son has Crohn" not in mail.text_body + mail.html_body  # titles and links, never a body
    for absent in ("My own question", "Inhaler spacers", "Hidden by", "not in", "two days ago"):
        assert absent not in mail.text_body
    # A patient gets them weekly: the last seven days, so the one asked two days ago too.
    notifications.send_digests("weekly", now=NOON)
    [weekly] = digests_to(patient)
    assert "Asked two days ago" in weekly.text_body
    assert "Inhaler spacers" in weekly.text_body
    assert "Growth question" not in weekly.text_body  # not a member of that community
    assert digests_to(doc) == [mail]  # daily for a clinician: no weekly one


def test_the_preview_page_and_the_cli_command(app, client):
    with committed(app):
        community = factories.community()
        doc = factories.member(community, factories.user("clinician", username="doc")).user
        followed_answer(community, doc)
        doc_id, doc_email = doc.id, doc.email
    login(client, "doc")
    page = client.get("/settings/notifications/digest")
    assert "Daily digest" in page.text
    assert "school trips" in page.text
    assert "school trips" in client.get("/api/v1/notifications/digest").json["daily"][0]["text"]
    with app.app_context():  # as the flask command runs it
        result = app.test_cli_runner().invoke(args=["lhn", "digests", "--period", "daily"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        digested = db.session.scalars(select(Notification.digested_at).where(Notification.user_id == doc_id)).all()
        queued = len(db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == doc_email)).all())
    # Before 07:00 UTC the digest waits for the morning; after, it is queued and its notice marked.
    assert queued == (0 if "daily: 0 digest(s) queued" in result.output else 1), result.output
    assert all(d is not None for d in digested) == (queued == 1)
