"""The OpenAPI 3.1 document at /api/v1/openapi.json, assembled from each feature's OPENAPI_PATHS."""

from __future__ import annotations

from types import ModuleType
from typing import Any

ERROR_RESPONSES = {
    "400": "Malformed request (not a JSON object)",
    "401": "Not authenticated, or the bearer token is revoked or wrong",
    "403": "Not allowed, or a cookie-session write without the CSRF header or from another site's page",
    "404": "Not found (also for things the caller may not see)",
    "409": "Conflict: already handled by someone else",
    "413": "Payload too large: over a documented cap; `fields` says which",
    "422": "Validation failed; `fields` names each bad field",
    "429": "Rate limited; see Retry-After",
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def op(
    summary: str,
    *,
    response: dict[str, Any] | None = None,
    status: str = "200",
    body: dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    auth: bool = True,
    errors: tuple[str, ...] = ("401", "403", "404", "422"),
    tag: str = "",
) -> dict[str, Any]:
    """One operation, with the shared error responses it can return."""
    operation: dict[str, Any] = {"summary": summary, "responses": {}}
    if tag:
        operation["tags"] = [tag]
    operation["responses"][status] = {"description": "OK"}
    if response is not None:
        operation["responses"][status]["content"] = {"application/json": {"schema": response}}
    for code in ("400", *errors, "429") if body is not None else (*errors, "429"):
        operation["responses"][code] = {
            "description": ERROR_RESPONSES[code],
            "content": {"application/json": {"schema": ref("Error")}},
        }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params:
        operation["parameters"] = params
    if not auth:
        operation["security"] = []
    return operation


def path_param(name: str, schema_type: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": schema_type}}


def query_param(name: str, description: str, schema_type: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": schema_type}}  # fmt: skip


CURSOR = query_param("cursor", "Opaque keyset cursor from `next_cursor` of the previous page")


def page_of(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"items": {"type": "array", "items": item}, "next_cursor": {"type": ["string", "null"]}},
        "required": ["items", "next_cursor"],
    }


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                },
                "required": ["code", "message"],
            }
        },
        "required": ["error"],
    },
    "Person": {
        "type": "object",
        "properties": {
            "username": {"type": "string"},
            "display_name": {"type": "string"},
            "role": {"enum": ["patient", "caregiver", "clinician", "researcher", "other"]},
            "verification": {"enum": ["verified", "claimed", None]},
            "is_admin": {"type": "boolean"},
            "institution": {"type": ["object", "null"]},
            "community_role": {"enum": ["member", "moderator", "owner"]},
        },
        "required": ["username", "display_name", "role"],
    },
}


def document(features: list[ModuleType] | None = None) -> dict[str, Any]:
    if features is None:
        from lhn.api.routes import FEATURE_APIS

        features = FEATURE_APIS
    paths: dict[str, Any] = {
        "/openapi.json": {"get": op("This document", auth=False, errors=())},
    }
    schemas = dict(SCHEMAS)
    for module in features:
        for path, operations in module.OPENAPI_PATHS.items():
            paths.setdefault(path, {}).update(operations)
        schemas.update(getattr(module, "OPENAPI_SCHEMAS", {}))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "LHN API",
            "version": "1",
            "description": "Every capability of LHN as JSON. Authenticate with the session cookie "
            "(and the X-CSRFToken header on writes) or `Authorization: Bearer <personal access token>`. "
            'Errors are always `{"error": {"code", "message", "fields"}}`.',
        },
        "servers": [{"url": "/api/v1"}],
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "lhn_session"},
            },
        },
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": dict(sorted(paths.items())),
    }
