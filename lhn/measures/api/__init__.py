"""Measures over JSON (/api/v1), one module per sub-domain, on the API blueprint: measures (definitions, data,
charts, CSV and FHIR), teams (owners, invitations, site data leads, consent, history), learning (PDSA cycles,
notes, phases). Their OpenAPI descriptions are joined here for the app factory to hand to lhn.api."""

from lhn.measures.api import learning, measures, teams

OPENAPI_PATHS = measures.OPENAPI_PATHS | teams.OPENAPI_PATHS | learning.OPENAPI_PATHS
OPENAPI_SCHEMAS = measures.OPENAPI_SCHEMAS | teams.OPENAPI_SCHEMAS | learning.OPENAPI_SCHEMAS

__all__ = ["OPENAPI_PATHS", "OPENAPI_SCHEMAS", "learning", "measures", "teams"]
