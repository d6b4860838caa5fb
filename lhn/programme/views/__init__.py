"""Programme pages on the `programme` blueprint, one module per sub-domain: drivers (key driver diagrams),
sessions (learning sessions, registration, calendars, storyboards) and package (the change package)."""

from lhn.programme.views import drivers, package, sessions
from lhn.programme.views.common import bp

__all__ = ["bp", "drivers", "package", "sessions"]
