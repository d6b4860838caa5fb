"""Reading the outbox in account tests: the emails queued to an address, and the link one of them holds."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select

from lhn.extensions import db
from lhn.mail.models import OutboxMessage


def mails(to: str | None = None, kind: str | None = None) -> list[OutboxMessage]:
    """Queued emails, oldest first (needs an app context)."""
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if to is not None:
        query = query.where(OutboxMessage.to_address == to)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    db.session.expire_all()
    return list(db.session.scalars(query))


def link_in(message: OutboxMessage, path: str) -> str:
    """The path (and query) of the first link in the email's text whose path starts with `path`."""
    for url in re.findall(r"https?://\S+", message.text_body):
        parts = urlsplit(url)
        if parts.path.startswith(path):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    raise AssertionError(f"no {path} link in: {message.text_body}")


def token_in(message: OutboxMessage, path: str) -> str:
    return link_in(message, path).rsplit("/", 1)[1]
