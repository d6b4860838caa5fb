"""Copy the posts benchmark's SQLite database (bench/generate_posts.py) into a PostgreSQL database, so that
bench/posts_bench.py can serve the same 100,000 posts from PostgreSQL (`--database-url`).

    .venv/bin/python bench/copy_to_postgres.py [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/lhn_bench]

The database is dropped and created again, migrated to the head (so PostgreSQL's own search column and index
exist), then every table is copied with COPY, in the order of its foreign keys, and the id sequences are moved
past the copied ids. About two minutes on this machine.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: import lhn and tests.* from the checkout

from lhn import models  # noqa: E402, F401 - after the path; makes every table known to Base.metadata
from lhn.database import Base  # noqa: E402
from tests.servers import flask_command  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/lhn_bench"


def recreate(url: str) -> str:
    """Drop and create the database `url` names; returns the libpq URL for psycopg."""
    parsed = make_url(url)
    admin = parsed.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')
    return parsed.render_as_string(hide_password=False).replace("+psycopg", "")


def copy_tables(source: Path, target: str) -> None:
    lite = sqlite3.connect(source)
    with psycopg.connect(target) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        tables = Base.metadata.sorted_tables
        for number, table in enumerate(tables, 1):
            columns = [c.name for c in table.columns]
            names = ", ".join(f'"{c}"' for c in columns)
            rows = lite.execute(f'SELECT {names} FROM "{table.name}"')  # noqa: S608 - our own table names
            started, count = time.monotonic(), 0
            with conn.cursor().copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            if count:
                print(f"  [{number:>2}/{len(tables)}] {table.name}: {count:,} rows in "
                      f"{time.monotonic() - started:.1f} s", flush=True)  # fmt: skip
            if "id" in table.c and table.c.id.autoincrement and count:
                last = f'(SELECT max(id) FROM "{table.name}")'  # noqa: S608 - our own table names
                conn.execute(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), {last})")
        conn.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=ROOT / "bench" / "results" / "posts.sqlite3")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    if not args.db.exists():
        sys.exit(f"{args.db} is missing: run bench/generate_posts.py first.")
    started = time.monotonic()
    target = recreate(args.database_url)
    flask_command(args.database_url, "db", "upgrade")
    flask_command(f"sqlite:///{args.db}", "db", "upgrade")  # both at the head, so their columns match
    print(f"Copying {args.db.name} into {make_url(args.database_url).database}:")
    copy_tables(args.db, target)
    print(f"Done in {time.monotonic() - started:.0f} s.")


if __name__ == "__main__":
    main()
