"""My data for attachments: the files a person attached, listed in their export (names, types, sizes, where);
on account deletion, "keep" passes them to "Former member" with the rest of what they wrote, "remove" deletes them
and their bytes.

Receivers of signals.export_requested / account_erasing (contract in lhn/signals.py), connected when the app
factory (lhn/__init__.py) imports this module."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from lhn import signals
from lhn.accounts.models import User
from lhn.attachments.core import Attachment
from lhn.database import iso_or_none
from lhn.extensions import db
from lhn.realtime import call_after_commit
from lhn.storage import storage


@signals.export_requested.connect
def export_attachments(user: User, **_: Any) -> dict[str, Any]:
    mine = db.session.scalars(select(Attachment).where(Attachment.uploaded_by_id == user.id).order_by(Attachment.id))
    return {"attachments": [
        {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size,
         "attached_to": a.owner_type, "attached_to_id": a.owner_id, "at": iso_or_none(a.created_at)}
        for a in mine
    ]}  # fmt: skip


@signals.account_erasing.connect
def erase_attachments(user: User, *, mode: str, former: User, **_: Any) -> None:
    if mode == "keep":
        db.session.execute(update(Attachment).where(Attachment.uploaded_by_id == user.id)
                           .values(uploaded_by_id=former.id).execution_options(synchronize_session=False))  # fmt: skip
        return
    mine = db.session.scalars(select(Attachment).where(Attachment.uploaded_by_id == user.id)).all()
    keys = [a.storage_key for a in mine]
    for attachment in mine:
        db.session.delete(attachment)
    if keys:
        call_after_commit(lambda: _delete_files(keys))


def _delete_files(keys: list[str]) -> None:
    store = storage()
    for key in keys:
        store.delete(key)
