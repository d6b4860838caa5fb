"""Attachments over JSON: list the files on a thing, attach one (multipart/form-data: `file`, optionally
`confirm_phi`), remove one. Same rules as the pages (lhn/attachments/core.py); downloads are the pages' links."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn import files
from lhn.api import bp, created, require_user
from lhn.api.openapi import ID, PHI_CONFIRM, TEXT, op, path_param, ref
from lhn.attachments import core
from lhn.database import transactional
from lhn.limits import user_rate_limited

KINDS_TEXT = "`experience`, `storyboard` or `package_entry`"


def attachment_json(attachment: core.Attachment) -> dict[str, Any]:
    url = url_for("attachments.download", attachment_id=attachment.id, filename=attachment.filename)
    return {"id": attachment.id, "filename": attachment.filename, "content_type": attachment.content_type,
            "size": attachment.size, "url": url}  # fmt: skip


@bp.get("/attachments/<kind>/<int:owner_id>")
def list_attachments(kind: str, owner_id: int) -> ResponseReturnValue:
    owner = core.owner_of(kind, owner_id, current_user)
    found = core.attachments_of(kind, {owner_id: owner.stamp})[owner_id]
    return jsonify(items=[attachment_json(a) for a in found], may_attach=owner.may_attach)


@bp.post("/attachments/<kind>/<int:owner_id>")
@user_rate_limited("attachments")
@transactional
def attach(kind: str, owner_id: int) -> ResponseReturnValue:
    user = require_user()
    upload = request.files.get("file")
    data, name = (upload.read(), upload.filename or "") if upload else (b"", "")
    confirm = request.form.get("confirm_phi", "").lower() in ("true", "1", "on", "yes")
    return created(attachment_json(core.attach(kind, owner_id, data, name, by=user, confirm_phi=confirm)))


@bp.delete("/attachments/<int:attachment_id>")
@user_rate_limited("attachments")
@transactional
def remove(attachment_id: int) -> ResponseReturnValue:
    user = require_user()
    core.remove_attachment(core.get_attachment(attachment_id, viewer=user), by=user)
    return "", 204


KIND = {**path_param("kind"), "description": KINDS_TEXT}
OWNER_ID = path_param("owner_id", "integer")
UPLOAD = {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary", "description": f"{files.KINDS}, up to 10 MB"},
    "confirm_phi": PHI_CONFIRM}}  # fmt: skip


def _upload_op() -> dict[str, Any]:
    operation = op("Attach a file (the thing's author, site team, proposer or owners, as on the pages): its type "
                   "is read from its content, images lose their metadata, its name passes the PHI guard",
                   params=[KIND, OWNER_ID], status="201", tag="attachments", response=ref("Attachment"),
                   errors=("401", "403", "404", "413", "422", "429"))  # fmt: skip
    operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": UPLOAD}}}
    return operation


OPENAPI_SCHEMAS = {
    "Attachment": {"type": "object", "description": "A file: download `url` (always as an attachment)",
                   "properties": {"id": ID, "filename": TEXT, "content_type": TEXT, "size": {"type": "integer"},
                                  "url": TEXT}},
}  # fmt: skip
OPENAPI_PATHS = {
    "/attachments/{kind}/{owner_id}": {
        "get": op(f"The files on a thing ({KINDS_TEXT}) you may read, and whether you may attach there",
                  params=[KIND, OWNER_ID], auth=False, tag="attachments", errors=("404",)),
        "post": _upload_op(),
    },
    "/attachments/{attachment_id}": {
        "delete": op("Remove a file (its uploader, or whoever may attach there)",
                     params=[path_param("attachment_id", "integer")], status="204", tag="attachments",
                     errors=("401", "403", "404", "429")),
    },
}  # fmt: skip
