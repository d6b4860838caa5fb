"""The improvement programme over JSON (/api/v1), one module per sub-domain, on the API blueprint: drivers (key
driver diagrams, their nodes and history), sessions (learning sessions, registration, storyboards), package
(the change package). Their OpenAPI descriptions are joined here for the app factory to hand to lhn.api."""

from lhn.programme.api import drivers, package, sessions

MODULES = (drivers, sessions, package)
OPENAPI_PATHS = {path: item for module in MODULES for path, item in module.OPENAPI_PATHS.items()}
OPENAPI_SCHEMAS = {name: schema for module in MODULES for name, schema in module.OPENAPI_SCHEMAS.items()}

__all__ = ["OPENAPI_PATHS", "OPENAPI_SCHEMAS", "drivers", "package", "sessions"]
