"""Domain signals, for reactions that flow against the dependency direction."""

from blinker import Namespace

_signals = Namespace()

# sender: the user. Their open sockets must be disconnected (sessions were invalidated).
sessions_invalidated = _signals.signal("sessions-invalidated")
# sender: the user; kwargs: token (the ApiToken row). Sockets opened with it must close.
token_revoked = _signals.signal("token-revoked")
# sender: the community; kwargs: user. Their sockets must leave the community's rooms.
member_removed = _signals.signal("member-removed")
# sender: the user whose verification was decided; kwargs: request.
verification_decided = _signals.signal("verification-decided")
# sender: the user whose verification site staff revoked; kwargs: request (with revoked_by, revocation_reason).
verification_revoked = _signals.signal("verification-revoked")
# A site admin appointed a verifier or ended the appointment. sender: the user; kwargs: by, appointed (bool).
verifier_changed = _signals.signal("verifier-changed")
# sender: the community; kwargs: request (approved or denied, with decided_by and decision_note).
join_request_decided = _signals.signal("join-request-decided")

# --- posts <-> measures (siblings that must not import each other) -----------------------------------
# Measures asks about ideas without importing posts. sender: the community id; kwargs: ids (a list of
# idea post ids, or None for the community's ideas). Posts' receiver returns
# {idea_id: {"id", "title", "status", "url", "adopted_at" (datetime | None)}} for ideas that exist and
# are not withdrawn or hidden. Callers merge the dicts returned by all receivers.
ideas_requested = _signals.signal("ideas-requested")
# A PDSA cycle was closed (act: adopt, adapt or abandon). sender: the cycle; kwargs: idea_id, by (the
# user who closed it), summary (Markdown). Posts' receiver adds the summary to the idea as a comment.
pdsa_cycle_closed = _signals.signal("pdsa-cycle-closed")

# --- measures -------------------------------------------------------------------------------------------
# New data made an SPC rule fire. sender: the measure; kwargs: recipients (the owners and the site's team,
# computed by measures; the submitter too, when among them: a signal is the data's finding, not their act, so
# the receiver tells them as well), text (no health details), url, actor (who submitted), community_id.
measure_signal_detected = _signals.signal("measure-signal-detected")
# An owner invited a community member to co-own a measure. Same kwargs (recipients: the invitee).
measure_owner_invited = _signals.signal("measure-owner-invited")
# Somebody exported data (a measure's CSV or FHIR reports). sender: the reader (User, or None for an anonymous
# reader of a public community); kwargs: object_type (str, e.g. "measure"), object_id (int), community_id
# (int | None), file_format (str: "csv" | "fhir"). Moderation's audit receiver records it: never the data.
# (Views of restricted data use restricted_data_viewed, below.)
data_exported = _signals.signal("data-exported")

# --- moderation, audit and my data (issue 6) --------------------------------------------------------
# Receivers live in lhn/moderation/handlers.py unless said otherwise; senders never import moderation.
#
# A request to join a restricted community was made. sender: the community; kwargs: request.
join_requested = _signals.signal("join-requested")
# A clinician or researcher submitted verification evidence. sender: the user; kwargs: request.
verification_submitted = _signals.signal("verification-submitted")
# Someone became a member (joined, or a join request was approved). sender: the community; kwargs:
# membership. Moderation re-applies a mute that is still running (leaving and rejoining doesn't lift it).
member_joined = _signals.signal("member-joined")
# An owner (or admin) appointed or removed a moderator. sender: the community; kwargs: membership,
# old_role (CommunityRole), by (User). Recorded in the audit trail.
member_role_changed = _signals.signal("member-role-changed")
# Somebody looked at restricted data (verification evidence, hidden original content). sender: the
# viewer (User); kwargs: object_type (str), object_id (int), community_id (int | None). Audit only.
restricted_data_viewed = _signals.signal("restricted-data-viewed")
# A site admin suspended a user. sender: the user; kwargs: until (datetime), reason (str), by (User).
# Sessions are already invalidated (sessions_invalidated was sent too). Chat's receiver disconnects
# the user's open sockets (phase 2 wiring).
user_suspended = _signals.signal("user-suspended")
# A sanction was issued (warning, mute, suspension). sender: the sanctioned user; kwargs: sanction.
# The notifications receiver sends the private notice.
sanction_issued = _signals.signal("sanction-issued")
# Moderation acted on someone's content or profile (hidden, restored, redacted). sender: the author
# (User); kwargs: action (str), label (str, e.g. "answer"), url (str, local), reason (str),
# community (Community | None), by (User | None: None when hidden automatically by flags).
content_moderated = _signals.signal("content-moderated")
# The author confirmed publishing text the PHI guard flagged (lhn.phi.check). sender: the author (User);
# kwargs: kinds (list[str], e.g. ["phone"]), target_type (str), target_id (int), community_id (int | None).
# Moderation records who, what kinds, where and when -- never the text.
phi_confirmed = _signals.signal("phi-confirmed")
# Review items for phase 2 features. sender: the target type ("answer"); kwargs: target_id (int),
# community_id (int), kind ("answer_vetting" | "vetted_answer_changed"), subject_user_id (the answer's
# author, optional: nobody reviews their own).
# review_needed opens the item (idempotent: one open item per kind and target); review_settled closes it
# (kwargs: target_id, kind, by, resolution: e.g. "vetted", "unvetted", "withdrawn").
review_needed = _signals.signal("review-needed")
# A vetting's review fell due (its review-by date came, or a curator asked for a re-review). sender: the post;
# kwargs: answer, vetting, reason ("" when the date came), by (the curator, or None).
vetting_review_due = _signals.signal("vetting-review-due")
review_settled = _signals.signal("review-settled")
# A reminder fell due (lhn/reminders.py claimed it once). sender: its kind (one of lhn.reminders.KINDS, all
# "reminder_..."); kwargs: recipients (list[User]), text (what is due, no health details), url (local path),
# community_id (int | None). The notifications receiver turns it into a notice for each recipient.
reminder_due = _signals.signal("reminder-due")
# A vetting decision, for the public moderation log. sender: the community; kwargs: action ("vetted" |
# "unvetted" | "revetted"), target_type, target_id, url, reason (str), by (User).
vetting_recorded = _signals.signal("vetting-recorded")
# My data. Every feature that stores what a member wrote or did connects one receiver to each:
# export_requested: sender the user; return a dict {section: JSON-able value}, section names unique
#   across features (e.g. {"posts": [...]}). Never include other people's personal data.
# account_erasing: sender the user; kwargs mode ("keep" | "remove") and former (the shared
#   "former member" User). "keep": reassign what they wrote to `former` (and drop votes, drafts,
#   presence); "remove": delete what they wrote. Either way delete their private data. Raise
#   ValidationFailed to refuse (the whole deletion rolls back). The User row is deleted last, by
#   moderation, after every receiver ran; audit rows (ids only) stay.
export_requested = _signals.signal("export-requested")
account_erasing = _signals.signal("account-erasing")

