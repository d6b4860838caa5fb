"""The migration builds the same full-text index as the models: search works on a migrated database."""

from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import text

from lhn import create_app
from lhn.extensions import db
from lhn.search import services as search
from tests import factories
from tests.conftest import BASE_CONFIG
from tests.test_migrations import _fresh_url


def test_search_on_a_migrated_database(tmp_path: Path) -> None:
    url, cleanup = _fresh_url(tmp_path)
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    try:
        with app.app_context():
            upgrade(directory=str(Path(app.root_path) / "migrations"))
            q = factories.question(factories.community(), title="Mesalazine granules or tablets for teenagers")
            db.session.commit()
            assert [h.post.id for h in search.search("mesalazine", by=None).page.items] == [q.id]
            assert [h.post.id for h in search.search("granules", by=None, sort="relevance").page.items] == [q.id]
            db.session.remove()
            db.engine.dispose()
    finally:
        if cleanup:
            admin, name = cleanup
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
