"""Post pages on the `posts` blueprint, one module per sub-domain: lists, writing, a post's page (show),
answers and vetting, and the actions on a post's page; common holds the blueprint and the lookups they share,
templating the helpers every page's templates use."""

# Each module adds its routes to the blueprint; importing them here gives the app factory a complete `bp`.
from lhn.posts.views import actions, answers, lists, show, templating, writing
from lhn.posts.views.common import bp

__all__ = ["actions", "answers", "bp", "lists", "show", "templating", "writing"]
