"""Every feature's models, imported so the mappers and migrations see the whole schema. Used by create_app."""

from lhn import reminders
from lhn.accounts import models as accounts
from lhn.attachments import core as attachments
from lhn.chat import models as chat
from lhn.communities import models as communities
from lhn.mail import models as mail
from lhn.measures import models as measures
from lhn.moderation import models as moderation
from lhn.notifications import models as notifications
from lhn.posts import models as posts
from lhn.pro import models as pro
from lhn.programme import models as programme
from lhn.research import models as research
from lhn.search import models as search

__all__ = [
    "accounts", "attachments", "chat", "communities", "mail", "measures", "moderation", "notifications", "posts",
    "pro", "programme", "reminders", "research", "search",
]  # fmt: skip
