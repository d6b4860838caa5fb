"""Bounded imports: how long the largest accepted CSV and FHIR files take to check (outside the write lock) and
how long their import holds SQLite's write lock; and how fast files over the caps are refused.

Run: .venv/bin/python bench/imports.py [--repeat 3]
Builds a network of 50 sites with consent in a temporary SQLite database through the app's services, then
sends each file through the real API (POST /api/v1/measures/<id>/data.csv, /data.csv/preview, /fhir) with
the test client. "Write lock" is the time from BEGIN IMMEDIATE to the end of COMMIT or ROLLBACK (engine and
session events), for the longest write transaction of the request; "outside" is the rest of the request. Also times
the import's own phases by calling the services directly: parse, row checks, signals (all before the lock).
This machine is shared: take the median of a few runs (--repeat) and trust the orders of magnitude.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from lhn import create_app
from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.database import reading, write_lock_held
from lhn.extensions import db
from lhn.measures import services as measures
from lhn.measures.services import alerts, charts, csv_files, data, fhir, periods

SITES, MONTHS = 50, 100  # 5,000 rows: the largest file a network of 50 sites sends, 100 months each
PASSWORD = "correct horse battery staple"


def month(index: int) -> str:
    """The index-th month counted back from December 2020."""
    year, month0 = divmod(2020 * 12 + 11 - index, 12)
    return f"{year:04d}-{month0 + 1:02d}"


def csv_text(rows: int, *, size: int | None = None, bump: int = 0, offset: int = 0) -> str:
    """`rows` valid rows over the sites, months counted back from `offset` months before December 2020;
    numerators padded with leading zeros to make the file `size` bytes. `bump` changes every value."""
    cells = [(f"site-{i % SITES:02d}", month(offset + i // SITES), 50 + (i * 7 + bump) % 13, 80) for i in range(rows)]
    text = "site,period,numerator,denominator\n" + "".join(f"{s},{p},{n},{d}\n" for s, p, n, d in cells)
    if size is None:
        return text
    pad, extra = divmod(size - len(text), rows)
    head = "site,period,numerator,denominator\n"
    return head + "".join(f"{s},{p},{'0' * (pad + (i < extra))}{n},{d}\n" for i, (s, p, n, d) in enumerate(cells))


def largest_csv(*, bump: int = 0, offset: int = 0) -> str:
    """The largest file an import accepts: MAX_IMPORT_ROWS rows, MAX_IMPORT_BYTES bytes."""
    return csv_text(data.MAX_IMPORT_ROWS, size=data.MAX_IMPORT_BYTES, bump=bump, offset=offset)


def fhir_bundle(measure_id: int, *, offset: int = 0) -> tuple[str, int]:
    """As many site MeasureReports as fit in the byte cap (compact JSON), and how many."""
    prefix, suffix = '{"resourceType": "Bundle", "type": "collection", "entry": [', "]}"
    parts: list[str] = []
    size = len(prefix) + len(suffix)
    while len(parts) < data.MAX_IMPORT_ROWS:
        i = len(parts)
        start = periods.parse(month(offset + i // SITES), periods.MONTH)
        numerator = 50 + (i * 7) % 13
        report = {
            "resourceType": "MeasureReport",
            "status": "complete",
            "type": "summary",
            "measure": f"http://localhost/fhir/Measure/lhn-measure-{measure_id}|1",
            "reporter": {"identifier": {"system": fhir.SITE_SYSTEM, "value": f"site-{i % SITES:02d}"}},
            "period": {"start": start.isoformat(), "end": periods.end_of(start, periods.MONTH).isoformat()},
            "group": [
                {
                    "population": [
                        {"code": {"coding": [{"system": fhir.POPULATION_SYSTEM, "code": c}]}, "count": n}
                        for c, n in (("numerator", numerator), ("denominator", 80))
                    ],
                    "measureScoreQuantity": {"value": numerator / 80},
                }
            ],
        }
        part = json.dumps({"resource": report})
        if size + len(part) + 2 * bool(parts) > data.MAX_IMPORT_BYTES:
            break
        size += len(part) + 2 * bool(parts)
        parts.append(part)
    return prefix + ", ".join(parts) + suffix, len(parts)


# --- the network -----------------------------------------------------------------------------------------


def build(folder: Path) -> Any:
    """The app on a new SQLite file: SITES sites, one data lead (a verified clinician of the first), a community
    whose sites all recorded their consent."""
    app = create_app(
        {
            "SECRET_KEY": "bench-secret-key-that-is-long-enough-for-this",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'lhn.sqlite3'}",
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 64,
            "RATELIMIT_ENABLED": False,
        }
    )
    app.instance_path = str(folder / "instance")
    with app.app_context():
        db.create_all()
        for i in range(SITES):
            accounts.create_institution(by=None, slug=f"site-{i:02d}", name=f"Site {i:02d}", kind="hospital")
        lead = accounts.register_user(
            email="lead@example.org",
            username="lead",
            display_name="Data lead",
            password=PASSWORD,
            role="clinician",
            institution="site-00",
        )
        accounts.verify_by_operator(lead)
        communities.create_community(
            communities.CommunityFields(
                slug="ibd", name="Pediatric IBD", condition_name="Crohn's disease", guidelines="Be kind."
            ),
            by=lead,
        )
        db.session.commit()
    measure_id = new_measure(app)
    with app.app_context():
        measure, lead = measures.find_measure(measure_id), accounts.get_user("lead")
        for i in range(SITES):  # consent is the community's: given once, for every measure
            site = accounts.find_institution(f"site-{i:02d}")
            measures.give_consent(measure, site, by=lead, agreed=True)  # type: ignore[arg-type]
        db.session.commit()
    return app


def new_measure(app: Any) -> int:
    """A monthly proportion measure without data, whose owner (the lead) leads every site's data."""
    with app.app_context():
        lead = accounts.get_user("lead")
        fields = measures.MeasureFields(name="Remission", type="proportion", period="month", improvement="up")
        measure = measures.create_measure(communities.get_community("ibd"), fields, by=lead)
        for i in range(1, SITES):
            measures.appoint_site_lead(measure, "lead", f"site-{i:02d}", by=lead)
        db.session.commit()
        return measure.id


