"""GET /healthz: 200 when the database answers and takes writes; 503 when it is down, or "degraded" when a
write could not get SQLite's write lock in time (a stuck writer stalls everyone's writes)."""

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from lhn import database
from lhn.extensions import db, limiter

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz() -> ResponseReturnValue:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database="down"), 503
    if not database.can_write(timeout_ms=current_app.config["HEALTH_WRITE_TIMEOUT_MS"]):
        return jsonify(status="degraded", database="ok", writes="blocked"), 503
    return jsonify(status="ok", database="ok")
