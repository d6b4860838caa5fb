"""Attachment pages: attaching a file to a storyboard or a change-package entry (a page of its own, so that a
refusal is shown with the form), downloading one (always as a download, never opened in the page), removing one."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, flash, redirect, request, url_for
from flask_login import current_user, login_required

from lhn import files
from lhn.forms import ActionForm, acted, form_page, saved
from lhn.limits import user_rate_limited
from lhn.programme import services as programme
from lhn.programme.forms import AttachmentForm
from lhn.programme.models import Storyboard
from lhn.programme.views.common import bp


def owner_page(owner: Any) -> str:
    """The page that shows the storyboard or the entry."""
    if isinstance(owner, Storyboard):
        return url_for("programme.storyboard", session_id=owner.session_id, storyboard_id=owner.id)
    return url_for("programme.package", slug=owner.community.slug, _anchor=f"change-{owner.id}")


@bp.route("/attachments/<kind>/<int:owner_id>/new", methods=["GET", "POST"])
@login_required
@user_rate_limited("programme", methods=["POST"])
def attach(kind: str, owner_id: int):  # type: ignore[no-untyped-def]
    request.max_content_length = files.MAX_BYTES + 64 * 1024  # this form only: a file and the fields around it
    owner, community = programme.attachable(kind, owner_id, current_user)
    form = AttachmentForm()
    if form.validate_on_submit():
        upload = form.file.data
        data, name = (upload.read(), upload.filename or "") if upload else (b"", "")
        if saved(form, lambda: programme.attach(kind, owner_id, data, name, by=current_user,
                                                confirm_phi=form.confirm_phi.data)):  # fmt: skip
            flash("File attached.", "success")
            return redirect(owner_page(owner))
    title = owner.institution.name if isinstance(owner, Storyboard) else owner.title
    return form_page("programme/attach.html", form, community=community, title=title, back=owner_page(owner),
                     phi=getattr(form, "phi", None), max_mb=files.MAX_BYTES // (1024 * 1024))  # fmt: skip


@bp.get("/attachments/<int:attachment_id>/<path:filename>")
def download(attachment_id: int, filename: str):  # type: ignore[no-untyped-def]
    attachment = programme.get_attachment(attachment_id, viewer=current_user)
    body = programme.read_attachment(attachment)
    disposition = f"attachment; filename*=UTF-8''{quote(attachment.filename)}"
    return Response(body, mimetype=attachment.content_type,
                    headers={"Content-Disposition": disposition, "Cache-Control": "private, no-store",
                             "Content-Security-Policy": "default-src 'none'; sandbox"})  # fmt: skip


@bp.post("/attachments/<int:attachment_id>/remove")
@login_required
@user_rate_limited("programme", forms=False)
def remove(attachment_id: int):  # type: ignore[no-untyped-def]
    attachment = programme.get_attachment(attachment_id, viewer=current_user)
    _type, owner, _community = programme.owner_of(attachment.owner_type.value, attachment.owner_id, current_user)
    if acted(ActionForm(), lambda: programme.remove_attachment(attachment, by=current_user)):
        flash("File removed.", "info")
    return redirect(owner_page(owner))
