"""Signal receivers that turn domain events into notifications. Connected once, at import."""

from __future__ import annotations

from typing import Any

from lhn import signals
from lhn.accounts.models import User, VerificationRequest, VerificationStatus
from lhn.notifications.services import (
    follow_automatically,
    followers_of,
    notify,
    preferences_of,
    unread_counts,
    unread_holders,
)

# A measure's new signal, by what it means for the measure (lhn.measures.services.alerts.outcome_of).
SIGNAL_KINDS = {"": "measure_signal", "improved": "measure_improved", "worsened": "measure_worsened"}

@signals.verification_decided.connect
def _verification_decided(applicant: User, *, request: VerificationRequest, **_: Any) -> None:
    if request.decided_by is None:  # an operator verified directly: nothing to tell
        return
    approved = request.status == VerificationStatus.APPROVED
    text = (f"Your {request.role.value} role is now verified."
            if approved else f"Your verification request was not approved: {request.decision_note}")  # fmt: skip
    notify(applicant, kind="verification", text=text, url=f"/u/{applicant.username}", actor=request.decided_by)


@signals.verification_revoked.connect
def _verification_revoked(user: User, *, request: VerificationRequest, **_: Any) -> None:
    notify(user, kind="verification", text=f"Your {request.role.value} verification was revoked: "
           f"{request.revocation_reason}", url=f"/u/{user.username}", actor=request.revoked_by)  # fmt: skip


@signals.join_request_decided.connect
def _join_request_decided(community: Any, *, request: Any, **_: Any) -> None:
    approved = request.status.value == "approved"
    text = (f"Welcome! Your request to join {community.name} was approved."
            if approved else f"Your request to join {community.name} was declined."
            + (f" {request.decision_note}" if request.decision_note else ""))  # fmt: skip
    notify(request.user, kind="join_request", text=text, url=f"/c/{community.slug}", actor=request.decided_by,
           community_id=community.id)  # fmt: skip


# --- measures -------------------------------------------------------------------------------------------
# The measures feature computes who to tell (owners, a site's team, an invitee); we only deliver.


@signals.measure_signal_detected.connect
def _measure_signal_detected(measure: Any, *, recipients: list[User], text: str, url: str, actor: User | None,
                             community_id: int, outcome: str = "", **_: Any) -> None:  # fmt: skip
    # A signal is what the data shows, not the submitter's own act: the submitter (on the site's team) is told
    # too, as their teammates are. notify() skips a notice's own actor, so their copy names no actor.
    kind = SIGNAL_KINDS[outcome]
    for recipient in recipients:
        own = actor is not None and recipient.id == actor.id
        notify(recipient, kind=kind, text=text, url=url, actor=None if own else actor,
               community_id=community_id)  # fmt: skip

    _tell_followers("measure", measure.id, measure.community, kind=kind, text=text, url=url,
                    actor=actor, told={r.id for r in recipients})  # fmt: skip


@signals.measure_owner_invited.connect
def _measure_owner_invited(measure: Any, *, recipients: list[User], text: str, url: str, actor: User | None,
                           community_id: int, **_: Any) -> None:  # fmt: skip
    for recipient in recipients:
        notify(recipient, kind="measure_owner_invited", text=text, url=url, actor=actor, community_id=community_id)


# --- moderation (issue 6) ---------------------------------------------------------------------------------
# The member learns privately what moderators did and why. Texts stay free of health details: the
# moderator's reason is their own words, shown to the member concerned only.


@signals.sanction_issued.connect
def _sanction_issued(user: User, *, sanction: Any, **_: Any) -> None:
    kind = sanction.kind.value
    where = f" in {sanction.community.name}" if sanction.community is not None else ""
    if kind == "warning":
        text = f"A moderator{where} sent you a warning: {sanction.reason}"
    elif kind == "mute":
        text = f"You are muted{where} until {sanction.ends_at:%d %b %Y %H:%M} UTC: {sanction.reason}"
    else:
        text = f"Your account was suspended: {sanction.reason}"
    notify(user, kind="sanction", text=text, url="/settings/standing", actor=sanction.issued_by,
           community_id=sanction.community_id)  # fmt: skip


@signals.content_moderated.connect
def _content_moderated(
    author: User, *, action: str, label: str, url: str, reason: str, community: Any, by: User | None, **_: Any
) -> None:
    verb = {"hidden": "hid", "restored": "restored", "redacted": "edited"}.get(action, action)
    who = "A moderator" if by is not None else "Members' flags"
    text = f"{who} {verb} your {label}" + (f": {reason}" if reason else ".")
    notify(author, kind="moderation", text=text, url=url, actor=by, community_id=community.id if community else None)


# --- chat ---------------------------------------------------------------------------------------------


