"""A bare Flask-SocketIO broadcast app: the baseline for bench/chat_fanout.py.

Same async mode, message queue and Engine.IO settings as LHN (from the same LHN_* variables), served
by the same gunicorn configuration; no authentication, no database: `join` enters a room, `send`
broadcasts a payload shaped and sized like an LHN chat message to it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from flask import Flask, jsonify
from flask_socketio import SocketIO, emit, join_room

ROOM = "channel:1"
app = Flask(__name__)
socketio = SocketIO(
    app,
    async_mode=os.environ.get("LHN_SOCKETIO_ASYNC_MODE", "threading"),
    message_queue=os.environ.get("LHN_SOCKETIO_MESSAGE_QUEUE") or None,
    channel="bare-" + os.environ.get("LHN_SOCKETIO_CHANNEL", "bench"),
    max_http_buffer_size=64 * 1024,
    ping_interval=25,
    ping_timeout=20,
)
_next_id = iter(range(1, 10**9))


@app.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    return jsonify(status="ok")


@socketio.on("join")
def on_join(_data):  # type: ignore[no-untyped-def]
    join_room(ROOM)
    return {"ok": True}


@socketio.on("send")
def on_send(data):  # type: ignore[no-untyped-def]
    message_id = next(_next_id)
    payload = {
        "id": message_id, "channel_id": 1, "seq": message_id, "client_id": data["client_id"],
        "sender": {"username": "bench_sender", "display_name": "Bench sender", "role": "patient",
                   "verification": None, "is_admin": False, "institution": None, "community_role": "member"},
        "body": data["body"], "body_html": f"<p>{data['body']}</p>",
        "created_at": datetime.now(UTC).isoformat(), "edited_at": None, "deleted": False, "hidden": None,
    }  # fmt: skip
    emit("message_created", payload, to=ROOM)
    return {"ok": True, "id": message_id}
