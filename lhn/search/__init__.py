"""Search: one full-text service over posts and their answers (SQLite FTS5 or PostgreSQL tsvector)."""
