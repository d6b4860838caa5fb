"""Chat pages: a channel with its history (readable and postable without JavaScript), adding channels,
and plain-form fallbacks for deleting and hiding messages. Live behaviour is in static/js/chat.js and js/chat/."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from lhn import inputs
from lhn.chat import permissions
from lhn.chat import services as chat
from lhn.chat.forms import ChannelForm, HideForm, MessageForm, SlowModeForm
from lhn.chat.models import Channel
from lhn.communities import services as communities
from lhn.database import transaction
from lhn.errors import DomainError
from lhn.forms import ActionForm, acted, form_page, saved, show_refusal
from lhn.limits import limited_in_service

bp = Blueprint("chat", __name__)


@bp.get("/c/<slug>/chat")
@login_required
def index(slug: str) -> ResponseReturnValue:
    community = communities.get_community(slug)
    chat.list_channels(community, by=current_user)  # members only: a 403 page for everyone else
    return redirect(url_for("chat.channel", slug=slug, name="general"))


@bp.route("/c/<slug>/chat/<name>", methods=["GET", "POST"])
@limited_in_service  # sending (the no-script form) counts the "chat" limit, which socket sends share
@login_required
def channel(slug: str, name: str) -> ResponseReturnValue:
    community = communities.get_community(slug)
    page = chat.channel_page(community, name, by=current_user, before=inputs.arg_int("before"))
    form = MessageForm()
    if form.validate_on_submit() and _sent(form, page.channel):
        return redirect(url_for("chat.channel", slug=slug, name=name) + "#composer")
    response = form_page(
        "chat/channel.html", form, chat=page, community=community, moderates=page.moderates,
        phi=getattr(form, "phi", None), describe_seconds=chat.describe_seconds,
        slow_form=SlowModeForm(formdata=None, seconds=page.slow_mode) if page.moderates else None,
        max_chars=current_app.config["CHAT_MESSAGE_MAX"], nothing_to_send=chat.NOTHING_TO_SEND,
        too_long=chat.TOO_LONG,
    )  # fmt: skip
    if page.before is None:
        with transaction():  # after rendering: a commit would expire everything the page loaded
            chat.mark_read(page.channel, by=current_user)
    return response


def _sent(form: MessageForm, channel: Channel) -> bool:
    """Post the form's message; False with the reasons on the form (a PHI finding offers the confirm box)."""

    def post() -> object:
        return chat.post_message(channel.id, by=current_user, client_id=form.client_id.data, body=form.body.data,
                                 confirm_phi=bool(form.confirm_phi.data))  # fmt: skip

    try:
        return saved(form, post) is not None
    except DomainError as exc:  # rate limited, muted: keep the text, say why (and for how long)
        show_refusal(form, exc)
        return False


@bp.route("/c/<slug>/channels/new", methods=["GET", "POST"])
@login_required
def create_channel(slug: str) -> ResponseReturnValue:
    community = communities.get_community_where(current_user, slug, permissions.can_manage_channels)
    form = ChannelForm()

    def create() -> Channel:
        return chat.create_channel(community, by=current_user, name=form.name.data, topic=form.topic.data or "",
                                   roles=form.roles.data or [])  # fmt: skip

    if form.validate_on_submit() and (done := saved(form, create)):
        flash(f"#{done.value.name} is ready.", "success")
        return redirect(url_for("chat.channel", slug=slug, name=done.value.name))
    return form_page("chat/new_channel.html", form, community=community)


def _back_to(message_id: int) -> ResponseReturnValue:
    message, _ = chat.get_message(message_id, by=current_user)
    channel = message.channel
    return redirect(url_for("chat.channel", slug=channel.community.slug, name=channel.name) + f"#message-{message.id}")


@bp.post("/chat/messages/<int:message_id>/delete")
@login_required
def delete_message(message_id: int) -> ResponseReturnValue:
    if acted(ActionForm(), lambda: chat.delete_message(message_id, by=current_user)):
        flash("Message deleted.", "info")
    return _back_to(message_id)


@bp.post("/chat/messages/<int:message_id>/hide")
@login_required
def hide_message(message_id: int) -> ResponseReturnValue:
    form = HideForm()
    if not form.validate_on_submit():
        flash("Say why you hide the message; readers will see the reason.", "error")
        return _back_to(message_id)
    if acted(form, lambda: chat.hide_message(message_id, by=current_user, reason=form.reason.data or "")):
        flash("Message hidden. Readers see your reason in its place.", "info")
    return _back_to(message_id)


@bp.post("/chat/messages/<int:message_id>/unhide")
@login_required
def unhide_message(message_id: int) -> ResponseReturnValue:
    if acted(ActionForm(), lambda: chat.unhide_message(message_id, by=current_user)):
        flash("Message shown again.", "info")
    return _back_to(message_id)


@bp.post("/c/<slug>/chat/<name>/slow-mode")
@login_required
def slow_mode(slug: str, name: str) -> ResponseReturnValue:
    community = communities.get_community(slug)
    current, _ = chat.get_channel_by_name(community, name, by=current_user)
    form = SlowModeForm()
    # A value the form refuses (beyond what the database holds) is not an error page: the choice stays as it was.
    if form.validate_on_submit() and (
        done := acted(form, lambda: chat.set_channel_slow_mode(current.id, form.seconds.data, by=current_user))
    ):
        flash(f"Slow mode: one message every {chat.describe_seconds(done.value)} per member." if done.value
              else "Slow mode is off.", "info")  # fmt: skip
    return redirect(url_for("chat.channel", slug=slug, name=name))
