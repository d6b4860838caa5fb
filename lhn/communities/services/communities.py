"""Communities themselves: their fields and the checks on them (name, address, condition code), creating and
editing, and finding them (the directory, a community by address, one the reader may read)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NotRequired, TypedDict

from sqlalchemy import bindparam, func, or_, select

from lhn import light_reads, signals
from lhn.accounts.models import User
from lhn.communities import permissions
from lhn.communities.models import CodeSystem, Community, CommunityRole, JoinRequest, Membership, Visibility
from lhn.communities.services.membership import (
    InstitutionCount,
    add_member,
    find_membership,
    find_pending_request,
    institution_counts,
    list_join_requests,
)
from lhn.database import reading
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text, render_markdown
from lhn.pagination import Page, paginate

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,58}[a-z0-9]$")
ICD10_RE = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$")
NAME_MAX, CONDITION_MAX, TEXT_MAX = 120, 160, 20_000


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")


# Verhoeff check digit, which every SNOMED CT identifier ends with.
_VERHOEFF_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]  # fmt: skip
_VERHOEFF_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]  # fmt: skip


def snomed_code_is_valid(code: str) -> bool:
    if not (code.isascii() and code.isdigit() and 6 <= len(code) <= 18):
        return False
    check = 0
    for i, digit in enumerate(reversed(code)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[i % 8][int(digit)]]
    return check == 0


def _check_condition_code(system: str | None, code: str, errors: dict[str, str]) -> CodeSystem | None:
    code = code.strip()
    if not code and not system:
        return None
    if not system or not code:
        errors["condition_code"] = "Give both the code and its system, or neither."
        return None
    try:
        checked = CodeSystem(system)
    except ValueError:
        errors["condition_system"] = "Choose ICD-10 or SNOMED CT."
        return None
    if checked == CodeSystem.ICD10 and not ICD10_RE.match(code.upper()):
        errors["condition_code"] = "That is not an ICD-10 code (for example K50.9)."
    if checked == CodeSystem.SNOMED and not snomed_code_is_valid(code):
        errors["condition_code"] = "That is not a SNOMED CT identifier (digits with a valid check digit)."
    return checked


@dataclass
class CommunityFields:
    name: str
    condition_name: str
    description: str = ""
    guidelines: str = ""
    visibility: str = "public"
    condition_code: str = ""
    condition_system: str | None = None
    slug: str = ""


class _Values(TypedDict):
    """A community's checked fields, as the model takes them."""

    name: str
    condition_name: str
    condition_code: str
    condition_system: CodeSystem | None
    visibility: Visibility
    description: str
    guidelines: str
    slug: NotRequired[str]  # set once, at creation


def _validated(fields: CommunityFields, *, existing: Community | None) -> tuple[_Values, dict[str, str]]:
    errors: dict[str, str] = {}
    name = clean_text(fields.name).strip()
    condition = clean_text(fields.condition_name).strip()
    if not name or len(name) > NAME_MAX:
        errors["name"] = f"Name the community (up to {NAME_MAX} characters)."
    if not condition or len(condition) > CONDITION_MAX:
        errors["condition_name"] = f"Name the condition (up to {CONDITION_MAX} characters)."
    for field in ("description", "guidelines"):
        if len(getattr(fields, field)) > TEXT_MAX:
            errors[field] = f"Use at most {TEXT_MAX} characters."
    if not fields.guidelines.strip():
        errors["guidelines"] = "Write the guidelines members accept when they join."
    try:
        visibility = Visibility(fields.visibility)
    except ValueError:
        errors["visibility"] = "Choose public or restricted."
        visibility = Visibility.PUBLIC
    system = _check_condition_code(fields.condition_system, fields.condition_code, errors)
    values: _Values = {
        "name": name,
        "condition_name": condition,
        "condition_code": fields.condition_code.strip().upper()
        if system == CodeSystem.ICD10
        else fields.condition_code.strip(),
        "condition_system": system,
        "visibility": visibility,
        "description": clean_text(fields.description).strip(),
        "guidelines": clean_text(fields.guidelines).strip(),
    }
    if existing is None:
        slug = fields.slug.strip().lower() or slugify(name)
        if not SLUG_RE.match(slug):
            errors["slug"] = "Use 3–60 lowercase letters, digits and hyphens."
        elif find_community(slug) is not None:
            errors["slug"] = "That address is taken."
        values["slug"] = slug
    return values, errors


RENDERED: tuple[Literal["description", "guidelines"], ...] = ("description", "guidelines")  # Markdown, beside its HTML


