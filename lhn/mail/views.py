"""Mail pages: the admin's outbox (counts, what could not be delivered, try again) and, in development without
an SMTP server, the mailbox of everything the site sent (instance/mail/)."""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from lhn import inputs
from lhn.forms import ActionForm, acted
from lhn.limits import user_rate_limited
from lhn.mail import services as mail
from lhn.mail.transport import mail_directory

bp = Blueprint("mail", __name__)
# What DirectoryTransport names a letter: its UTC time, its Message-ID's hex and kind ("password_reset"), nothing
# else (one dot, before the kind; no slashes): the name can only point at a letter in instance/mail/.
LETTER_NAME = re.compile(r"[0-9]{8}T[0-9]{6}-[0-9a-f]{24}(?:\.[a-z0-9_]{1,40})?", re.ASCII)


@bp.get("/admin/mail")
@login_required
def outbox() -> ResponseReturnValue:
    counts = mail.mail_counts(by=current_user)
    dead = mail.list_dead(by=current_user, cursor=inputs.arg_cursor())
    return render_template("mail/outbox.html", counts=counts, dead=dead, form=ActionForm())


@bp.post("/admin/mail/<int:message_id>/retry")
@login_required
@user_rate_limited("staff")
def retry(message_id: int) -> Response:
    if acted(ActionForm(), lambda: mail.retry_dead(message_id, by=current_user)):
        flash("Queued again: it goes out with the next round.", "success")
    return redirect(url_for("mail.outbox"))


def _mailbox_open() -> bool:
    """The development mailbox: only in development and only when mail goes to files, never in production."""
    config = current_app.config
    return config["ENV"] == "development" and not config.get("MAIL_SERVER")


def _read(path: Any) -> dict[str, Any]:
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return {"name": path.stem, "to": message["To"], "subject": message["Subject"], "date": message["Date"],
            "headers": list(message.items()), "text": text.get_content() if text else "",
            "html": html.get_content() if html else None}  # fmt: skip


@bp.get("/dev/mail")
def mailbox() -> ResponseReturnValue:
    if not _mailbox_open():
        abort(404)
    directory = mail_directory(current_app.config, current_app.instance_path)
    paths = sorted(directory.glob("*.eml"), reverse=True)[:100] if directory.exists() else []
    return render_template("mail/mailbox.html", letters=[_read(p) for p in paths])


@bp.get("/dev/mail/<name>")
def letter(name: str) -> ResponseReturnValue:
    if not _mailbox_open() or not LETTER_NAME.fullmatch(name):
        abort(404)
    path = mail_directory(current_app.config, current_app.instance_path) / f"{name}.eml"
    if not path.is_file():
        abort(404)
    return render_template("mail/letter.html", letter=_read(path))
