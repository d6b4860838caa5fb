"""The notifications page: list, open one (marks it read), mark all read."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from lhn import inputs
from lhn.database import transaction
from lhn.forms import ActionForm
from lhn.notifications import services as notifications

bp = Blueprint("notifications", __name__)


@bp.get("/notifications")
@login_required
def index():  # type: ignore[no-untyped-def]
    unread_only, cursor = inputs.arg_bool("unread"), inputs.arg_cursor()
    page = notifications.list_notifications(current_user, unread_only=unread_only, cursor=cursor)
    return render_template("notifications/index.html", page=page, unread_only=unread_only, form=ActionForm())


@bp.get("/notifications/<int:notification_id>")
@login_required
def open_one(notification_id: int):  # type: ignore[no-untyped-def]
    with transaction():
        target = notifications.open_notification(current_user, notification_id)
    return redirect(target)


@bp.post("/notifications/read")
@login_required
def mark_all_read():  # type: ignore[no-untyped-def]
    if ActionForm().validate_on_submit():
        with transaction():
            notifications.mark_read(current_user)
    return redirect(url_for("notifications.index"))