def create_community(fields: CommunityFields, *, by: User) -> Community:
    """Site admins and verified clinicians or researchers create a community; they become its owner.

    Flushes; sends signals.community_created (chat adds #general). Raises PermissionDenied, ValidationFailed.
    """
    with reading():  # checks and Markdown before the write transaction
        if not permissions.can_create_community(by):
            raise PermissionDenied("Communities are created by site admins and verified clinicians or researchers.")
        values, errors = _validated(fields, existing=None)
        if errors:
            raise ValidationFailed(errors)
        rendered = {f"{name}_html": str(render_markdown(values[name], field=name)) for name in RENDERED}
    if find_community(values["slug"]) is not None:  # taken while we rendered
        raise ValidationFailed({"slug": "That address is taken."})
    community = Community(**values, **rendered, created_by_id=by.id)
    db.session.add(community)
    db.session.flush()
    add_member(community, by, role=CommunityRole.OWNER, accepted_version=community.guidelines_version)
    signals.community_created.send(community, by=by)
    return community


def update_community(community: Community, fields: CommunityFields, *, by: User) -> Community:
    """Owners and site admins edit a community. New guidelines get a new version. Flushes."""
    with reading():  # checks and Markdown before the write transaction
        if not permissions.can_manage(by, community, find_membership(by, community)):
            raise PermissionDenied("Only the community's owners can edit it.")
        values, errors = _validated(fields, existing=community)
        if errors:
            raise ValidationFailed(errors)
        changed = [name for name in RENDERED if values[name] != getattr(community, name)]
        rendered = {f"{name}_html": str(render_markdown(values[name], field=name)) for name in changed}
    if "guidelines" in changed:
        community.guidelines_version += 1
    for key, value in {**values, **rendered}.items():
        setattr(community, key, value)
    db.session.flush()
    return community


# --- lookups -------------------------------------------------------------------------------------


def find_community(slug: str) -> Community | None:
    return db.session.scalar(select(Community).where(Community.slug == slug))


def get_community(slug: str) -> Community:
    """Any community by slug. Every community's name and description are public."""
    community = find_community(slug)
    if community is None:
        raise NotFound("No such community.")
    return community


# Core, not the ORM, built once: this runs for every stored page served, and ORM results cost 2×.
_PUBLIC_CONTENT_VERSION = select(Community.__table__.c.visibility, Community.__table__.c.content_version).where(
    Community.__table__.c.slug == bindparam("slug")
)


def public_content_version(slug: str) -> int | None:
    """The content_version of a public community (what readers who are not logged in may read: as
    permissions.can_read), in one light query, so that a stored page can be served without loading the
    community. None for a restricted or unknown one."""
    row = light_reads.first(_PUBLIC_CONTENT_VERSION, slug=slug)
    if row is None or row.visibility != Visibility.PUBLIC:
        return None
    return int(row.content_version)


def get_readable_community(user: object, slug: str) -> tuple[Community, Membership | None]:
    """A community whose content `user` may read, with their membership. Raises PermissionDenied
    for a restricted community they don't belong to (its existence is public, its content is not)."""
    community = get_community(slug)
    membership = find_membership(user, community)
    if not permissions.can_read(user, community, membership):
        raise PermissionDenied("This community is restricted to its members.")
    return community, membership


def get_community_where(
    user: object, slug: str, may: Callable[[object, Community, Membership | None], bool]
) -> Community:
    """A community `user` may act on by the rule `may` (one of `permissions`' (user, community, membership)
    checks). Raises NotFound, PermissionDenied."""
    community = get_community(slug)
    if not may(user, community, find_membership(user, community)):
        raise PermissionDenied()
    return community


def list_communities(*, q: str = "", cursor: str | None = None, limit: int = 30) -> Page[Community]:
    """The directory: every community (restricted ones show name and description only)."""
    stmt = select(Community)
    q = q.strip()
    if q:
        like = f"%{q.lower().replace('%', '').replace('_', '')}%"
        stmt = stmt.where(
            or_(
                func.lower(Community.name).like(like),
                func.lower(Community.condition_name).like(like),
                func.lower(Community.condition_code).like(like),
            )
        )
    return paginate(
        stmt, order_by=[Community.name, Community.id], key=lambda c: (c.name, c.id),
        cursor=cursor, limit=limit, descending=False,
    )  # fmt: skip


@dataclass
class CommunityPage:
    """What a community's page shows its reader: the community, their membership or open request, what they may
    read and do, and (for readers) where members come from."""

    community: Community
    membership: Membership | None
    pending: JoinRequest | None  # their open request to join
    readable: bool
    moderates: bool
    can_manage: bool
    institutions: list[InstitutionCount]  # empty for those who may not read it
    request_count: int  # open join requests, for moderators


def community_page(slug: str, *, by: object) -> CommunityPage:
    """A community's page for `by` (anyone: its name and description are public). Raises NotFound."""
    community = get_community(slug)
    membership = find_membership(by, community)
    readable = permissions.can_read(by, community, membership)
    moderates = permissions.can_moderate(by, community, membership)
    return CommunityPage(
        community, membership, find_pending_request(by, community), readable, moderates,
        can_manage=permissions.can_manage(by, community, membership),
        institutions=institution_counts(community) if readable else [],
        request_count=len(list_join_requests(community, by=by)) if moderates else 0,  # type: ignore[arg-type]  # a moderator is a User
    )  # fmt: skip
