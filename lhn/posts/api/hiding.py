"""Hiding and restoring posts, answers and comments over JSON (community moderators)."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from lhn import inputs
from lhn.api import bp, json_body, require_user
from lhn.database import transactional
from lhn.posts import services as posts


@transactional
def moderate(item_id: int, target: str, action: str) -> ResponseReturnValue:
    user, data = require_user(), json_body()
    # Hiding needs the reason readers will see; restoring may give one for the log.
    reason = inputs.text(data, "reason", missing="") if action == "hide" else inputs.text(data, "reason", "")
    service = posts.hide_content if action == "hide" else posts.restore_content
    item = service(target, item_id, by=user, reason=reason)  # type: ignore[arg-type]
    return jsonify(id=item.id, target=target, hidden=item.hidden_at is not None, reason=item.hidden_reason)


for _target in ("post", "answer", "comment"):
    for _action in ("hide", "restore"):
        bp.add_url_rule(f"/{_target}s/<int:item_id>/{_action}", endpoint=f"{_action}_{_target}", view_func=moderate,
                        methods=["POST"], defaults={"target": _target, "action": _action})  # fmt: skip
