"""Measure pages on the `measures` blueprint, one module per sub-domain: charts (dashboard, chart page, notes and
phases), definitions, owners (owners, invitations, site data leads), data (submit, upload, exports, FHIR), pdsa."""

from lhn.measures.views import charts, data, definitions, owners, pdsa
from lhn.measures.views.common import bp

__all__ = ["bp", "charts", "data", "definitions", "owners", "pdsa"]