# --- measuring -------------------------------------------------------------------------------------------


@contextmanager
def write_transactions(app: Any) -> Iterator[list[tuple[float, int]]]:
    """(seconds from BEGIN IMMEDIATE to the end of COMMIT, statements run meanwhile) per write transaction."""
    found: list[tuple[float, int]] = []
    state: dict[str, Any] = {}

    def begun(_conn: Any) -> None:  # runs after lhn.database's own hook has issued BEGIN IMMEDIATE
        if write_lock_held():
            state.update(start=time.perf_counter(), statements=0)

    def statement(*_args: Any) -> None:
        if "start" in state:
            state["statements"] += 1

    def ended(_session: Any, *_args: Any) -> None:  # committed or rolled back: the lock is released either way
        if "start" in state:
            found.append((time.perf_counter() - state.pop("start"), state.pop("statements")))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "begin", begun)
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(Session, "after_commit", ended)
    event.listen(Session, "after_rollback", ended)
    try:
        yield found
    finally:
        event.remove(engine, "begin", begun)
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(Session, "after_commit", ended)
        event.remove(Session, "after_rollback", ended)


def request(app: Any, client: Any, send: Callable[[], Any]) -> dict[str, Any]:
    with write_transactions(app) as writes:
        start = time.perf_counter()
        response = send()
        total = time.perf_counter() - start
    hold, statements = max(writes, default=(0.0, 0))
    body = response.get_json(silent=True) or {}
    outcome = body.get("error", {}).get("code") or (f"stored {body['stored']}" if "stored" in body else "previewed")
    return {
        "status": response.status_code,
        "outcome": outcome,
        "total": total,
        "outside": total - sum(h for h, _ in writes),
        "hold": hold,
        "statements": statements,
    }


def phases(app: Any, text: str, *, stored_first: str = "") -> dict[str, float]:
    """The import's checks called directly, as a request runs them in reading(), on a new measure (holding
    `stored_first` already, to time a resubmission)."""
    measure_id = new_measure(app)
    with app.app_context():
        measure = measures.find_measure(measure_id)
        lead = accounts.get_user("lead")
        if stored_first:
            csv_files.import_csv(measure, stored_first, by=lead)  # type: ignore[arg-type]
            db.session.commit()
        with reading():
            start = time.perf_counter()
            rows = csv_files.parse_csv(measure, text)  # type: ignore[arg-type]
            parsed = time.perf_counter()
            allowed = measures.access(measure, lead).team_site_ids  # type: ignore[arg-type]
            ok, errors = data.check_rows(measure, rows, allowed_sites=allowed)  # type: ignore[arg-type]
            checked = time.perf_counter()
            cells = {(p.site_id, p.start): charts.Cell(p.numerator, p.denominator, 1) for p in ok}
            alerts.new_signals(measure, cells)  # type: ignore[arg-type]
            signals = time.perf_counter()
        assert not errors, errors[:3]
    return {"parse": parsed - start, "check": checked - parsed, "signals": signals - checked}


