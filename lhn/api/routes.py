"""Imports every feature's api module so its routes land on the blueprint, plus the OpenAPI route."""

from flask import jsonify

from lhn.accounts import api as accounts_api
from lhn.api import bp
from lhn.api.openapi import document
from lhn.chat import api as chat_api
from lhn.communities import api as communities_api
from lhn.measures import api as measures_api
from lhn.moderation import api as moderation_api
from lhn.notifications import api as notifications_api
from lhn.posts import api as posts_api
from lhn.search import api as search_api

# Every module here adds routes to `bp` and describes them in its OPENAPI_PATHS.
FEATURE_APIS = [accounts_api, communities_api, notifications_api, measures_api, moderation_api, chat_api]
FEATURE_APIS += [posts_api, search_api]


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(document(FEATURE_APIS))
