"""Files attached to things people write (an experience, a storyboard, a change-package entry): the table, the
owners' registry and the rules. Knows no feature: each feature registers the kinds of thing it owns with a
resolver that says, for a viewer, whether the thing exists and may be read, its community, its title and page,
and whether the viewer may attach there (lhn.posts and lhn.programme do, at import).

A file is checked by its content (lhn/files.py: type, size, image metadata stripped), its name passes the PHI
guard, and its bytes are kept behind lhn/storage.py. Every read asks the owner's resolver, so a file is reachable
exactly by those who may read what it is attached to; to anyone else it does not exist."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, request, url_for
from sqlalchemy import ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lhn import files, phi
from lhn.accounts.models import User
from lhn.database import Base, TimestampMixin, reading
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.realtime import call_after_commit
from lhn.storage import storage

MAX_PER_OWNER = 10


@dataclass
class Owner:
    """What a resolver says about one thing files may be attached to, for one viewer."""

    community_id: int
    title: str
    endpoint: str  # the page that shows it (and its files), as url_for's endpoint and values
    values: dict[str, Any]
    may_attach: bool  # the viewer may attach files there and remove any of its files
    stamp: str  # what tells this thing from a later one given its id (SQLite reuses a deleted row's id)
    denied: str = "You may not attach files here."

    @property
    def page(self) -> str:
        return url_for(self.endpoint, **self.values)


Resolver = Callable[[int, object], Owner]  # (owner id, viewer) -> Owner; raises NotFound if missing or unreadable
Stamp = Callable[[Any], str]  # the thing -> its stamp (Owner.stamp)
_RESOLVERS: dict[str, Resolver] = {}
_STAMPS: dict[str, Stamp] = {}


def register_owner(kind: str, resolver: Resolver, stamp: Stamp) -> None:
    """A feature registers a kind of thing that carries files ("experience", "storyboard", ...): how to resolve one
    for a viewer, and its stamp (something a later row reusing its id would not share, such as when it was made)."""
    _RESOLVERS[kind] = resolver
    _STAMPS[kind] = stamp


def stamps(kind: str, owners: list[Any]) -> dict[int, str]:
    """{id: stamp} of things a page shows, for attachments_of and files_view."""
    return {owner.id: _STAMPS[kind](owner) for owner in owners}


def owner_of(kind: str, owner_id: int, viewer: object) -> Owner:
    """The thing `viewer` may read. Raises NotFound (an unknown kind, a missing or unreadable thing)."""
    resolver = _RESOLVERS.get(kind)
    if resolver is None:
        raise NotFound("No such file.")
    return resolver(owner_id, viewer)


class Attachment(TimestampMixin, Base):
    """One file: the bytes are in storage under `storage_key`; the type was read from the content."""

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_owner", "owner_type", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_type: Mapped[str] = mapped_column(String(32))  # a registered kind
    owner_id: Mapped[int] = mapped_column()
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column()
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    owner_stamp: Mapped[str] = mapped_column(String(64), default="")  # the owner's stamp when it was attached
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    uploaded_by: Mapped[User | None] = relationship()


UPLOAD_ENDPOINTS = {"attachments.attach", "api.attach"}


def raise_upload_limit(app: Flask) -> None:
    """A file's request may be larger than the app-wide MAX_CONTENT_LENGTH: raised before any before_request hook
    reads the form (CSRF's check does), for the two upload endpoints only. Register it before CSRFProtect."""

    @app.before_request
    def _upload_limit() -> None:
        if request.endpoint in UPLOAD_ENDPOINTS:
            request.max_content_length = files.MAX_BYTES + 64 * 1024  # a file and the fields around it


def attachable(kind: str, owner_id: int, user: object) -> Owner:
    """The thing `user` may attach files to. Raises NotFound, PermissionDenied."""
    owner = owner_of(kind, owner_id, user)
    if not owner.may_attach:
        raise PermissionDenied(owner.denied)
    return owner


def attach(kind: str, owner_id: int, data: bytes, filename: str, *, by: User, confirm_phi: bool = False
           ) -> Attachment:  # fmt: skip
    """Attach a file. Checks, scans and stores the bytes before the write transaction. Flushes. Raises NotFound,
    PermissionDenied, ValidationFailed (the file's type or size, too many files; PHIConfirmationRequired for a
    name that looks like it identifies someone)."""
    with reading():
        owner = attachable(kind, owner_id, by)
        checked = files.check_file(data, filename)
        findings = phi.check_texts({"file": checked.name.rsplit(".", 1)[0].replace("_", " ")}, confirm_phi)
        key = storage().put(checked.data)
    count = db.session.scalar(select(func.count()).where(Attachment.owner_type == kind,
                                                         Attachment.owner_id == owner_id)) or 0  # fmt: skip
    if count >= MAX_PER_OWNER:
        storage().delete(key)
        raise ValidationFailed({"file": f"Up to {MAX_PER_OWNER} files each: remove one first."})
    attachment = Attachment(owner_type=kind, owner_id=owner_id, community_id=owner.community_id,
                            filename=checked.name, content_type=checked.content_type, size=len(checked.data),
                            storage_key=key, uploaded_by_id=by.id, owner_stamp=owner.stamp)  # fmt: skip
    db.session.add(attachment)
    db.session.flush()
    phi.record_confirmed(findings, by=by, target_type="attachment", target_id=attachment.id,
                         community_id=owner.community_id)  # fmt: skip
    return attachment


def attachments_of(kind: str, owner_stamps: dict[int, str]) -> dict[int, list[Attachment]]:
    """{owner id: its files, oldest first}, for owners given as {id: stamp} (stamps()); a file left by an earlier
    thing with the same id is not theirs. One query; the caller has checked that the owners are readable."""
    found: dict[int, list[Attachment]] = {i: [] for i in owner_stamps}
    if owner_stamps:
        stmt = select(Attachment).where(Attachment.owner_type == kind, Attachment.owner_id.in_(list(owner_stamps)))
        stmt = stmt.order_by(Attachment.id)
        for attachment in db.session.scalars(stmt):
            if attachment.owner_stamp == owner_stamps[attachment.owner_id]:
                found[attachment.owner_id].append(attachment)
    return found


def files_view(kind: str, owner_stamps: dict[int, str], may_attach: dict[int, bool]
               ) -> dict[int, tuple[list[Attachment], bool]]:  # fmt: skip
    """For a page showing owners it has checked the reader may read: {owner id: (its files, whether the reader may
    attach and remove there)}."""
    found = attachments_of(kind, owner_stamps)
    return {owner_id: (found[owner_id], may_attach.get(owner_id, False)) for owner_id in owner_stamps}


def get_attachment(attachment_id: int, *, viewer: object) -> Attachment:
    """A file `viewer` may read. Raises NotFound."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("No such file.")
    if owner_of(attachment.owner_type, attachment.owner_id, viewer).stamp != attachment.owner_stamp:
        raise NotFound("No such file.")  # left by an earlier thing whose id a new one took
    return attachment


def read_attachment(attachment: Attachment) -> bytes:
    return storage().get(attachment.storage_key)


def remove_attachment(attachment: Attachment, *, by: User) -> Owner:
    """The uploader, or whoever may attach there, removes a file; its bytes go once the removal is committed."""
    owner = owner_of(attachment.owner_type, attachment.owner_id, by)
    if attachment.uploaded_by_id != by.id and not owner.may_attach:
        raise PermissionDenied(owner.denied)
    key = attachment.storage_key
    db.session.delete(attachment)
    call_after_commit(lambda: storage().delete(key))
    return owner
