"""Production entry point: gunicorn wsgi:app (see docs/deployment.md)."""

from lhn import create_app

app = create_app()
