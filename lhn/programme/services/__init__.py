"""Programme rules, one module per sub-domain, used as one: `from lhn.programme import services as programme`.

drivers (key driver diagrams, their versions, each change idea's status from its PDSA cycles), sessions (learning
sessions, registration with a cap and a waiting list, calendars, reminders), storyboards (each site's page for a
session, its charts drawn live), package (the change package: proposals, owners' decisions, versions, evidence),
attachments (files on storyboards and change-package entries)."""

from lhn import reminders
from lhn.programme.services.attachments import PACKAGE_ENTRY, STORYBOARD
from lhn.programme.services.drivers import (
    ABANDONED,
    ADOPTED,
    STATUS_LABELS,
    TESTING,
    UNTESTED,
    CycleRef,
    DiagramView,
    NodeView,
    add_node,
    change_status,
    check_can_edit,
    create_diagram,
    diagram_view,
    editable_community,
    get_diagram,
    get_node,
    get_version,
    idea_choices,
    list_diagrams,
    list_versions,
    may_edit,
    measure_choices,
    readable_community,
    remove_node,
    snapshot,
    update_diagram,
    update_node,
)
from lhn.programme.services.package import (
    EntryView,
    PackageView,
    accept,
    adopted_ideas,
    decline,
    evidence,
    get_entry,
    may_decide,
    package_versions,
    package_view,
    propose,
    remove,
)
from lhn.programme.services.sessions import (
    CAPACITY_MAX,
    Places,
    SessionFields,
    calendar,
    cancel_registration,
    cancel_session,
    create_session,
    get_session,
    list_sessions,
    local_time,
    may_announce,
    may_see_join_link,
    places,
    register,
    registered_people,
    registration_open,
    send_session_reminders,
    time_zones,
    update_session,
)
from lhn.programme.services.storyboards import (
    StoryboardChart,
    StoryboardFields,
    get_storyboard,
    list_storyboards,
    may_write,
    on_site_team,
    save_storyboard,
    site_storyboard,
    storyboard_charts,
    team_sites,
)

reminders.register("learning-sessions", send_session_reminders)

__all__ = [
    "ABANDONED", "ADOPTED", "CAPACITY_MAX", "PACKAGE_ENTRY", "STATUS_LABELS", "STORYBOARD", "TESTING", "UNTESTED",
    "CycleRef", "DiagramView", "EntryView", "NodeView", "PackageView", "Places", "SessionFields", "StoryboardChart",
    "StoryboardFields", "accept", "add_node", "adopted_ideas", "calendar", "cancel_registration", "cancel_session",
    "change_status", "check_can_edit", "create_diagram", "create_session", "decline", "diagram_view",
    "editable_community", "evidence", "get_diagram", "get_entry", "get_node", "get_session", "get_storyboard",
    "get_version", "idea_choices", "list_diagrams", "list_sessions", "list_storyboards", "list_versions", "local_time",
    "may_announce", "may_decide", "may_edit", "may_see_join_link", "may_write",
    "measure_choices", "on_site_team", "package_versions", "package_view", "places", "propose", "readable_community",
    "register", "registered_people", "registration_open", "remove", "remove_node", "save_storyboard",
    "send_session_reminders", "site_storyboard", "snapshot", "storyboard_charts", "team_sites", "time_zones",
    "update_diagram", "update_node", "update_session"
]  # fmt: skip
