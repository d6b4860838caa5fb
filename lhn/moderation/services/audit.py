"""The audit trail: append-only rows of who did what to which object, when and from where. Never content."""

from __future__ import annotations

from datetime import datetime

from flask import has_request_context, request
from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.accounts.models import User
from lhn.errors import PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.inputs import whole_number
from lhn.moderation.models import AuditEvent
from lhn.pagination import Page, paginate


def record(
    action: str,
    *,
    actor: User | None,
    object_type: str,
    object_id: int | None,
    community_id: int | None = None,
    outcome: str = "success",
    actor_role: str | None = None,
) -> AuditEvent:
    """Append one audit row. Any service may call it; the row commits (or rolls back) with the action.

    The request's address and user agent are taken from the request context when there is one (the
    CLI and demo data record none). Flushes. Never pass content: ids and fixed action names only.
    """
    if actor_role is None:
        actor_role = "system" if actor is None else "admin" if actor.is_admin else "member"
    ip = user_agent = ""
    if has_request_context():
        ip = (request.remote_addr or "")[:45]
        user_agent = request.headers.get("User-Agent", "")[:200]
    row = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_role=actor_role[:20],
        action=action[:60],
        object_type=object_type[:40],
        object_id=object_id,
        community_id=community_id,
        outcome=outcome[:20],
        ip=ip,
        user_agent=user_agent,
    )
    db.session.add(row)
    db.session.flush()
    return row


def list_audit_events(
    *,
    by: User,
    action: str = "",
    actor: str = "",
    object_type: str = "",
    object_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[AuditEvent]:
    """Site admins browse the trail, newest first, filtered. Raises PermissionDenied, ValidationFailed."""
    if not by.is_admin:
        raise PermissionDenied("Only site admins read the audit trail.")
    stmt = select(AuditEvent)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if actor:
        person = accounts.find_user(actor)
        account_id = person.id if person else whole_number(actor)  # a deleted account's id stays in the trail
        if account_id is None:
            raise ValidationFailed({"actor": "No such member (give a username or an account id)."})
        stmt = stmt.where(AuditEvent.actor_id == account_id)
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    if since is not None:
        stmt = stmt.where(AuditEvent.created_at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.created_at < until)
    return paginate(stmt, order_by=[AuditEvent.id], key=lambda e: (e.id,), cursor=cursor, limit=limit)


def actor_names(events: list[AuditEvent]) -> dict[int, str]:
    """Usernames of the actors that still have accounts (one query)."""
    ids = {e.actor_id for e in events if e.actor_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())
