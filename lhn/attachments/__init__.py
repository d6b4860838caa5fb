"""Files attached to what people write, for any feature that registers an owner kind: the table and rules
(core), the pages (views, on the `attachments` blueprint the app factory registers). See docs/programme.md."""

from lhn.attachments.core import (
    MAX_PER_OWNER,
    Attachment,
    Owner,
    attach,
    attachable,
    attachments_of,
    files_view,
    get_attachment,
    owner_of,
    raise_upload_limit,
    read_attachment,
    register_owner,
    remove_attachment,
    stamps,
)

__all__ = [
    "MAX_PER_OWNER", "Attachment", "Owner", "attach", "attachable", "attachments_of", "files_view", "get_attachment",
    "owner_of", "raise_upload_limit", "read_attachment", "register_owner", "remove_attachment", "stamps",
]  # fmt: skip
