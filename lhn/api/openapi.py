"""The OpenAPI 3.1 document at /api/v1/openapi.json, assembled from each feature's OPENAPI_PATHS."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from lhn.inputs import MAX_DEPTH, MAX_INT, MAX_NUMBER

ERROR_RESPONSES = {
    "400": "Malformed request: a body that is not a JSON object or is nested more than a few levels deep, or a NUL "
    "character (%00) in the address",
    "401": "Not authenticated, or the bearer token is revoked or wrong",
    "403": "Not allowed, or a cookie-session write without the CSRF header or from another site's page",
    "404": "Not found (also for things the caller may not see)",
    "409": "Conflict: already handled by someone else",
    "413": "Payload too large: over a documented cap; `fields` says which",
    "414": "Request line too long: refused by the HTTP server in front of the application (not JSON)",
    "422": "Validation failed; `fields` names each bad field",
    "429": "Rate limited; see Retry-After",
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


# --- schemas of what the input boundary (lhn/inputs.py) accepts ------------------------------------------

ID = {"type": "integer", "minimum": 1, "maximum": MAX_INT}  # the id of a stored thing
COUNT = {"type": "integer", "minimum": 0, "maximum": MAX_INT}  # a whole number from 0 (seconds, days, a version)
TEXT = {"type": "string"}
BOOLEAN = {"type": "boolean"}
# The PHI guard's confirmation, on every endpoint that takes free text people write (lhn.phi).
PHI_CONFIRM = {
    **BOOLEAN,
    "description": "true: publish although the PHI guard found likely identifiers (without it such text is "
    "refused with 422 phi_confirmation_required, naming the kinds found)",
}
NUMBER = {"type": "number", "minimum": -MAX_NUMBER, "maximum": MAX_NUMBER}
DATE = {"type": "string", "format": "date"}
TEXTS = {"type": "array", "items": TEXT}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema`, also accepting null (an optional field reads null as not sent)."""
    if "enum" in schema:
        return schema if None in schema["enum"] else {**schema, "enum": [*schema["enum"], None]}
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        return schema if "null" in types else {**schema, "type": [*types, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def body_schema(required: dict[str, Any] | None = None, optional: dict[str, Any] | None = None, *,
         closed: bool = False, description: str = "") -> dict[str, Any]:  # fmt: skip
    """A JSON object: `required` fields (null refused), `optional` ones (null accepted, read as not sent).
    `closed`: the endpoint refuses other fields (422) rather than ignoring them."""
    schema: dict[str, Any] = {"type": "object", "properties": {
        **(required or {}), **{name: nullable(field) for name, field in (optional or {}).items()}}}  # fmt: skip
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    if description:
        schema["description"] = description
    return schema


def op(
    summary: str,
    *,
    response: dict[str, Any] | None = None,
    status: str = "200",
    body: dict[str, Any] | None = None,
    body_required: bool = True,
    params: list[dict[str, Any]] | None = None,
    auth: bool = True,
    errors: tuple[str, ...] = ("401", "403", "404", "422"),
    tag: str = "",
    also: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One operation, with the shared error responses it can return: always 400 (a NUL in the address, or a
    malformed body), 401 and 429; 422 whenever it parses a body or reads a query string (lhn/inputs.py refuses
    what doesn't fit).
    `body_required=False`: an empty request body is accepted too; `also`: other success statuses and what
    they mean. A query string can be made longer than the HTTP server takes (414)."""
    operation: dict[str, Any] = {"summary": summary, "responses": {}}
    if tag:
        operation["tags"] = [tag]
    operation["responses"][status] = {"description": "OK"}
    if response is not None:
        operation["responses"][status]["content"] = {"application/json": {"schema": response}}
    for code, description in (also or {}).items():
        operation["responses"][code] = {"description": description}
    # 400: any address may carry a NUL (refused before routing); 401: a revoked or wrong bearer token
    codes = set(errors) | {"400", "401", "429"}
    if body is not None:
        codes |= {"422"}
    if any(p["in"] == "query" for p in params or []):
        codes |= {"414", "422"}
    for code in sorted(codes):
        operation["responses"][code] = {"description": ERROR_RESPONSES[code]}
        if code != "414":
            operation["responses"][code]["content"] = {"application/json": {"schema": ref("Error")}}
    if body is not None:
        operation["requestBody"] = {"required": body_required, "content": {"application/json": {"schema": body}}}
    if params:
        operation["parameters"] = params
    if not auth:
        operation["security"] = []
    return operation


def path_param(name: str, schema_type: str = "string") -> dict[str, Any]:
    """A part of the path: a name (slug, username), or with "integer" an id (larger ones are 404)."""
    schema = ID if schema_type == "integer" else {"type": "string", "minLength": 1}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def query_param(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """An optional query-string parameter (text by default; empty is the same as absent)."""
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string", "maxLength": 500}}  # fmt: skip


def choice_param(name: str, description: str, options: Any) -> dict[str, Any]:
    return query_param(name, description, {"enum": list(options)})


CURSOR = query_param("cursor", "Opaque keyset cursor from `next_cursor` of the previous page",
                     {"type": "string", "maxLength": 1000})  # fmt: skip


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
            "is_verifier": {"type": "boolean"},
            "institution": {"type": ["object", "null"]},
            "community_role": {"enum": ["member", "moderator", "owner"]},
        },
        "required": ["username", "display_name", "role"],
    },
}


def document(features: list[ModuleType]) -> dict[str, Any]:
    """The whole document: what the API itself answers, then each feature module's OPENAPI_PATHS and
    OPENAPI_SCHEMAS."""
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
            'Errors are always `{"error": {"code", "message", "fields"}}`. Bodies are JSON objects nesting at '
            f"most {MAX_DEPTH} levels (400 otherwise); a field of the wrong type, a null where a value is "
            "required, an id beyond 2^63-1, a lone UTF-16 surrogate or a text-direction control (U+202A-U+202E, "
            "U+2066-U+2069) in any text is refused with 422 `validation_failed` naming the field. An optional "
            "field sent as null is read as not sent.",
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
