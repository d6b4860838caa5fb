"""`flask --app lhn lhn ...`: demo data, operator commands, re-rendering stored Markdown."""

from __future__ import annotations

import os
import sys
from typing import cast

import click
from sqlalchemy import Table, bindparam, func, select, update

from lhn import demo, periodic, reminders
from lhn.accounts import services as accounts
from lhn.accounts.models import Role, User
from lhn.chat.models import ChatMessage
from lhn.communities.models import Community
from lhn.database import Base, mark_read_only, transaction
from lhn.errors import ValidationFailed
from lhn.extensions import db
from lhn.markup import render_markdown
from lhn.measures.models import Measure, PdsaCycle
from lhn.notifications import services as notifications
from lhn.posts import services as posts
from lhn.posts.models import Answer, Comment, Post
from lhn.search.services import rebuild_index

cli = click.Group("lhn", help="LHN operator commands.")

# Stored HTML beside its Markdown source, re-rendered by `lhn rerender` after a policy change.
RENDERED_FIELDS: list[tuple[type[Base], str, str]] = [
    (Community, "description", "description_html"),
    (Community, "guidelines", "guidelines_html"),
    (User, "bio", "bio_html"),
    # measures
    (Measure, "description", "description_html"),
    *((PdsaCycle, name, f"{name}_html") for name in ("plan", "prediction", "do_notes", "study", "act_notes")),
    # Chat messages: mentions become profile links again only when re-sent; rerender keeps them plain.
    (ChatMessage, "body", "body_html"),
]
# posts (@mentions become plain text on re-render; run `lhn reindex-search` afterwards)
RENDERED_FIELDS += [(Post, "body", "body_html"), (Answer, "body", "body_html"), (Comment, "body", "body_html")]


def _fail(exc: ValidationFailed) -> None:
    for field, message in exc.errors.items():
        click.echo(f"error: {field or 'input'}: {message}", err=True)
    sys.exit(2)


@cli.command("seed-demo")
def seed_demo() -> None:
    """Load demo institutions, people, communities and content. Safe to run again."""
    with click.progressbar(demo.STEPS, label="Seeding demo data", item_show_func=lambda s: s[0] if s else "") as bar:
        for _name, step in bar:
            with transaction():
                step()
    click.echo(f"\nDemo logins (password for all: {demo.DEMO_PASSWORD}):")
    for username, role, about in demo.login_table():
        click.echo(f"  {username:<16} {role:<28} {about}")


@cli.command("create-user")
@click.argument("username")
@click.option("--email", required=True)
@click.option("--password", help="Omit to read it from standard input (or be prompted).")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--display-name", help="Defaults to the username.")
@click.option("--verified", is_flag=True, help="Verify a clinician or researcher right away.")
@click.option("--institution", help="Institution slug.")
@click.option("--admin", is_flag=True, help="Make a site admin.")
def create_user(
    username: str, email: str, password: str | None, role: str, display_name: str | None,
    verified: bool, institution: str | None, admin: bool,
) -> None:  # fmt: skip
    """Create an account non-interactively."""
    if password is None:
        if sys.stdin.isatty():
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        else:
            password = sys.stdin.readline().rstrip("\n")
    try:
        with transaction():
            user = accounts.register_user(
                email=email, username=username, display_name=display_name or username, password=password,
                role=role, institution=institution, confirm_real_name=True, is_admin=admin,
                email_confirmed=True,  # the operator vouches for the address
            )  # fmt: skip
            if verified:
                accounts.verify_by_operator(user)
    except ValidationFailed as exc:
        _fail(exc)
    click.echo(f"Created {user.username} ({user.role.value}{', verified' if verified else ''}"
               f"{', site admin' if admin else ''}).")  # fmt: skip


@cli.command("create-institution")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice(["hospital", "clinic", "university", "patient_organisation", "company",
                                           "other"]), required=True)  # fmt: skip
@click.option("--city", default="")
@click.option("--country", default="")
def create_institution(slug: str, name: str, kind: str, city: str, country: str) -> None:
    """Add an institution."""
    try:
        with transaction():
            accounts.create_institution(by=None, slug=slug, name=name, kind=kind, city=city, country=country)
    except ValidationFailed as exc:
        _fail(exc)
    click.echo(f"Created institution {slug}.")


RERENDER_BATCH = 500  # rows rendered without the write lock, then stored in one short write transaction


