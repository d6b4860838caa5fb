"""Measure pages on the `measures` blueprint, one module per sub-domain: charts (dashboard, chart page, notes and
phases), definitions, owners (owners, invitations, site data leads), data (submit, upload, exports, FHIR), pdsa, strata
(equity strata side by side, a site's breakdown)."""

from lhn.measures.views import charts, data, definitions, owners, pdsa, strata
from lhn.measures.views.common import bp

__all__ = ["bp", "charts", "data", "definitions", "owners", "pdsa", "strata"]
