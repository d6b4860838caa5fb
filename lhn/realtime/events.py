"""Names of the server -> client events every live page shares (features name their own events)."""

from __future__ import annotations

EVENT_NOTIFICATION = "notification"  # {id?, kind?, text?, url?, created_at?, unread}
EVENT_ANSWER_POSTED = "answer_posted"
EVENT_ANSWER_VETTED = "answer_vetted"
EVENT_VOTE_CHANGED = "vote_changed"  # {post_id, answer_id (None for the post itself), score}
EVENT_ERROR = "error"  # {event, code, message, fields?, kinds?}: a client event failed
EVENT_BADGE_CHANGED = "badge_changed"  # {username, verification}: a verification was granted or revoked
RESYNC = "resync"  # {}: the server may have missed deliveries (message queue outage): sync everything
# Client -> server (each may carry an ack callback: {"ok": true, ...} or {"ok": false, "error": {...}}).
WATCH = "watch"  # {room: "post:12"} -> {ok: true} | {ok: false, error}
UNWATCH = "unwatch"  # {room}