@signals.chat_mentioned.connect
def _chat_mentioned(message: Any, *, recipients: list[User], channel: Any, community: Any, **_: Any) -> None:
    # No message text: a notification may show on a lock screen, and chat may hold health details.
    sender = message.sender
    who = sender.display_name if sender is not None else "Someone"
    for recipient in recipients:
        notify(
            recipient, kind="mention", text=f"{who} mentioned you in #{channel.name} ({community.name})",
            url=f"/c/{community.slug}/chat/{channel.name}#message-{message.id}", actor=sender,
            community_id=community.id,
        )  # fmt: skip


@signals.chat_message_posted.connect
def _chat_message_posted(message: Any, *, channel: Any, community: Any, mentioned: list[User], **_: Any) -> None:
    # Chat is busy: a follower has at most one unread notice per channel ("new messages"), never the text.
    sender = message.sender
    exclude = {u.id for u in mentioned} | ({sender.id} if sender is not None else set())
    followers = followers_of("channel", channel.id, community, exclude=exclude, channel=channel)
    if not followers:
        return
    url = f"/c/{community.slug}/chat/{channel.name}"
    waiting = unread_holders([u.id for u in followers], kind="channel_activity", url=url)
    fresh = [u for u in followers if u.id not in waiting]
    prefs, unread = preferences_of(fresh), unread_counts([u.id for u in fresh])
    for user in fresh:
        notify(user, kind="channel_activity", text=f"New messages in #{channel.name} ({community.name}), a "
               "channel you follow.", url=url, actor=sender, community_id=community.id, prefs=prefs[user.id],
               once=True, unread_before=unread[user.id])  # fmt: skip


# --- posts ----------------------------------------------------------------------------------------------
# Senders are posts (lhn.posts.models.Post). Texts name people, the community and the post's title (what every
# reader of the community sees in its lists, so the person knows which thread), never a body.
TITLE_MAX = 80


def _titled(post: Any) -> str:
    """The post's title in quotes, shortened at a word to TITLE_MAX characters."""
    title = " ".join(str(post.title).split())
    if len(title) > TITLE_MAX:
        cut = title[: TITLE_MAX - 1]
        if title[TITLE_MAX - 1] != " ":  # the cut fell inside a word: leave that word out
            cut = cut.rsplit(" ", 1)[0]
        title = cut.rstrip(" ,;:.") + "…"
    return f"“{title}”"


def _about(post: Any, recipient: Any, kind: str, text: str, *, actor: Any, anchor: str = "") -> None:
    """A notice about `post`: it links to the post's page (at `anchor`, "#answer-12") and belongs to its community."""
    notify(recipient, kind=kind, text=text, url=post.path + anchor, actor=actor, community_id=post.community_id)


def _tell_followers(target_type: str, target_id: int, community: Any, *, kind: str, text: str, url: str,
                    actor: Any, told: set[int], channel: Any = None) -> None:  # fmt: skip
    """Tell the target's followers who may still read it, but its actor and those already told of this event."""
    exclude = told | ({actor.id} if actor is not None else set())
    followers = followers_of(target_type, target_id, community, exclude=exclude, channel=channel)
    prefs, unread = preferences_of(followers), unread_counts([u.id for u in followers])
    for user in followers:
        notify(user, kind=kind, text=text, url=url, actor=actor, community_id=community.id, prefs=prefs[user.id],
               once=True, unread_before=unread[user.id])  # fmt: skip


@signals.post_created.connect
def _post_created(post: Any, *, by: Any, **_: Any) -> None:
    follow_automatically(by, "post", post.id, post.community_id)
    _tell_followers("community", post.community_id, post.community, kind="new_post",
                    text=f"{by.display_name} posted a new {post.kind.label.lower()} {_titled(post)} in "
                    f"{post.community.name}.", url=post.path, actor=by, told=set())  # fmt: skip


@signals.answer_posted.connect
def _answer_posted(post: Any, *, answer: Any, **_: Any) -> None:
    text = f"{answer.author.display_name} answered your question {_titled(post)} in {post.community.name}."
    _about(post, post.author, "answer", text, actor=answer.author, anchor=f"#answer-{answer.id}")
    follow_automatically(answer.author, "post", post.id, post.community_id)
    _tell_followers("post", post.id, post.community, kind="followed_answer",
                    text=f"{answer.author.display_name} answered {_titled(post)} in {post.community.name}.",
                    url=f"{post.path}#answer-{answer.id}", actor=answer.author, told={post.author_id})  # fmt: skip


