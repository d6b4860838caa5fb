"""Key driver diagrams: reading one with each change idea's status from its PDSA cycles, and the owners' edits,
each a new version with a summary and a snapshot of the whole diagram.

Every edit names the version it was made on: an edit on a diagram that changed since is refused with the current
version, so two owners never overwrite each other unawares (the page shows the form again, text kept)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import joinedload

from lhn import phi
from lhn.accounts.models import User
from lhn.communities import services as communities
from lhn.communities.models import Community
from lhn.communities.permissions import can_manage, can_read
from lhn.database import find_one, reading, utcnow
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text
from lhn.measures.models import Measure, PdsaAct, PdsaCycle
from lhn.posts import services as posts
from lhn.programme.models import DiagramVersion, DriverDiagram, DriverNode, NodeKind

TITLE_MAX, AIM_MAX, LABEL_MAX = 160, 500, 200
MAX_NODES = 200  # a diagram people can read on one page
DENIED = "Driver diagrams are edited by the community's owners."

# A change idea's status, read from the PDSA cycles that test its idea at every site; never typed by hand.
UNTESTED, TESTING, ADOPTED, ABANDONED = "untested", "testing", "adopted", "abandoned"
STATUS_LABELS = {UNTESTED: "Untested", TESTING: "Testing", ADOPTED: "Adopted", ABANDONED: "Abandoned"}


def change_status(acts: list[PdsaAct | None]) -> str:
    """A change idea's status from the acts of its cycles (None: still running): adopted once any site adopted it;
    testing while a cycle runs or a site adapts it for another cycle; abandoned when every site abandoned it;
    untested with no cycles. Pure."""
    if not acts:
        return UNTESTED
    if PdsaAct.ADOPT in acts:
        return ADOPTED
    if all(act == PdsaAct.ABANDON for act in acts):
        return ABANDONED
    return TESTING


# --- reading -----------------------------------------------------------------------------------------------------


@dataclass
class CycleRef:
    """One PDSA cycle testing a change idea: where, on which measure, and how it ended (None: running)."""

    id: int
    measure_id: int
    measure_name: str
    site: str
    title: str
    act: str | None


@dataclass
class NodeView:
    id: int
    kind: NodeKind
    label: str
    idea: dict[str, Any] | None = None  # {"id", "title", "url", ...}; None when unlinked, gone or hidden
    status: str | None = None  # change ideas only
    cycles: list[CycleRef] = field(default_factory=list)
    children: list[NodeView] = field(default_factory=list)

    @property
    def measures(self) -> list[tuple[int, str]]:
        """The process measures whose charts carry this change's cycles."""
        return sorted({(c.measure_id, c.measure_name) for c in self.cycles}, key=lambda m: m[1])

    @property
    def site_count(self) -> int:
        return len({c.site for c in self.cycles})


@dataclass
class DiagramView:
    diagram: DriverDiagram
    drivers: list[NodeView]
    can_edit: bool

    def changes(self) -> list[NodeView]:
        return [c for p in self.drivers for s in p.children for c in s.children]

    def status_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUS_LABELS, 0)
        for change in self.changes():
            counts[change.status or UNTESTED] += 1
        return counts


def readable_community(viewer: object, slug: str) -> tuple[Community, bool]:
    """The community (NotFound unless `viewer` may read it) and whether they may edit its diagrams."""
    community, membership = communities.get_readable_community(viewer, slug)
    return community, can_manage(viewer, community, membership)


def editable_community(viewer: object, slug: str) -> Community:
    """The community whose programme (diagrams, sessions) `viewer` may run: its owners. Raises NotFound,
    PermissionDenied."""
    return communities.get_community_where(viewer, slug, can_manage)


def check_can_edit(viewer: object, diagram: DriverDiagram) -> None:
    if not may_edit(viewer, diagram):
        raise PermissionDenied(DENIED)


