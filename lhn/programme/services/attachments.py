"""Files on storyboards and change-package entries: slides, a protocol, a photo of a huddle board. A file is
checked by its content (lhn/files.py: type, size, image metadata stripped), its name passes the PHI guard, and it is
stored behind lhn/storage.py. Whoever may read the storyboard or the entry may download its files, nobody else:
every read asks the owner's community, so a restricted community's files are its members' alone.

Who attaches: a storyboard's site team (as for writing it), an entry's proposer and the community's owners; they and
the uploader may remove a file."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from lhn import files, phi
from lhn.accounts.models import User
from lhn.communities import services as communities
from lhn.communities.models import Community
from lhn.communities.permissions import can_read
from lhn.database import reading
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.programme.models import Attachment, AttachmentOwner, LearningSession, PackageEntry, Storyboard
from lhn.programme.services.package import may_decide
from lhn.programme.services.storyboards import may_write
from lhn.realtime import call_after_commit
from lhn.storage import storage

MAX_PER_OWNER = 10
DENIED = "Files are attached by the storyboard's site team, or by the change's proposer and the community's owners."


def owner_of(kind: str, owner_id: int, viewer: object) -> tuple[AttachmentOwner, Any, Community]:
    """The storyboard or entry `viewer` may read, and its community. Raises NotFound (also for one they may not)."""
    try:
        owner_type = AttachmentOwner(kind)
    except ValueError:
        raise NotFound("No such file.") from None
    owner: Storyboard | PackageEntry | None
    if owner_type == AttachmentOwner.STORYBOARD:
        owner = db.session.get(Storyboard, owner_id)
        session = db.session.get(LearningSession, owner.session_id) if owner else None
        community = session.community if session else None
    else:
        owner = db.session.get(PackageEntry, owner_id)
        community = owner.community if owner else None
    if owner is None or community is None or not can_read(viewer, community,
                                                          communities.find_membership(viewer, community)):  # fmt: skip
        raise NotFound("No such file.")
    return owner_type, owner, community


def attachable(kind: str, owner_id: int, user: object) -> tuple[Any, Community]:
    """The storyboard or entry `user` may attach files to, and its community. Raises NotFound, PermissionDenied."""
    owner_type, owner, community = owner_of(kind, owner_id, user)
    if not may_attach(owner_type, owner, community, user):
        raise PermissionDenied(DENIED)
    return owner, community


def may_attach(owner_type: AttachmentOwner, owner: Any, community: Community, user: object) -> bool:
    if owner_type == AttachmentOwner.STORYBOARD:
        return may_write(owner.institution_id, community, user)
    return getattr(user, "id", None) == owner.proposed_by_id or may_decide(user, community)


def attach(kind: str, owner_id: int, data: bytes, filename: str, *, by: User, confirm_phi: bool = False
           ) -> Attachment:  # fmt: skip
    """Attach a file. Checks, scans and stores the bytes before the write transaction. Flushes. Raises NotFound,
    PermissionDenied, ValidationFailed (the file's type or size, too many files; PHIConfirmationRequired for a
    name that looks like it identifies someone)."""
    with reading():
        _owner, community = attachable(kind, owner_id, by)
        checked = files.check_file(data, filename)
        findings = phi.check_texts({"file": checked.name.rsplit(".", 1)[0].replace("_", " ")}, confirm_phi)
        key = storage().put(checked.data)
    count = db.session.scalar(select(func.count()).where(Attachment.owner_type == AttachmentOwner(kind),
                                                         Attachment.owner_id == owner_id)) or 0  # fmt: skip
    if count >= MAX_PER_OWNER:
        storage().delete(key)
        raise ValidationFailed({"file": f"Up to {MAX_PER_OWNER} files each: remove one first."})
    attachment = Attachment(owner_type=AttachmentOwner(kind), owner_id=owner_id, community_id=community.id,
                            filename=checked.name, content_type=checked.content_type, size=len(checked.data),
                            storage_key=key, uploaded_by_id=by.id)  # fmt: skip
    db.session.add(attachment)
    db.session.flush()
    phi.record_confirmed(findings, by=by, target_type="attachment", target_id=attachment.id,
                         community_id=community.id)  # fmt: skip
    return attachment


def attachments_of(kind: str, owner_ids: list[int]) -> dict[int, list[Attachment]]:
    """{owner id: its files, oldest first} (one query; the caller has checked that the owners are readable)."""
    found: dict[int, list[Attachment]] = {i: [] for i in owner_ids}
    if owner_ids:
        stmt = select(Attachment).where(Attachment.owner_type == AttachmentOwner(kind),
                                        Attachment.owner_id.in_(owner_ids)).order_by(Attachment.id)  # fmt: skip
        for attachment in db.session.scalars(stmt):
            found[attachment.owner_id].append(attachment)
    return found


def get_attachment(attachment_id: int, *, viewer: object) -> Attachment:
    """A file `viewer` may read. Raises NotFound."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("No such file.")
    owner_of(attachment.owner_type.value, attachment.owner_id, viewer)
    return attachment


def read_attachment(attachment: Attachment) -> bytes:
    return storage().get(attachment.storage_key)


def remove_attachment(attachment: Attachment, *, by: User) -> None:
    """The uploader, or whoever may attach there, removes a file; its bytes go once the removal is committed."""
    owner_type, owner, community = owner_of(attachment.owner_type.value, attachment.owner_id, by)
    if attachment.uploaded_by_id != by.id and not may_attach(owner_type, owner, community, by):
        raise PermissionDenied(DENIED)
    key = attachment.storage_key
    db.session.delete(attachment)
    call_after_commit(lambda: storage().delete(key))


def files_view(kind: str, owners: list[Any], community: Community, viewer: object
               ) -> dict[int, tuple[list[Attachment], bool]]:  # fmt: skip
    """For a page showing `owners` (storyboards or entries it has checked `viewer` may read): {owner id: (its
    files, whether `viewer` may attach and remove there)}."""
    owner_type = AttachmentOwner(kind)
    found = attachments_of(kind, [o.id for o in owners])
    return {o.id: (found[o.id], may_attach(owner_type, o, community, viewer)) for o in owners}
