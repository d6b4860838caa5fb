"""The change package over JSON: the package with each change's evidence (also its JSON export), proposing an
adopted idea, the owners' decisions, and every version. Same services as the pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn import attachments, inputs
from lhn.api import bp, created, json_body, person_json, require_user
from lhn.api.openapi import ID, PHI_CONFIRM, TEXT, body_schema, nullable, op, path_param, ref
from lhn.attachments import Attachment
from lhn.attachments.api import attachment_json
from lhn.database import iso_or_none, transactional
from lhn.limits import user_rate_limited
from lhn.programme import services as programme
from lhn.programme.models import PackageEntry, PackageVersion


def entry_json(entry: PackageEntry, evidence: dict[str, Any] | None = None,
               files: list[Attachment] | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "id": entry.id,
        "idea_id": entry.idea_id,
        "title": entry.title,
        "summary": entry.summary,
        "summary_html": entry.summary_html,
        "status": entry.status.value,
        "proposed_by": person_json(entry.proposed_by) if entry.proposed_by else None,
        "proposed_at": iso_or_none(entry.created_at),
        "decided_by": person_json(entry.decided_by) if entry.decided_by else None,
        "decided_at": iso_or_none(entry.decided_at),
        "decision_note": entry.decision_note,
        "evidence": evidence if evidence is not None else entry.evidence,
        "attachments": [attachment_json(a) for a in files or []],
    }


def version_json(version: PackageVersion) -> dict[str, Any]:
    return {"number": version.number, "summary": version.summary, "at": iso_or_none(version.created_at),
            "by": person_json(version.created_by) if version.created_by else None,
            "changes": version.snapshot}  # fmt: skip


# The owners' decisions on an entry, by the last part of their address (each its own endpoint, <decision>_change).
DECISIONS: dict[str, Callable[..., PackageVersion | None]] = {
    "accept": programme.accept, "decline": programme.decline, "remove": programme.remove}  # fmt: skip


@bp.get("/communities/<slug>/change-package")
def change_package(slug: str) -> ResponseReturnValue:
    community, _can_edit = programme.readable_community(current_user, slug)
    view = programme.package_view(community, viewer=current_user)
    entries = [v.entry for v in view.accepted + view.proposed]
    files = attachments.attachments_of(programme.PACKAGE_ENTRY, attachments.stamps(programme.PACKAGE_ENTRY, entries))
    return jsonify(community=community.slug, version=view.version.number if view.version else None,
                   changes=[entry_json(v.entry, v.evidence, files[v.entry.id]) for v in view.accepted],
                   proposed=[entry_json(v.entry, v.evidence, files[v.entry.id]) for v in view.proposed])  # fmt: skip


@bp.post("/communities/<slug>/change-package/proposals")
@user_rate_limited("programme")
@transactional
def propose_change(slug: str) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    community, _can_edit = programme.readable_community(user, slug)
    entry = programme.propose(community, inputs.ident(body, "idea_id"), inputs.text(body, "summary"), by=user,
                              confirm_phi=inputs.phi_confirmed(body))  # fmt: skip
    return created(entry_json(entry))


@bp.post("/change-package/<int:entry_id>/accept", endpoint="accept_change", defaults={"decision": "accept"})
@bp.post("/change-package/<int:entry_id>/decline", endpoint="decline_change", defaults={"decision": "decline"})
@bp.post("/change-package/<int:entry_id>/remove", endpoint="remove_change", defaults={"decision": "remove"})
@user_rate_limited("programme")
@transactional
def decide_change(entry_id: int, decision: str) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    entry = programme.get_entry(entry_id, viewer=user)
    version = DECISIONS[decision](entry, by=user, note=inputs.text(body, "note", ""))
    return jsonify(entry_json(entry) | {"version": version.number if version else None})


@bp.get("/communities/<slug>/change-package/versions")
def change_package_versions(slug: str) -> ResponseReturnValue:
    community, _can_edit = programme.readable_community(current_user, slug)
    return jsonify(items=[version_json(v) for v in programme.package_versions(community)])


ENTRY_ID = path_param("entry_id", "integer")
SLUG = path_param("slug")
NOTE_BODY = body_schema(None, {"note": {**TEXT, "maxLength": 500, "description": "Why (needed to decline or remove)"}})
OPENAPI_SCHEMAS = {
    "PackageEntry": {"type": "object", "properties": {
        "id": ID, "idea_id": ID, "title": TEXT, "summary": TEXT, "summary_html": TEXT,
        "status": {"enum": ["proposed", "accepted", "declined", "removed"]}, "proposed_at": TEXT,
        "decided_at": nullable(TEXT), "decision_note": TEXT, "version": nullable(ID),
        "evidence": nullable({"type": "object", "description": (
            "`cycles` (each PDSA cycle testing the idea: site, measure, dates, act), `adopting_sites`, `signals` "
            "(per adopting site: `outcome` improved, worsened, mixed, no signal or not shared, and `since`, the "
            "first period signalling after the site began), `as_of`")}),
        "attachments": {"type": "array", "items": ref("Attachment")}}},
}  # fmt: skip
DECIDE_ERRORS = ("401", "403", "404", "422", "429")
OPENAPI_PATHS = {
    "/communities/{slug}/change-package": {
        "get": op("The change package: accepted changes and open proposals, each with its evidence as the reader may "
                  "see it; the package's JSON export", params=[SLUG], auth=False, tag="programme",
                  errors=("403", "404"), response={"type": "object", "properties": {
                      "community": TEXT, "version": nullable(ID),
                      "changes": {"type": "array", "items": ref("PackageEntry")},
                      "proposed": {"type": "array", "items": ref("PackageEntry")}}}),
    },
    "/communities/{slug}/change-package/proposals": {
        "post": op("Propose an idea a site adopted (members)", params=[SLUG], status="201", tag="programme",
                   response=ref("PackageEntry"), errors=DECIDE_ERRORS,
                   body=body_schema({"idea_id": ID, "summary": TEXT}, {"confirm_phi": PHI_CONFIRM})),
    },
    "/change-package/{entry_id}/accept": {
        "post": op("Accept a proposal (owners): a new version, the evidence frozen in it", params=[ENTRY_ID],
                   tag="programme", response=ref("PackageEntry"), body=NOTE_BODY, body_required=False,
                   errors=DECIDE_ERRORS),
    },
    "/change-package/{entry_id}/decline": {
        "post": op("Decline a proposal, saying why (owners)", params=[ENTRY_ID], tag="programme",
                   response=ref("PackageEntry"), body=NOTE_BODY, body_required=False, errors=DECIDE_ERRORS),
    },
    "/change-package/{entry_id}/remove": {
        "post": op("Take an accepted change out, saying why (owners): a new version", params=[ENTRY_ID],
                   tag="programme", response=ref("PackageEntry"), body=NOTE_BODY, body_required=False,
                   errors=DECIDE_ERRORS),
    },
    "/communities/{slug}/change-package/versions": {
        "get": op("Every version of the package, newest first, each with its changes and their evidence then",
                  params=[SLUG], auth=False, tag="programme", errors=("403", "404")),
    },
}  # fmt: skip