def list_diagrams(community: Community) -> list[DriverDiagram]:
    """A community's diagrams, the most recently changed first (callers checked that the reader may read it)."""
    stmt = select(DriverDiagram).where(DriverDiagram.community_id == community.id).options(
        joinedload(DriverDiagram.measure)
    )
    return list(db.session.scalars(stmt.order_by(DriverDiagram.updated_at.desc(), DriverDiagram.id.desc())))


def get_diagram(diagram_id: int, *, viewer: object) -> DriverDiagram:
    """A diagram `viewer` may read (its community's readers). Raises NotFound."""
    diagram = db.session.scalars(
        select(DriverDiagram).where(DriverDiagram.id == diagram_id).options(joinedload(DriverDiagram.community))
    ).first()
    if diagram is None:
        raise NotFound("No such driver diagram.")
    membership = communities.find_membership(viewer, diagram.community)
    if not can_read(viewer, diagram.community, membership):
        raise NotFound("No such driver diagram.")
    return diagram


def may_edit(viewer: object, diagram: DriverDiagram) -> bool:
    return can_manage(viewer, diagram.community, communities.find_membership(viewer, diagram.community))


def _nodes(diagram_id: int) -> list[DriverNode]:
    stmt = select(DriverNode).where(DriverNode.diagram_id == diagram_id)
    return list(db.session.scalars(stmt.order_by(DriverNode.position, DriverNode.id)))


def _cycles_by_idea(community_id: int, idea_ids: list[int]) -> dict[int | None, list[CycleRef]]:
    """The PDSA cycles on the community's measures that test each idea, at every site (one query)."""
    if not idea_ids:
        return {}
    rows = db.session.execute(
        select(PdsaCycle, Measure.name)
        .join(Measure, Measure.id == PdsaCycle.measure_id)
        .where(Measure.community_id == community_id, PdsaCycle.idea_id.in_(idea_ids))
        .options(joinedload(PdsaCycle.institution))
        .order_by(PdsaCycle.started_on, PdsaCycle.id)
    ).all()
    found: dict[int | None, list[CycleRef]] = defaultdict(list)  # keys are the ideas asked for (never None)
    for cycle, measure_name in rows:
        act = cycle.act.value if cycle.act else None
        ref = CycleRef(cycle.id, cycle.measure_id, measure_name, cycle.institution.name, cycle.title, act)
        found[cycle.idea_id].append(ref)
    return found


def diagram_view(diagram: DriverDiagram, *, viewer: object) -> DiagramView:
    """The diagram as a tree, each change idea with its idea, cycles and status. A fixed number of queries."""
    nodes = _nodes(diagram.id)
    idea_ids = sorted({n.idea_id for n in nodes if n.idea_id is not None})
    ideas = posts.ideas_as_dicts(diagram.community_id, idea_ids) if idea_ids else {}
    cycles = _cycles_by_idea(diagram.community_id, list(ideas))
    views = {n.id: NodeView(n.id, n.kind, n.label) for n in nodes}
    roots: list[NodeView] = []
    for node in nodes:
        view = views[node.id]
        if node.kind == NodeKind.CHANGE:
            view.idea = ideas.get(node.idea_id) if node.idea_id is not None else None
            view.cycles = cycles.get(view.idea["id"], []) if view.idea else []
            view.status = change_status([PdsaAct(c.act) if c.act else None for c in view.cycles])
        parent = views.get(node.parent_id) if node.parent_id is not None else None
        (parent.children if parent else roots).append(view)
    return DiagramView(diagram, roots, may_edit(viewer, diagram))


def list_versions(diagram: DriverDiagram) -> list[DiagramVersion]:
    stmt = select(DiagramVersion).where(DiagramVersion.diagram_id == diagram.id).options(
        joinedload(DiagramVersion.created_by)
    )
    return list(db.session.scalars(stmt.order_by(DiagramVersion.number.desc())))


def get_version(diagram: DriverDiagram, number: int) -> DiagramVersion:
    version = find_one(DiagramVersion, diagram_id=diagram.id, number=number)
    if version is None:
        raise NotFound("No such version of this diagram.")
    return version


