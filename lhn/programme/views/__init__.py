"""Programme pages on the `programme` blueprint, one module per sub-domain: drivers (key driver diagrams) and
sessions (learning sessions, registration, calendars, storyboards)."""

from lhn.programme.views import drivers, sessions
from lhn.programme.views.common import bp

__all__ = ["bp", "drivers", "sessions"]
