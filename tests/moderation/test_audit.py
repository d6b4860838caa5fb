"""The audit trail: one row for each sensitive action, ids never content, and rows nobody can change
(the database refuses UPDATE and DELETE, on SQLite and PostgreSQL alike)."""

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.errors import PermissionDenied
from lhn.extensions import db
from lhn.moderation import mydata
from lhn.moderation.models import AuditEvent
from lhn.moderation.services import actions, audit, queue, sanctions
from tests import factories
from tests.conftest import PASSWORD, committed, login


def u(name):
    return accounts.get_user(name)


def rows(action=None):
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return list(db.session.scalars(stmt))


def test_each_sensitive_action_writes_one_row_with_ids_only(ctx, cast, fake_content):
    ibd = communities.get_community("ibd")
    nurse = factories.member(ibd, factories.user("clinician", username="nurse")).user
    request = accounts.submit_verification(nurse, licence_number="RN-448812", licence_issuer="NMC")
    before = len(rows())
    accounts.decide_verification(request.id, by=u("boss"), approve=True, note="Checked the register")
    communities.set_member_role(ibd, "rdr1", "moderator", by=u("doc"))
    communities.set_member_role(ibd, "rdr1", "member", by=u("doc"))
    sanctions.warn(u("author"), by=u("mod"), community=ibd, reason="Cite sources please")
    sanctions.mute(u("author"), ibd, by=u("mod"), reason="Flooding the chat", days=1)
    suspension = sanctions.suspend(u("rdr2"), by=u("boss"), reason="Spam", days=1)
    sanctions.lift(suspension.id, by=u("boss"))
    item = factories.flag(u("rdr3"), cast.answer_id, "phi", target_type="fake").item
    actions.act_on_item(item.id, by=u("mod"), action="redact", version=item.version, fragments=["513-555-0134"])
    actions.act_on_item(item.id, by=u("mod"), action="hide", version=item.version, reason="Unsafe dose advice")
    queue.view_original(item.id, by=u("doc"))  # reading hidden content
    mydata.export_my_data(u("rdr3"))
    new = rows()[before:]
    assert [(e.action, e.object_type) for e in new] == [
        ("verification.approve", "verification_request"),
        ("membership.moderator_appointed", "user"),
        ("membership.moderator_removed", "user"),
        ("sanction.warn", "user"),
        ("sanction.mute", "user"),
        ("sanction.suspend", "user"),
        ("sanction.lift", "sanction"),
        ("content.redacted", "fake"),
        ("review.redact", "review_item"),
        ("content.hidden", "fake"),
        ("review.hide", "review_item"),
        ("content.hidden_viewed", "fake"),
        ("data.export", "user"),
    ]
    assert [e.actor_id for e in new[:3]] == [u("boss").id, u("doc").id, u("doc").id]
    assert new[0].object_id == request.id
    assert new[1].actor_role == "owner"
    assert new[5].actor_role == "admin"
    for event in new:
        assert event.created_at is not None
        assert event.outcome == "success"
        # Never content: the only free text is fixed vocabulary.
        assert not {"RN-448812", "Cite", "513-555", "Unsafe"} & {event.action, event.object_type, event.actor_role}


def test_viewing_verification_evidence_is_audited_on_pages_and_api(app, client, cast):
    with committed(app):
        ibd = communities.get_community("ibd")
        nurse = factories.member(ibd, factories.user("clinician", username="nurse")).user
        request_id = accounts.submit_verification(nurse, orcid="0000-0002-1825-0097").id
    login(client, "boss")  # site staff see the evidence (moderators only that a request waits)
    assert "0000-0002-1825-0097" in client.get("/verification").text
    assert client.get("/api/v1/verification-requests").status_code == 200
    with app.app_context():
        viewed = rows("verification_request.viewed")
        assert [(e.actor_id, e.object_id) for e in viewed] == [(u("boss").id, request_id)] * 2
        assert viewed[0].ip == "127.0.0.1"


def test_deleting_an_account_keeps_its_audit_rows_as_bare_ids(ctx, cast):
    author = u("author")
    author_id = author.id
    mydata.export_my_data(author)
    mydata.delete_account(author, password=PASSWORD, mode="keep")
    assert [(e.action, e.actor_id, e.object_id) for e in rows() if e.actor_id == author_id] == [
        ("data.export", author_id, author_id),
        ("account.delete", author_id, author_id),
    ]


def test_the_app_cannot_update_or_delete_audit_rows(ctx, cast):
    event = audit.record("data.export", actor=u("author"), object_type="user", object_id=1)
    db.session.commit()
    attempts = [
        update(AuditEvent).where(AuditEvent.id == event.id).values(action="nothing"),
        delete(AuditEvent).where(AuditEvent.id == event.id),
        text("UPDATE audit_event SET actor_id = NULL"),
        text("DELETE FROM audit_event"),
    ]
    for statement in attempts:
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(statement)
        db.session.rollback()
    event.action = "changed through the ORM"
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(AuditEvent, event.id).action == "data.export"


def test_only_site_admins_browse_it_with_filters_and_keyset_pages(ctx, cast):
    for _ in range(3):
        mydata.export_my_data(u("author"))
    sanctions.warn(u("author"), by=u("mod"), reason="x", community=communities.get_community("ibd"))
    with pytest.raises(PermissionDenied):
        audit.list_audit_events(by=u("mod"))
    first = audit.list_audit_events(by=u("boss"), action="data.export", limit=2)
    second = audit.list_audit_events(by=u("boss"), action="data.export", limit=2, cursor=first.next_cursor)
    assert [len(first.items), len(second.items), second.next_cursor] == [2, 1, None]
    assert first.items[0].id > first.items[1].id > second.items[0].id
    by_actor = audit.list_audit_events(by=u("boss"), actor="mod")
    assert {e.action for e in by_actor.items} == {"sanction.warn"}
    assert audit.list_audit_events(by=u("boss"), object_type="user", object_id=u("author").id).items


def test_opening_a_verification_item_records_the_evidence_view(app, client, cast):
    with committed(app):
        nurse = factories.member(communities.get_community("ibd"), factories.user("clinician", username="nurse")).user
        accounts.submit_verification(nurse, licence_number="RN-448812", licence_issuer="NMC")
        item_id = queue.list_review_queue(by=u("boss"), kind="verification").items[0].item.id
    login(client, "boss")
    assert "RN-448812" not in client.get("/c/ibd/review").text  # the list doesn't show evidence
    assert "RN-448812" in client.get(f"/review/{item_id}").text
    assert client.get(f"/api/v1/review-items/{item_id}").get_json()["verification"]["licence_number"] == "RN-448812"
    intruder = client.application.test_client()
    login(intruder, "othermod")
    assert intruder.get(f"/api/v1/review-items/{item_id}").status_code == 404
    with app.app_context():
        assert len(rows("verification_request.viewed")) == 2
