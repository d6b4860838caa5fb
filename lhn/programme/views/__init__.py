"""Programme pages on the `programme` blueprint, one module per sub-domain: drivers (key driver diagrams),
sessions (learning sessions, registration, calendars, storyboards), package (the change package) and attachments
(files on storyboards and change-package entries)."""

from lhn.programme.views import attachments, drivers, package, sessions
from lhn.programme.views.common import bp

__all__ = ["attachments", "bp", "drivers", "package", "sessions"]