# --- chat (communities must not import chat) -------------------------------------------------------
# sender: the new community; kwargs: by (its creator). Chat's receiver creates #general in the same
# transaction.
community_created = _signals.signal("community-created")
# sender: the chat message; kwargs: recipients (users mentioned with @username who may read the
# channel, never the author), channel, community. Notifications' receiver tells each of them.
chat_mentioned = _signals.signal("chat-mentioned")
# sender: a new chat message; kwargs: channel, community, mentioned (the users chat_mentioned tells). Notifications'
# receiver tells the channel's followers, one unread notice per channel at a time.
chat_message_posted = _signals.signal("chat-message-posted")
# A moderator hid or showed again a chat message from the chat page or its API (the review queue's hides
# go through moderation's adapter and are logged there). sender: the message; kwargs: by (User), reason
# (str), hidden (bool). Moderation's receiver logs it publicly, audits it and tells the author.
chat_message_hidden = _signals.signal("chat-message-hidden")
# A moderator turned slow mode on, changed it or turned it off for a thread (any feature's: a chat channel,
# a post). sender: the community; kwargs: target_type (str, "channel" or "post"), target_id (int), label (str, e.g.
# "#general"), url (str, local), seconds (int, 0 = off), by (User). Moderation logs it publicly and audits it.
slow_mode_changed = _signals.signal("slow-mode-changed")

# --- posts: notifications, search and moderation listen (sender: the post) ----------------------------
# The post's searchable content or visibility changed (created, edited, answered, vetted, hidden,
# withdrawn, restored). Search re-indexes it.
post_content_changed = _signals.signal("post-content-changed")
# kwargs: by (the author). A new post (question, idea, experience, call). Notifications' receiver makes the author
# follow it and tells the community's followers.
post_created = _signals.signal("post-created")
# kwargs: answer. A new answer to a question.
answer_posted = _signals.signal("answer-posted")
# kwargs: comment. A new comment on a post or on one of its answers.
comment_posted = _signals.signal("comment-posted")
# kwargs: answer, vetting (the new history row), vetted (bool: vetted or unvetted).
answer_vetted = _signals.signal("answer-vetted")
# kwargs: answer, vetting (the vetting it no longer matches). A vetted answer was edited: it shows
# "changed since vetting" until re-vetted; moderation puts it in the review queue.
vetted_answer_changed = _signals.signal("vetted-answer-changed")
# kwargs: users (newly mentioned people who may read the post), by, url.
mentioned = _signals.signal("mentioned")
# kwargs: change (IdeaStatusChange), voters (users who voted for the idea).
idea_status_changed = _signals.signal("idea-status-changed")
# kwargs: interest (CallInterest). A member is interested in a call for collaborators.
call_interest_expressed = _signals.signal("call-interest-expressed")
# kwargs: interest (accepted or declined by the call's author).
call_interest_decided = _signals.signal("call-interest-decided")
# kwargs: target ("post", "answer" or "comment"), obj, by, reason, hidden (bool: hidden or restored).
content_hidden = _signals.signal("content-hidden")

# --- consent (pro must not import the features that use consent) ------------------------------------------
# sender: the user; kwargs: community_id, purpose (lhn.pro.models.Purpose). The person turned a purpose off:
# research revokes their contacts to studies in that community, in the same transaction.
consent_withdrawn = _signals.signal("consent-withdrawn")