@signals.comment_posted.connect
def _comment_posted(post: Any, *, comment: Any, answer: Any = None, **_: Any) -> None:
    if answer is not None:
        target, what = answer.author, f"answer to {_titled(post)}"
    else:
        target, what = post.author, f"{post.kind.label.lower()} {_titled(post)}"
    url = f"{post.path}#comment-{comment.id}"
    text = f"{comment.author.display_name} commented on your {what} in {post.community.name}."
    _about(post, target, "comment", text, actor=comment.author, anchor=f"#comment-{comment.id}")
    follow_automatically(comment.author, "post", post.id, post.community_id)
    _tell_followers("post", post.id, post.community, kind="followed_comment",
                    text=f"{comment.author.display_name} commented on {_titled(post)} in {post.community.name}.",
                    url=url, actor=comment.author, told={target.id})  # fmt: skip


@signals.answer_vetted.connect
def _answer_vetted(post: Any, *, answer: Any, vetting: Any, vetted: bool, **_: Any) -> None:
    who, where = vetting.by.display_name, f"to {_titled(post)} in {post.community.name}"
    text = (f"{who} vetted your answer {where}." if vetted
            else f"{who} removed the vetted mark from your answer {where}.")  # fmt: skip
    url = f"{post.path}#answer-{answer.id}"
    kind = "vetted" if vetted else "unvetted"
    _about(post, answer.author, kind, text, actor=vetting.by, anchor=f"#answer-{answer.id}")
    if vetted:
        _tell_followers("post", post.id, post.community, kind="followed_vetted",
                        text=f"{who} vetted an answer to {_titled(post)} in {post.community.name}.", url=url,
                        actor=vetting.by, told={answer.author_id})  # fmt: skip


@signals.vetting_review_due.connect
def _vetting_review_due(post: Any, *, answer: Any, vetting: Any, reason: str, by: Any, **_: Any) -> None:
    why = f" {by.display_name} asked: {reason}" if by is not None and reason else " Its review-by date has come."
    text = f"Please review your vetting of an answer to “{post.title}”.{why}"
    _about(post, vetting.by, "vetting_review", text, actor=by, anchor=f"#answer-{answer.id}")


@signals.reminder_due.connect
def _reminder_due(kind: str, *, recipients: list[Any], text: str, url: str, community_id: int | None = None,
                  **_: Any) -> None:  # fmt: skip
    for person in recipients:
        notify(person, kind=kind, text=text, url=url, community_id=community_id)


@signals.mentioned.connect
def _mentioned(post: Any, *, users: list[Any], by: Any, url: str, **_: Any) -> None:
    for user in users:
        notify(user, kind="mention", text=f"{by.display_name} mentioned you in {_titled(post)} in "
               f"{post.community.name}.", url=url, actor=by, community_id=post.community_id)  # fmt: skip


@signals.call_interest_expressed.connect
def _call_interest(post: Any, *, interest: Any, **_: Any) -> None:
    text = f"{interest.user.display_name} is interested in your call for collaborators {_titled(post)}."
    _about(post, post.author, "call_interest", text, actor=interest.user, anchor="#interested")


@signals.call_interest_decided.connect
def _call_interest_decided(post: Any, *, interest: Any, **_: Any) -> None:
    decided = f"{post.author.display_name} {interest.status.value} your interest"
    text = f"{decided} in their call for collaborators {_titled(post)}."
    _about(post, interest.user, "call_decision", text, actor=post.author)


@signals.idea_status_changed.connect
def _idea_status_changed(post: Any, *, change: Any, voters: list[Any], **_: Any) -> None:
    seen = set()
    status = change.to_status.label.lower()
    for user, whose in [(post.author, "Your idea"), *((v, "An idea you voted for,") for v in voters)]:
        if user.id in seen:
            continue
        seen.add(user.id)
        name = _titled(post) + ("," if whose.endswith(",") else "")
        text = f"{whose} {name} in {post.community.name} is now {status}."
        _about(post, user, "idea_status", text, actor=change.by, anchor="#timeline")
    _tell_followers("post", post.id, post.community, kind="followed_idea_status",
                    text=f"The idea {_titled(post)} in {post.community.name} is now {status}.",
                    url=f"{post.path}#timeline", actor=change.by, told=seen)  # fmt: skip


@signals.content_hidden.connect
def _content_hidden(post: Any, *, target: str, obj: Any, by: Any, reason: str, hidden: bool, **_: Any) -> None:
    anchor = "" if target == "post" else f"#{target}-{obj.id}"
    # A hidden post's own notice doesn't repeat its title: the title may be why it was hidden (an identifier).
    what = {"post": post.kind.label.lower(), "answer": f"answer to {_titled(post)}"}.get(
        target, f"{target} on {_titled(post)}"
    )
    text = (f"A moderator hid your {what} in {post.community.name}: {reason}" if hidden
            else f"A moderator restored your {what} in {post.community.name}.")  # fmt: skip
    notify(obj.author, kind="hidden" if hidden else "restored", text=text, url=post.path + anchor, actor=by,
           community_id=post.community_id)  # fmt: skip