def idea_choices(community: Community) -> list[tuple[int, str]]:
    """The community's visible ideas a change idea may link, newest first."""
    ideas = posts.ideas_as_dicts(community.id, None)
    return sorted(((i, idea["title"]) for i, idea in ideas.items()), reverse=True)


def measure_choices(community: Community) -> list[tuple[int, str]]:
    stmt = select(Measure.id, Measure.name).where(Measure.community_id == community.id).order_by(Measure.name)
    return [(row.id, row.name) for row in db.session.execute(stmt)]


# --- writing -----------------------------------------------------------------------------------------------------


def _text(value: str | None, name: str, limit: int, missing: str, errors: dict[str, str]) -> str:
    text = " ".join(clean_text(value or "").split())
    if not text or len(text) > limit:
        errors[name] = f"{missing} (up to {limit} characters)."
    return text


def _measure(community: Community, measure_id: int | None, errors: dict[str, str]) -> int | None:
    if measure_id is None:
        return None
    found = find_one(Measure, id=measure_id, community_id=community.id)
    if found is None:
        errors["measure_id"] = "Choose one of this community's measures."
        return None
    return found.id


def _check_idea(community: Community, idea_id: int | None, errors: dict[str, str]) -> None:
    if idea_id is not None and idea_id not in posts.ideas_as_dicts(community.id, [idea_id]):
        errors["idea_id"] = "Choose one of this community's ideas."


def snapshot(diagram: DriverDiagram) -> dict[str, Any]:
    """The whole diagram as data: what a version keeps."""
    children: dict[int | None, list[DriverNode]] = defaultdict(list)
    for node in _nodes(diagram.id):
        children[node.parent_id].append(node)

    def tree(parent: int | None) -> list[dict[str, Any]]:
        return [{"id": n.id, "kind": n.kind.value, "label": n.label, "idea_id": n.idea_id, "children": tree(n.id)}
                for n in children[parent]]  # fmt: skip

    return {"title": diagram.title, "aim": diagram.aim, "measure_id": diagram.measure_id, "nodes": tree(None)}


def _record(diagram: DriverDiagram, summary: str, by: User) -> DiagramVersion:
    db.session.flush()
    diagram.updated_at = utcnow()
    version = DiagramVersion(diagram_id=diagram.id, number=diagram.version, summary=summary[:400],
                             snapshot=snapshot(diagram), created_by=by)  # fmt: skip
    db.session.add(version)
    db.session.flush()
    return version


def _locked(diagram: DriverDiagram, seen_version: int | None, by: User) -> DriverDiagram:
    """In the write: the diagram re-read and locked (PostgreSQL; SQLite's writer holds the database), still theirs
    to edit, unchanged since `seen_version` (None: the API caller didn't say). Raises PermissionDenied,
    ValidationFailed."""
    locked = db.session.scalars(
        select(DriverDiagram).where(DriverDiagram.id == diagram.id).with_for_update()
        .execution_options(populate_existing=True)
    ).one()  # fmt: skip
    if not may_edit(by, locked):
        raise PermissionDenied(DENIED)
    if seen_version is not None and seen_version != locked.version:
        raise ValidationFailed({"version": (
            f"Someone changed this diagram since you opened it (it is now version {locked.version}). "
            "Look at it again, then repeat your change."
        )})  # fmt: skip
    return locked


