"""Institutions people belong to: the list, lookups, and adding one (site admins, the CLI)."""

from __future__ import annotations

import re

from sqlalchemy import select

from lhn.accounts.models import Institution, InstitutionKind, User
from lhn.errors import PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.inputs import text_problem

# --- institutions ----------------------------------------------------------------------------------


def list_institutions() -> list[Institution]:
    return list(db.session.scalars(select(Institution).order_by(Institution.name)))


def find_institution(slug: str) -> Institution | None:
    if text_problem(slug):  # no slug holds such text, and PostgreSQL refuses a NUL in any query (a refused form's site)
        return None
    return db.session.scalar(select(Institution).where(Institution.slug == slug))


def create_institution(
    *, by: User | None, slug: str, name: str, kind: str, city: str = "", country: str = ""
) -> Institution:
    """Site admins (or the CLI, with by=None) add an institution. Raises ValidationFailed."""
    if by is not None and not by.is_admin:
        raise PermissionDenied("Only site admins add institutions.")
    errors: dict[str, str] = {}
    slug = slug.strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,79}", slug):
        errors["slug"] = "Use 2–80 lowercase letters, digits and hyphens."
    elif find_institution(slug):
        errors["slug"] = "That slug is taken."
    if not name.strip():
        errors["name"] = "Enter the institution's name."
    try:
        checked_kind = InstitutionKind(kind)
    except ValueError:
        errors["kind"] = "Choose one of: " + ", ".join(k.value for k in InstitutionKind) + "."
    if errors:
        raise ValidationFailed(errors)
    institution = Institution(
        slug=slug, name=name.strip()[:200], kind=checked_kind, city=city.strip(), country=country.strip()
    )
    db.session.add(institution)
    db.session.flush()
    return institution
