"""Attachment pages: attaching a file (a page of its own, so that a refusal is shown with the form), downloading
one (always as a download, never opened in the page), removing one."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf.file import FileField

from lhn import files
from lhn.attachments import core
from lhn.forms import ActionForm, Form, PHIConfirmMixin, acted, form_page, form_route, saved
from lhn.limits import user_rate_limited

bp = Blueprint("attachments", __name__)


class AttachmentForm(PHIConfirmMixin, Form):
    file = FileField(
        "File",
        description="PDF, PNG, JPEG, Word, Excel or PowerPoint, up to 10 MB. Photos lose their hidden details "
        "(place, time, camera) when attached. Don't attach anything that identifies a patient.",
    )


@form_route(bp, "/attachments/<kind>/<int:owner_id>/new", "attachments")
def attach(kind: str, owner_id: int) -> ResponseReturnValue:
    owner = core.attachable(kind, owner_id, current_user)
    form = AttachmentForm()
    if form.validate_on_submit():
        upload = form.file.data
        data, name = (upload.read(), upload.filename or "") if upload else (b"", "")
        if saved(form, lambda: core.attach(kind, owner_id, data, name, by=current_user,
                                           confirm_phi=form.confirm_phi.data)):  # fmt: skip
            flash("File attached.", "success")
            return redirect(owner.page)
    return form_page("attachments/attach.html", form, owner=owner, phi=getattr(form, "phi", None),
                     max_mb=files.MAX_BYTES // (1024 * 1024), max_files=core.MAX_PER_OWNER)  # fmt: skip


@bp.get("/attachments/<int:attachment_id>/<path:filename>")
def download(attachment_id: int, filename: str) -> ResponseReturnValue:
    attachment = core.get_attachment(attachment_id, viewer=current_user)
    body = core.read_attachment(attachment)
    disposition = f"attachment; filename*=UTF-8''{quote(attachment.filename)}"
    return Response(body, mimetype=attachment.content_type,
                    headers={"Content-Disposition": disposition, "Cache-Control": "private, no-store",
                             "Content-Security-Policy": "default-src 'none'; sandbox"})  # fmt: skip


@bp.post("/attachments/<int:attachment_id>/remove")
@login_required
@user_rate_limited("attachments", forms=False)
def remove(attachment_id: int) -> ResponseReturnValue:
    attachment = core.get_attachment(attachment_id, viewer=current_user)
    owner = core.owner_of(attachment.owner_type, attachment.owner_id, current_user)
    if acted(ActionForm(), lambda: core.remove_attachment(attachment, by=current_user)):
        flash("File removed.", "info")
    return redirect(owner.page)
