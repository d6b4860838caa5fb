"""Chat pages: a channel with its history (readable and postable without JavaScript), adding channels,
and plain-form fallbacks for deleting and hiding messages. Live behaviour is in static/js/chat.js."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from lhn import inputs
from lhn.chat import permissions
from lhn.chat import services as chat
from lhn.chat.forms import ChannelForm, HideForm, MessageForm, SlowModeForm
from lhn.communities import services as communities
from lhn.database import transaction
from lhn.errors import DomainError, ValidationFailed
from lhn.forms import ActionForm, apply_errors, flash_errors, show_refusal
from lhn.phi import PHIConfirmationRequired

bp = Blueprint("chat", __name__)


@bp.get("/c/<slug>/chat")
@login_required
def index(slug: str):  # type: ignore[no-untyped-def]
    community = communities.get_community(slug)
    chat.list_channels(community, by=current_user)  # members only: a 403 page for everyone else
    return redirect(url_for("chat.channel", slug=slug, name="general"))


@bp.route("/c/<slug>/chat/<name>", methods=["GET", "POST"])
@login_required
def channel(slug: str, name: str):  # type: ignore[no-untyped-def]
    community = communities.get_community(slug)
    channels = chat.list_channels(community, by=current_user)
    current, membership = chat.get_channel_by_name(community, name, by=current_user)
    form = MessageForm()
    phi = None
    if form.validate_on_submit():
        try:
            with transaction():
                chat.post_message(current.id, by=current_user, client_id=form.client_id.data, body=form.body.data,
                                  confirm_phi=bool(form.confirm_phi.data))  # fmt: skip
        except PHIConfirmationRequired as exc:  # what was found goes on the text; the prompt offers the box
            apply_errors(form, exc)
            phi = exc
        except ValidationFailed as exc:
            apply_errors(form, exc)
        except DomainError as exc:  # rate limited: keep the text, say why and for how long
            show_refusal(form, exc)
        else:
            return redirect(url_for("chat.channel", slug=slug, name=name) + "#composer")
    before = inputs.arg_int("before")
    read_upto = chat.last_read_id(current_user, current)  # the unread marker goes after this one
    if before is None:
        with transaction():  # committed before the page is read: a commit would expire what we load
            chat.mark_read(current, by=current_user)
    page = chat.list_messages(current, before=before)
    roles = chat.sender_roles(community.id, page.items)
    moderates = permissions.can_moderate(current_user, community, membership)
    slow_mode = chat.slow_mode_seconds(current)
    slow_form = SlowModeForm(formdata=None, seconds=slow_mode) if moderates else None
    return render_template(
        "chat/channel.html", community=community, channels=channels, channel=current, page=page, roles=roles,
        read_upto=read_upto, form=form, moderates=moderates, before=before, phi=phi, slow_mode=slow_mode,
        slow_form=slow_form, describe_seconds=chat.describe_seconds,
        can_manage=permissions.can_manage_channels(current_user, community, membership),
        hide_form=HideForm(), action_form=ActionForm(), membership=membership,
        max_chars=current_app.config["CHAT_MESSAGE_MAX"],
    )  # fmt: skip


@bp.route("/c/<slug>/channels/new", methods=["GET", "POST"])
@login_required
def create_channel(slug: str):  # type: ignore[no-untyped-def]
    community = communities.get_community(slug)
    membership = communities.find_membership(current_user, community)
    if not permissions.can_manage_channels(current_user, community, membership):
        abort(403)
    form = ChannelForm()
    if form.validate_on_submit():
        try:
            with transaction():
                created = chat.create_channel(
                    community, by=current_user, name=form.name.data, topic=form.topic.data or "",
                    roles=form.roles.data or [],
                )  # fmt: skip
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(f"#{created.name} is ready.", "success")
            return redirect(url_for("chat.channel", slug=slug, name=created.name))
    return render_template("chat/new_channel.html", community=community, form=form)


def _back_to(message_id: int):  # type: ignore[no-untyped-def]
    message, _ = chat.get_message(message_id, by=current_user)
    channel = message.channel
    return redirect(url_for("chat.channel", slug=channel.community.slug, name=channel.name) + f"#message-{message.id}")


@bp.post("/chat/messages/<int:message_id>/delete")
@login_required
def delete_message(message_id: int):  # type: ignore[no-untyped-def]
    if ActionForm().validate_on_submit():
        with transaction():
            chat.delete_message(message_id, by=current_user)
        flash("Message deleted.", "info")
    return _back_to(message_id)


@bp.post("/chat/messages/<int:message_id>/hide")
@login_required
def hide_message(message_id: int):  # type: ignore[no-untyped-def]
    form = HideForm()
    if not form.validate_on_submit():
        flash("Say why you hide the message; readers will see the reason.", "error")
        return _back_to(message_id)
    try:
        with transaction():
            chat.hide_message(message_id, by=current_user, reason=form.reason.data or "")
    except ValidationFailed as exc:
        for message in exc.errors.values():
            flash(message, "error")
    else:
        flash("Message hidden. Readers see your reason in its place.", "info")
    return _back_to(message_id)


@bp.post("/chat/messages/<int:message_id>/unhide")
@login_required
def unhide_message(message_id: int):  # type: ignore[no-untyped-def]
    if ActionForm().validate_on_submit():
        with transaction():
            chat.unhide_message(message_id, by=current_user)
        flash("Message shown again.", "info")
    return _back_to(message_id)


@bp.post("/c/<slug>/chat/<name>/slow-mode")
@login_required
def slow_mode(slug: str, name: str):  # type: ignore[no-untyped-def]
    community = communities.get_community(slug)
    current, _ = chat.get_channel_by_name(community, name, by=current_user)
    form = SlowModeForm()
    if form.validate_on_submit():
        try:
            with transaction():
                seconds = chat.set_channel_slow_mode(current.id, form.seconds.data, by=current_user)
        except ValidationFailed as exc:
            flash_errors(exc)
        else:
            flash(f"Slow mode: one message every {chat.describe_seconds(seconds)} per member." if seconds
                  else "Slow mode is off.", "info")  # fmt: skip
    return redirect(url_for("chat.channel", slug=slug, name=name))