def median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(runs[-1])
    for key in ("total", "outside", "hold"):
        out[key] = statistics.median(r[key] for r in runs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = build(Path(folder))
        client = app.test_client()
        token = client.post("/api/v1/tokens", json={"login": "lead", "password": PASSWORD, "name": "bench"})
        auth = {"Authorization": f"Bearer {token.get_json()['token']}"}
        client.get("/api/v1/me", headers=auth)  # a token's first use is recorded: not part of any file's time
        csv_headers = {**auth, "Content-Type": "text/csv"}
        fhir_headers = {**auth, "Content-Type": "application/fhir+json"}

        def prepared(path: str, body: str, *, stored_first: str = "") -> tuple[Callable[[], Any], int]:
            """A new measure (holding `stored_first`), and the request sending `body` to its `path`: not timed."""
            measure_id = new_measure(app)
            url = f"/api/v1/measures/{measure_id}/{path}"
            if stored_first:
                client.post(url, data=stored_first, headers=csv_headers)
            if path == "fhir":  # the Bundle names its measure
                body = fhir_bundle(measure_id)[0]
            headers = fhir_headers if path == "fhir" else csv_headers
            return (lambda: client.post(url, data=body, headers=headers)), len(body.encode())

        scenarios: list[tuple[str, Callable[[], tuple[Callable[[], Any], int]]]] = [
            ("preview, largest CSV", lambda: prepared("data.csv/preview", largest_csv())),
            ("import, largest CSV", lambda: prepared("data.csv", largest_csv())),
            # The costliest write: every value of a stored largest file changes (5,000 superseded, 5,000 new).
            (
                "import, largest CSV, all replaced",
                lambda: prepared("data.csv", largest_csv(bump=1), stored_first=largest_csv()),
            ),
            ("import, 5,000 short rows", lambda: prepared("data.csv", csv_text(data.MAX_IMPORT_ROWS))),
            ("import, largest FHIR Bundle", lambda: prepared("fhir", "")),
        ]
        for rows in (20_000, 60_000):
            text = csv_text(rows)
            for what, path in (("import", "data.csv"), ("preview", "data.csv/preview")):
                scenarios.append((f"{what}, {rows:,} rows", lambda path=path, text=text: prepared(path, text)))
        print(f"{SITES} sites; caps: {data.IMPORT_CAPS}; median of {args.repeat} runs, each on a new measure")
        print(
            f"{'file':<38}{'bytes':>10}{'HTTP':>6}  {'outcome':<19}{'request (s)':>12}{'outside lock (s)':>18}"
            f"{'write lock (ms)':>17}{'stmts':>7}"
        )
        for name, prepare in scenarios:
            runs = []
            for _ in range(args.repeat):
                send, size = prepare()
                runs.append(request(app, client, send))
            result = median(runs)
            print(
                f"{name:<38}{size:>10,}{result['status']:>6}  {result['outcome']:<19}"
                f"{result['total']:>12.3f}{result['outside']:>18.3f}{result['hold'] * 1000:>17.1f}"
                f"{result['statements']:>7}"
            )
        print()
        print("The import's checks called directly (seconds; all in reading(), before the write transaction):")
        print(f"{'file':<38}{'parse':>8}{'rows + consent':>16}{'signals':>9}")
        for name, text, first in (
            ("largest CSV (2 MB), new measure", largest_csv(), ""),
            ("largest CSV, all replaced", largest_csv(bump=1), largest_csv()),
            ("5,000 short rows, new measure", csv_text(data.MAX_IMPORT_ROWS), ""),
        ):
            runs = [phases(app, text, stored_first=first) for _ in range(args.repeat)]
            row = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(f"{name:<38}{row['parse']:>8.3f}{row['check']:>16.3f}{row['signals']:>9.3f}")


if __name__ == "__main__":
    main()
