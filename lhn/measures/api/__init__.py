"""Measures over JSON (/api/v1), one module per sub-domain, on the API blueprint: measures (definitions, data,
charts, CSV and FHIR), chart_files (a chart as SVG or PNG for slides), teams (owners, invitations, site data leads,
consent, history), submissions (who has sent which period, reminders), learning (PDSA cycles, notes, phases),
strata (a site's breakdown by a stratifier, the strata side by side). Their
OpenAPI descriptions are joined here for the app factory to hand to lhn.api."""

from lhn.measures.api import chart_files, learning, measures, strata, submissions, teams

MODULES = (measures, chart_files, teams, submissions, learning, strata)
OPENAPI_PATHS = {path: item for module in MODULES for path, item in module.OPENAPI_PATHS.items()}
OPENAPI_SCHEMAS = {name: schema for module in MODULES for name, schema in module.OPENAPI_SCHEMAS.items()}

__all__ = ["OPENAPI_PATHS", "OPENAPI_SCHEMAS", "chart_files", "learning", "measures", "strata", "submissions", "teams"]
