"""Posts over JSON, one module per sub-domain: posts (lists, writing, votes, comments, idea status), answers
(with vetting), calls (interest), hiding; payloads holds the JSON every endpoint sends, openapi describes them
all. The same services as the pages."""

# Each module adds its routes to the API blueprint; importing them here makes this package the posts API.
from lhn.posts.api import answers, calls, hiding, posts
from lhn.posts.api.openapi import LIST_PARAMS, OPENAPI_PATHS, OPENAPI_SCHEMAS
from lhn.posts.api.payloads import page_of_posts, post_summary_json

__all__ = ["LIST_PARAMS", "OPENAPI_PATHS", "OPENAPI_SCHEMAS", "answers", "calls", "hiding", "page_of_posts",
           "post_summary_json", "posts"]  # fmt: skip
