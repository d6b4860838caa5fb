"""The search document of a post (its title, its text and its answers' text) and the full-text index over it.

SQLite: an FTS5 external-content table `search_fts` kept in step by triggers on `search_document`.
PostgreSQL: a generated `tsv` column with a GIN index. Neither can be expressed by the models, so the
DDL is attached to the table's after_create (create_all in tests) and repeated in the migration;
register_unmanaged names them so schema comparisons leave them alone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from lhn.database import Base, UTCDateTime
from lhn.schema import register_unmanaged


class SearchDocument(Base):
    __tablename__ = "search_document"
    __table_args__ = (Index("ix_search_document_community", "community_id", "post_id"),)

    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    title: Mapped[str] = mapped_column(String(160))
    body: Mapped[str] = mapped_column(Text)  # plain text of the post and its visible answers
    # Filter tokens (community, public, kind, tags, vetted, unanswered) matched inside the index, so a
    # filtered search still stops after one page of hits instead of joining every match.
    facets: Mapped[str] = mapped_column(Text, default="")


SQLITE_DDL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(title, body, facets, content='search_document', "
    "content_rowid='post_id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS search_document_ai AFTER INSERT ON search_document BEGIN "
    "INSERT INTO search_fts(rowid, title, body, facets) VALUES (new.post_id, new.title, new.body, new.facets); END",
    "CREATE TRIGGER IF NOT EXISTS search_document_ad AFTER DELETE ON search_document BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, body, facets) "
    "VALUES ('delete', old.post_id, old.title, old.body, old.facets); END",
    "CREATE TRIGGER IF NOT EXISTS search_document_au AFTER UPDATE ON search_document BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, body, facets) "
    "VALUES ('delete', old.post_id, old.title, old.body, old.facets); "
    "INSERT INTO search_fts(rowid, title, body, facets) VALUES (new.post_id, new.title, new.body, new.facets); END",
]
# Title weighs most; facets use the 'simple' configuration and the default weight D, which the
# filter queries ask for (title is A, body B), so words in a post can never pose as a filter.
POSTGRESQL_DDL = [
    "ALTER TABLE search_document ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(body, '')), 'B') || "
    "to_tsvector('simple', coalesce(facets, ''))) STORED",
    "CREATE INDEX ix_search_document_tsv ON search_document USING gin (tsv)",
]

for _statement in SQLITE_DDL:
    event.listen(SearchDocument.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in POSTGRESQL_DDL:
    event.listen(SearchDocument.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql"))

# The objects made by the DDL above, which the models don't describe.
register_unmanaged(
    tables=["search_fts", "search_fts_data", "search_fts_idx", "search_fts_docsize", "search_fts_config",
            "search_fts_content"],
    columns=[("search_document", "tsv")],
    indexes=["ix_search_document_tsv"],
)  # fmt: skip
