"""What the measures API modules share: JSON of a site and a person, the site lookup, the uploaded CSV file,
the removal of a measure's things, OpenAPI parameters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from lhn.accounts import services as accounts
from lhn.accounts.models import Institution, User
from lhn.api import bp, person_json, require_user
from lhn.api.openapi import TEXT, op, path_param, ref
from lhn.database import transactional
from lhn.errors import NotFound
from lhn.measures import services as measures
from lhn.measures.models import Measure

MEASURE_ID = path_param("measure_id", "integer")
SITE_SLUG = {**TEXT, "description": "Institution slug"}
SITE = {"type": "object", "properties": {"slug": {"type": "string"}, "name": {"type": "string"}}}  # site_json


def items_of(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI schema of a list answer: {"items": [schema, ...]}."""
    return {"type": "object", "properties": {"items": {"type": "array", "items": schema}}}


def site_json(site: Institution) -> dict[str, str]:
    return {"slug": site.slug, "name": site.name}


def person_or_none(user: Any) -> dict[str, Any] | None:
    return person_json(user) if user is not None else None


def get_site(slug: str) -> Institution:
    site = accounts.find_institution(slug)
    if site is None:
        raise NotFound("No such site.")
    return site


def acting_on(measure_id: int) -> tuple[User, Measure]:
    """The caller and the measure they act on. Raises the API's 401, and NotFound where they may not read it."""
    user = require_user()
    return user, measures.get_measure(measure_id, viewer=user)


def uploaded_csv(measure_id: int) -> tuple[User, Measure, str]:
    """The caller, the measure and the CSV file the request carries; a file over the import cap is refused (by
    its Content-Length) before it is read. Raises NotFound, ImportTooLarge, and the API's 401."""
    user, measure = acting_on(measure_id)
    measures.check_upload_size(request.content_length)
    return user, measure, request.get_data(as_text=True)


def removal_route(rule: str, endpoint: str, remove: Callable[..., None]) -> None:
    """DELETE /measures/<measure_id>/<rule>, `rule` ending in the key of the thing removed: `remove(measure, key,
    by=caller)`, then 204. One handler for every removal of a measure's things, so they answer alike."""

    def remove_one(measure_id: int, **key: Any) -> ResponseReturnValue:
        user, measure = acting_on(measure_id)
        remove(measure, *key.values(), by=user)
        return "", 204

    bp.add_url_rule(f"/measures/<int:measure_id>/{rule}", endpoint, transactional(remove_one), methods=["DELETE"])


def measure_op(summary: str, *, params: list[dict[str, Any]] | None = None, **kwargs: Any) -> dict[str, Any]:
    """An operation on one measure (a path under /measures/{measure_id}): its id first among the parameters,
    under the measures tag."""
    return op(summary, params=[MEASURE_ID, *(params or [])], tag="measures", **kwargs)


def measure_read(
    summary: str, *, response: dict[str, Any], params: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A read of one measure's things that anyone who may read the measure makes (404 otherwise)."""
    return measure_op(summary, params=params, auth=False, response=response, errors=("404",))


def measure_removal(summary: str, item: dict[str, Any]) -> dict[str, Any]:
    """Removing one of a measure's things (a path under /measures/{measure_id} that ends in the `item` parameter):
    204, no body."""
    return measure_op(summary, status="204", params=[item])


def measure_creation(summary: str, schema: str, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Creating one of a measure's things from a JSON body: 201 with the new thing (`schema`, a component name)."""
    return measure_op(summary, status="201", response=ref(schema), body=body, **kwargs)