def create_diagram(community: Community, *, title: str, aim: str, measure_id: int | None, by: User,
                   confirm_phi: bool = False) -> DriverDiagram:  # fmt: skip
    """An owner starts a diagram: its title, its aim and optionally the outcome measure the aim names. Checks and
    scans for PHI before the write. Flushes. Raises PermissionDenied, ValidationFailed (PHIConfirmationRequired)."""
    with reading():
        if not can_manage(by, community, communities.find_membership(by, community)):
            raise PermissionDenied(DENIED)
        errors: dict[str, str] = {}
        title = _text(title, "title", TITLE_MAX, "Give the diagram a title", errors)
        aim = _text(aim, "aim", AIM_MAX, "Write the aim: what will improve, by how much, by when", errors)
        measure = _measure(community, measure_id, errors)
        if errors:
            raise ValidationFailed(errors)
        findings = phi.check_texts({"title": title, "aim": aim}, confirm_phi)
    if not can_manage(by, community, communities.find_membership(by, community)):  # again, in the write
        raise PermissionDenied(DENIED)
    diagram = DriverDiagram(community_id=community.id, measure_id=measure, title=title, aim=aim, created_by_id=by.id)
    db.session.add(diagram)
    db.session.flush()
    _record(diagram, "Started the diagram.", by)
    phi.record_confirmed(findings, by=by, target_type="driver_diagram", target_id=diagram.id,
                         community_id=community.id)  # fmt: skip
    return diagram


def update_diagram(diagram: DriverDiagram, *, title: str, aim: str, measure_id: int | None, version: int | None,
                   by: User, confirm_phi: bool = False) -> DriverDiagram:  # fmt: skip
    """An owner changes the title, the aim or its outcome measure: a new version. Raises as create_diagram."""
    with reading():
        if not may_edit(by, diagram):
            raise PermissionDenied(DENIED)
        errors: dict[str, str] = {}
        title = _text(title, "title", TITLE_MAX, "Give the diagram a title", errors)
        aim = _text(aim, "aim", AIM_MAX, "Write the aim: what will improve, by how much, by when", errors)
        measure = _measure(diagram.community, measure_id, errors)
        if errors:
            raise ValidationFailed(errors)
        previous = f"{diagram.title}\n{diagram.aim}"
        findings = phi.check_texts({"title": title, "aim": aim}, confirm_phi, previous=previous)
    diagram = _locked(diagram, version, by)
    said = [what for what, changed in (("the title", title != diagram.title), ("the aim", aim != diagram.aim),
                                       ("the outcome measure", measure != diagram.measure_id)) if changed]  # fmt: skip
    if not said:
        return diagram
    diagram.title, diagram.aim, diagram.measure_id = title, aim, measure
    diagram.version += 1
    _record(diagram, "Changed " + " and ".join(said) + ".", by)
    phi.record_confirmed(findings, by=by, target_type="driver_diagram", target_id=diagram.id,
                         community_id=diagram.community_id)  # fmt: skip
    return diagram


def get_node(diagram: DriverDiagram, node_id: int | None) -> DriverNode:
    """One node of the diagram. Raises NotFound."""
    node = find_one(DriverNode, id=node_id, diagram_id=diagram.id) if node_id is not None else None
    if node is None:
        raise NotFound("No such node on this diagram.")
    return node


def add_node(diagram: DriverDiagram, *, parent_id: int | None, label: str, idea_id: int | None = None,
             version: int | None, by: User, confirm_phi: bool = False) -> DriverNode:  # fmt: skip
    """An owner adds a primary driver (no parent), a secondary driver under a primary, or a change idea under a
    secondary, which may link one of the community's ideas. A new version. Raises NotFound (the parent),
    PermissionDenied, ValidationFailed (PHIConfirmationRequired)."""
    with reading():
        if not may_edit(by, diagram):
            raise PermissionDenied(DENIED)
        parent = get_node(diagram, parent_id) if parent_id is not None else None
        kind = parent.kind.child if parent else NodeKind.PRIMARY
        errors: dict[str, str] = {}
        if kind is None:
            errors["parent_id"] = "A change idea is the end of its branch: add it under a secondary driver."
            kind = NodeKind.CHANGE
        label = _text(label, "label", LABEL_MAX, f"Name the {kind.label.lower()}", errors)
        if kind == NodeKind.CHANGE:
            _check_idea(diagram.community, idea_id, errors)
        elif idea_id is not None:
            errors["idea_id"] = "Only a change idea links an idea."
        if errors:
            raise ValidationFailed(errors)
        findings = phi.check_texts({"label": label}, confirm_phi)
    diagram = _locked(diagram, version, by)
    count = db.session.scalar(select(func.count()).where(DriverNode.diagram_id == diagram.id)) or 0
    if count >= MAX_NODES:
        raise ValidationFailed({"": f"A diagram holds up to {MAX_NODES} drivers and changes."})
    if parent is not None and find_one(DriverNode, id=parent.id) is None:  # removed meanwhile (no version given)
        raise NotFound("No such node on this diagram.")
    last = db.session.scalar(
        select(func.max(DriverNode.position)).where(DriverNode.diagram_id == diagram.id,
                                                    DriverNode.parent_id.is_(None) if parent is None
                                                    else DriverNode.parent_id == parent.id)
    )  # fmt: skip
    node = DriverNode(diagram_id=diagram.id, parent_id=parent.id if parent else None, kind=kind, label=label,
                      idea_id=idea_id if kind == NodeKind.CHANGE else None, position=(last or 0) + 1)  # fmt: skip
    db.session.add(node)
    diagram.version += 1
    under = f" under “{parent.label}”" if parent else ""
    _record(diagram, f"Added the {kind.label.lower()} “{label}”{under}.", by)
    phi.record_confirmed(findings, by=by, target_type="driver_node", target_id=node.id,
                         community_id=diagram.community_id)  # fmt: skip
    return node