@cli.command("rerender")
def rerender() -> None:
    """Re-render every stored Markdown field with the current sanitising policy. Batch by batch: each is read
    and rendered without the write lock and stored in a short write transaction, so a running site keeps
    writing; a row edited meanwhile keeps the HTML its edit rendered."""
    mark_read_only()  # reads begin deferred; each batch's transaction() writes
    total, too_complex = 0, []
    for model, source, target in RENDERED_FIELDS:
        table = cast(Table, model.__table__)  # a mapped class's table (typed as any FROM clause)
        rows_in_table = db.session.scalar(select(func.count()).select_from(table)) or 0
        store = (
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c[source] == bindparam("b_source"))
            .values({target: bindparam("b_html")})
        )
        with click.progressbar(length=rows_in_table, label=f"{model.__name__}.{source}") as bar:
            last_id = 0
            while True:
                batch = db.session.execute(
                    select(table.c.id, table.c[source]).where(table.c.id > last_id).order_by(table.c.id)
                    .limit(RERENDER_BATCH)
                ).all()  # fmt: skip
                if not batch:
                    break
                rendered = []
                for row_id, text in batch:
                    try:
                        rendered.append({"b_id": row_id, "b_source": text,
                                         "b_html": str(render_markdown(text)) if text else ""})  # fmt: skip
                    except ValidationFailed:  # over the render budget: it keeps the HTML it has
                        too_complex.append(f"{model.__name__} {row_id}")
                if rendered:
                    with transaction():
                        db.session.execute(store, rendered)
                last_id = batch[-1][0]
                bar.update(len(batch))
                total += len(batch)
    click.echo(f"Re-rendered {total - len(too_complex)} fields.")
    if too_complex:
        click.echo(f"Kept the stored HTML of {len(too_complex)} too complex to render: {', '.join(too_complex)}")


@cli.command("review-due")
def review_due() -> None:
    """Open the review of every vetting whose review-by date has come, and tell its vetter (once each). The
    server does this hourly by itself; run it from cron if you turn that off (PERIODIC_SECONDS = 0)."""
    click.echo(f"{posts.sweep_due_reviews()} vetting review(s) fell due.")


@cli.command("send-reminders")
def send_reminders() -> None:
    """Send the reminders that are due: sites late with a measure's data, vetting reviews coming or still open,
    join and verification requests waiting (each once; lhn/reminders.py). The server does this hourly by itself;
    run it from cron if you turn that off (PERIODIC_SECONDS = 0)."""
    for name, count in reminders.send_all().items():
        click.echo(f"{name}: {'failed (see the log)' if count < 0 else f'{count} reminded'}")


@cli.command("periodic")
def periodic_command() -> None:
    """Run every periodic job once (review-by dates, reminders, digests), at a lower priority: what each server
    starts hourly (lhn/periodic.py), or what cron runs if you turn that off (PERIODIC_SECONDS = 0)."""
    from flask import current_app

    os.nice(10)  # a round is seconds of work; the servers' requests come first
    periodic.run_all(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"Ran {', '.join(periodic.job_names())}.")


@cli.command("digests")
@click.option("--period", type=click.Choice(["daily", "weekly", "both"]), default="both", show_default=True)
def digests_command(period: str) -> None:
    """Queue the daily and/or weekly digest emails that are due (once per person and period: safe to rerun).
    The server does this hourly by itself; run it from cron if you turn that off (PERIODIC_SECONDS = 0)."""
    for each in ("daily", "weekly") if period == "both" else (period,):
        report = notifications.send_digests(each)
        click.echo(f"{each}: {report.queued} digest(s) queued, {report.already} already sent this period, "
                   f"{report.waiting} waiting for the morning in their time zone.")  # fmt: skip


@cli.command("worker")
@click.option("--once", is_flag=True, help="Send what is due now, then stop (for cron).")
def mail_worker_command(once: bool) -> None:
    """Send the outbox's email. Run as many as you like beside the servers (set LHN_MAIL_WORKER=external so
    the servers don't send too); their claims never overlap. Retries back off; see /admin/mail."""
    from flask import current_app

    from lhn.mail import worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        report = worker.send_due(app)
        click.echo(f"{report.sent} sent, {report.retrying} to retry, {report.dead} given up.")
        return
    click.echo("Sending email; Ctrl-C stops.")
    worker.run(app)


@cli.command("reindex-search")
def reindex_search() -> None:
    """Rebuild the full-text index of every post (after an import, a re-render or a visibility change)."""
    with transaction():
        count = rebuild_index()
    click.echo(f"Indexed {count} posts.")
