"""Demo data: runs every feature's demo steps in order, each step in its own transaction (`flask lhn seed-demo`).
Each feature owns its demo data in its demo.py."""

from __future__ import annotations

from collections.abc import Callable

from lhn.accounts import demo as accounts_demo
from lhn.accounts.demo import DEMO_PASSWORD, USERS, login_table
from lhn.chat.demo import seed_chat
from lhn.communities import demo as communities_demo
from lhn.measures import demo as measures_demo
from lhn.moderation import demo as moderation_demo
from lhn.posts import demo as posts_demo
from lhn.pro import demo as pro_demo
from lhn.programme import demo as programme_demo
from lhn.research import demo as research_demo

__all__ = ["DEMO_PASSWORD", "STEPS", "USERS", "login_table"]

# Later steps build on earlier ones: people, then communities, then what people write in them.
STEPS: list[tuple[str, Callable[[], None]]] = [
    *accounts_demo.STEPS,
    *communities_demo.STEPS,
    *posts_demo.STEPS,
    ("chat", seed_chat),  # chat builds on the communities seeded above
    *measures_demo.STEPS,  # three years of monthly data, one real improvement
    *programme_demo.STEPS,  # a driver diagram whose changes are tested with PDSA cycles on those measures
    *pro_demo.STEPS,  # questionnaires, and a patient's own check-ins
    *research_demo.STEPS,  # a recruiting study, and a patient whose research profile fits it
    *moderation_demo.STEPS,
]
