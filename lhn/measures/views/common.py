"""The measures blueprint and what its pages share: the measure with the reader's access, site choices, the page
of one measure, what a form that redirects back shows when refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from lhn.accounts.models import Institution
from lhn.errors import ValidationFailed
from lhn.extensions import db
from lhn.forms import ActionForm, Form, acted, apply_errors, choices
from lhn.measures import services as measures
from lhn.measures.models import Measure
from lhn.phi import PHIConfirmationRequired

bp = Blueprint("measures", __name__)


def measure_access(measure_id: int) -> tuple[Measure, measures.Access]:
    """The measure the current reader may read (NotFound otherwise) and their access to it."""
    measure = measures.get_measure(measure_id, viewer=current_user)
    return measure, measures.access(measure, current_user)


def removed(measure_id: int, remove: Callable[[Measure], object], done: str) -> Measure:
    """A one-button removal from a measure's pages (an owner, a site data lead, a phase): `remove` runs on the
    measure the reader may read (NotFound otherwise); `done` is flashed when it happened, the refusal when not. The
    measure comes back for the redirect."""
    measure, _acc = measure_access(measure_id)
    if acted(ActionForm(), lambda: remove(measure)):
        flash(done, "info")
    return measure


def site_choices(sites: list[Institution], *, network: str | None = None) -> list[Any]:
    pairs = [("", network)] if network else []
    return choices(pairs + [(s.slug, s.name) for s in sorted(sites, key=lambda s: s.name)])


def team_sites(acc: measures.Access) -> list[Institution]:
    """The sites whose team the reader is on (they submit and annotate for these)."""
    return [s for s in (db.session.get(Institution, i) for i in acc.team_site_ids) if s is not None]


def back_to_chart(measure: Measure, site: str | None = None) -> Response:
    return redirect(url_for("measures.show", measure_id=measure.id, site=site or None))  # type: ignore[return-value]


def back_to_owners(measure: Measure) -> Response:
    return redirect(url_for("measures.owners", measure_id=measure.id))  # type: ignore[return-value]


def measure_page(template: str, measure: Measure, **context: Any) -> str:
    """A page about one measure: it and its community (for the community header) and the page's own context."""
    return render_template(template, measure=measure, community=measure.community, **context)


def phi_recheck(form: Form, exc: PHIConfirmationRequired, *, texts: list[str], button: str, back: str) -> Any:
    """A form that redirects back, again after its text looked like PHI: the text kept and the box to tick (422)."""
    apply_errors(form, exc)
    page = render_template("_phi_recheck.html", form=form, phi=exc, texts=texts, action=request.path, button=button,
                           back=back)  # fmt: skip
    return page, 422


def flash_refusal(exc: ValidationFailed, failed: str) -> None:
    """Why a form that redirects back did nothing: `failed` says what didn't happen ("Not closed")."""
    for message in exc.errors.values():
        flash(f"{failed}: {message}", "error")