def update_node(diagram: DriverDiagram, node_id: int, *, label: str, idea_id: int | None, version: int | None,
                by: User, confirm_phi: bool = False) -> DriverNode:  # fmt: skip
    """An owner renames a node or changes the idea a change idea links. A new version when anything changed."""
    with reading():
        if not may_edit(by, diagram):
            raise PermissionDenied(DENIED)
        node = get_node(diagram, node_id)
        errors: dict[str, str] = {}
        label = _text(label, "label", LABEL_MAX, f"Name the {node.kind.label.lower()}", errors)
        if node.kind == NodeKind.CHANGE:
            _check_idea(diagram.community, idea_id, errors)
        elif idea_id is not None:
            errors["idea_id"] = "Only a change idea links an idea."
        if errors:
            raise ValidationFailed(errors)
        findings = phi.check_texts({"label": label}, confirm_phi, previous=node.label)
    diagram = _locked(diagram, version, by)
    node = get_node(diagram, node_id)
    said = []
    if label != node.label:
        said.append(f"Renamed the {node.kind.label.lower()} “{node.label}” to “{label}”.")
    if node.kind == NodeKind.CHANGE and idea_id != node.idea_id:
        said.append(f"Linked “{label}” to another idea." if idea_id else f"Unlinked “{label}” from its idea.")
    if not said:
        return node
    node.label, node.idea_id = label, idea_id if node.kind == NodeKind.CHANGE else None
    diagram.version += 1
    _record(diagram, " ".join(said), by)
    phi.record_confirmed(findings, by=by, target_type="driver_node", target_id=node.id,
                         community_id=diagram.community_id)  # fmt: skip
    return node


def remove_node(diagram: DriverDiagram, node_id: int, *, version: int | None, by: User) -> None:
    """An owner removes a node and everything under it. A new version; the history keeps what it held."""
    diagram = _locked(diagram, version, by)
    node = get_node(diagram, node_id)
    below = _descendants(diagram.id, node.id)
    gone = [node.id, *(n.id for n in below)]
    db.session.execute(delete(DriverNode).where(DriverNode.id.in_(gone)).execution_options(synchronize_session=False))
    for removed in (node, *below):
        db.session.expunge(removed)
    diagram.version += 1
    more = f" and the {len(below)} below it" if below else ""
    _record(diagram, f"Removed the {node.kind.label.lower()} “{node.label}”{more}.", by)


def _descendants(diagram_id: int, node_id: int) -> list[DriverNode]:
    children: dict[int | None, list[DriverNode]] = defaultdict(list)
    for node in _nodes(diagram_id):
        children[node.parent_id].append(node)
    found, stack = [], list(children[node_id])
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(children[node.id])
    return found
