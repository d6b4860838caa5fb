"""Notification pages: the list, open one (marks it read), mark all read; follow buttons; preferences and the
digest preview; one-click unsubscribe (no login: the signed link is the key)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from lhn import inputs
from lhn.database import transaction
from lhn.extensions import csrf, limiter
from lhn.forms import ActionForm, acted, form_page, safe_next, saved
from lhn.notifications import services as notifications
from lhn.notifications.forms import FollowForm, preferences_form

bp = Blueprint("notifications", __name__)
UNSUBSCRIBE_RATE_LIMIT = "30 per minute"  # a mail client posts once; more is someone trying links


@bp.get("/notifications")
@login_required
def index() -> ResponseReturnValue:
    unread_only, cursor = inputs.arg_bool("unread"), inputs.arg_cursor()
    page = notifications.list_notifications(current_user, unread_only=unread_only, cursor=cursor)
    return render_template("notifications/index.html", page=page, unread_only=unread_only, form=ActionForm())


@bp.get("/notifications/<int:notification_id>")
@login_required
def open_one(notification_id: int) -> ResponseReturnValue:
    with transaction():
        target = notifications.open_notification(current_user, notification_id)
    return redirect(target)


@bp.post("/notifications/read")
@login_required
def mark_all_read() -> ResponseReturnValue:
    acted(ActionForm(), lambda: notifications.mark_read(current_user))
    return redirect(url_for("notifications.index"))


@bp.post("/follow/<target_type>/<int:target_id>")
@login_required
def follow(target_type: str, target_id: int) -> ResponseReturnValue:
    form = FollowForm()
    following = form.action.data == "follow"
    change = notifications.follow if following else notifications.unfollow
    if acted(form, lambda: change(current_user, target_type, target_id)):
        flash("Following: you'll be told of new activity." if following else "You no longer follow this.", "success")
    return redirect(safe_next(form.next.data) or url_for("notifications.preferences"))


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def preferences() -> ResponseReturnValue:
    form = preferences_form(notifications.get_preferences(current_user))
    if form.validate_on_submit():
        start, end = form.hours()
        if saved(form, lambda: notifications.update_preferences(
            current_user, deliveries=form.deliveries(), time_zone=form.time_zone.data, quiet_start=start,
            quiet_end=end, clear_quiet=start is None and end is None,
        )):  # fmt: skip
            flash("Notification settings saved.", "success")
            return redirect(url_for("notifications.preferences"))
    follows = notifications.describe_follows(notifications.list_follows(current_user))
    return form_page("notifications/preferences.html", form, follows=follows)


@bp.get("/settings/notifications/digest")
@login_required
def digest_preview() -> ResponseReturnValue:
    return render_template("notifications/digest_preview.html", digests=notifications.preview(current_user))


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str) -> ResponseReturnValue:
    _, categories = notifications.read_unsubscribe(token)
    labels = [label for key, label, _ in notifications.CATEGORIES if key in categories]
    return render_template("notifications/unsubscribe.html", labels=labels, done=False)


@bp.post("/unsubscribe/<token>")
@csrf.exempt  # RFC 8058: a mail client POSTs "List-Unsubscribe=One-Click" with no cookie and no token
@limiter.limit(UNSUBSCRIBE_RATE_LIMIT, key_func=get_remote_address)  # no login to count by: per client address
def unsubscribe(token: str) -> ResponseReturnValue:
    with transaction():
        _, categories = notifications.unsubscribe(token)
    labels = [label for key, label, _ in notifications.CATEGORIES if key in categories]
    return render_template("notifications/unsubscribe.html", labels=labels, done=True)
