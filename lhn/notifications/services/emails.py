"""Notices by email: at once for the categories a person chose so, with a one-click unsubscribe in every email (a
signed link that needs no login, and the List-Unsubscribe headers of RFC 8058). Titles and links only."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, render_template
from itsdangerous import BadSignature, URLSafeSerializer

from lhn.accounts.models import User
from lhn.accounts.permissions import can_receive_email
from lhn.database import utcnow
from lhn.errors import NotFound
from lhn.extensions import db
from lhn.mail import public_origin, queue_email
from lhn.notifications.models import Notification
from lhn.notifications.services.preferences import CATEGORIES, Preferences, category_of, send_time, turn_off_email

# Kinds whose notice text is only names, a community and a post's title or a channel's name (what every reader of
# the community sees): it may go in an email. Others (a moderator's reason, a measure's signal) get a plain line.
SAFE_TEXT_KINDS = frozenset({
    "answer", "comment", "vetted", "unvetted", "call_interest", "call_decision", "idea_status", "mention",
    "followed_answer", "followed_comment", "followed_vetted", "followed_idea_status", "new_post", "channel_activity",
})  # fmt: skip
REMINDER_PREFIX = "reminder_"  # lhn/reminders.py's kinds: their text says what is due, never health details
PLAIN_LINES = {
    "verification": "There is news about your verification.",
    "join_request": "Your request to join a community was decided.",
    "sanction": "A moderator sent you a message about your account.",
    "moderation": "A moderator acted on something you wrote.",
    "hidden": "A moderator acted on something you wrote.",
    "restored": "A moderator acted on something you wrote.",
    "measure_signal": "A measure shows a new signal: see its chart.",
    "measure_improved": "A measure improved: see its chart.",
    "measure_worsened": "A measure got worse: see its chart.",
    "measure_owner_invited": "You were invited to co-own a measure.",
}
CATEGORY_LABEL = {key: label for key, label, _ in CATEGORIES}
SALT = "lhn-unsubscribe"


def public_url(path: str) -> str:
    """An absolute link for an email: the site's public origin (lhn.mail.public_origin) and a local path."""
    return public_origin().rstrip("/") + path


def headline(notice: Notification) -> str:
    """The line an email shows for a notice: its own text where that is safe to put in a mailbox."""
    if notice.kind in SAFE_TEXT_KINDS or notice.kind.startswith(REMINDER_PREFIX):
        return notice.text
    return PLAIN_LINES.get(notice.kind, "Something on LHN is waiting for you.")


def unsubscribe_token(user: User | int, category: str) -> str:
    user_id = user if isinstance(user, int) else user.id
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT).dumps([user_id, category])


def unsubscribe_headers(user_id: int, categories: list[str]) -> tuple[str, dict[str, str]]:
    """The unsubscribe link (for all of `categories` at once) and the RFC 8058 headers for an email to `user_id`."""
    link = public_url(f"/unsubscribe/{unsubscribe_token(user_id, ','.join(categories))}")
    return link, {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def read_unsubscribe(token: str) -> tuple[User, list[str]]:
    """Who and which categories a signed unsubscribe link names. Raises NotFound for a link we didn't sign."""
    try:
        user_id, categories = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise NotFound("This unsubscribe link is not valid.") from None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    names = [c for c in str(categories).split(",") if c in CATEGORY_LABEL]
    if user is None or not names:
        raise NotFound("This unsubscribe link is not valid.")
    return user, names


def unsubscribe(token: str) -> tuple[User, list[str]]:
    """Anyone holding the link (no login: it was sent to the person) turns that category's email off. Flushes.
    Raises NotFound for a bad link."""
    user, categories = read_unsubscribe(token)
    for category in categories:
        turn_off_email(user, category)
    return user, categories


def email_notice(recipient: User, notice: Notification, prefs: Preferences, *, now: datetime | None = None) -> None:
    """Queue the notice's email in the caller's transaction; in quiet hours it waits for their end. Nothing for an
    address its owner hasn't confirmed."""
    if not can_receive_email(recipient):
        return
    now = now or utcnow()
    category = category_of(notice.kind)
    line, link = headline(notice), public_url(f"/notifications/{notice.id}")
    unsubscribe_link, headers = unsubscribe_headers(recipient.id, [category])
    reason = f"You get this email because your LHN setting for “{CATEGORY_LABEL[category]}” is “email at once”."
    text = f"{line}\n\nOpen it on LHN: {link}\n\n{footer(reason, unsubscribe_link)}"
    html = render_email_html(items=[(line, link)], intro=None, reason=reason, unsubscribe_link=unsubscribe_link)
    queue_email(to=recipient.email, subject=_subject(line), text=text, html=html, kind="notification",
                headers=headers, dedupe_key=f"notice:{notice.id}", not_before=send_time(prefs, now))  # fmt: skip


def _subject(line: str) -> str:
    return line if len(line) <= 120 else line[:119].rsplit(" ", 1)[0] + "…"


def footer(reason: str, unsubscribe_link: str) -> str:
    """The text part's last lines: why the email came, and how to stop it."""
    return (
        f"--\n{reason}\nStop these emails: {unsubscribe_link}\nAll settings: {public_url('/settings/notifications')}\n"
    )


def render_email_html(*, items: list[tuple[str, str]], intro: str | None, reason: str, unsubscribe_link: str,
                      more: int = 0, more_link: str = "") -> str:  # fmt: skip
    """The HTML part: the same lines and links as the text part, readable on a phone."""
    return render_template("notifications/email.html", items=items, intro=intro, reason=reason,
                           unsubscribe_link=unsubscribe_link, more=more, more_link=more_link,
                           settings_link=public_url("/settings/notifications"))  # fmt: skip
