"""Operator commands run through Flask's CLI runner, as `flask --app lhn lhn ...` runs them."""

from sqlalchemy import select

from lhn import cli, database, markup
from lhn.errors import ValidationFailed
from lhn.extensions import db
from lhn.posts.models import Answer
from tests import factories
from tests.conftest import committed


def test_rerender_restores_every_stored_html_in_batches_without_holding_the_write_lock(app, monkeypatch):
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(doc, slug="ibd", name="Pediatric IBD")
        question = factories.question(ibd, doc)
        for n in range(7):
            factories.answer(question, doc, body=f"**Answer {n}**: see the [guideline](https://example.org/{n}).")
    with app.app_context():  # a sanitiser change: the stored HTML is stale
        db.session.execute(Answer.__table__.update().values(body_html="<p>stale</p>"))
        db.session.commit()
    rendered_under_lock = []
    real_render = markup.render_markdown

    def render(source, **kwargs):
        rendered_under_lock.append(database.write_lock_held())
        return real_render(source, **kwargs)

    monkeypatch.setattr(cli, "render_markdown", render)
    monkeypatch.setattr(cli, "RERENDER_BATCH", 3)  # several batches, and a last one that is short

    with app.app_context():  # as the flask command runs it
        result = app.test_cli_runner().invoke(args=["lhn", "rerender"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        stored = db.session.scalars(select(Answer.body_html).order_by(Answer.id)).all()
    assert len(stored) == 7
    assert stored[0] == (
        '<p><strong>Answer 0</strong>: see the <a href="https://example.org/0" rel="nofollow ugc noopener '
        'noreferrer">guideline</a>.</p>'
    )
    assert all("stale" not in html for html in stored)
    assert rendered_under_lock
    assert not any(rendered_under_lock)


def test_rerender_keeps_the_html_of_a_row_edited_while_its_batch_rendered(app, monkeypatch):
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(doc, slug="ibd", name="Pediatric IBD")
        answer_id = factories.answer(factories.question(ibd, doc), doc, body="first").id
    real_render = markup.render_markdown
    edited = []

    def render_while_someone_edits(source, **kwargs):
        if source == "first" and not edited:  # the author saves a new version meanwhile
            with app.app_context():
                db.session.execute(Answer.__table__.update().values(body="second", body_html="<p>second</p>"))
                db.session.commit()
            edited.append(True)
        return real_render(source, **kwargs)

    monkeypatch.setattr(cli, "render_markdown", render_while_someone_edits)
    with app.app_context():  # as the flask command runs it
        result = app.test_cli_runner().invoke(args=["lhn", "rerender"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(Answer, answer_id).body_html == "<p>second</p>"


def test_rerender_keeps_the_html_of_a_text_too_complex_to_render_and_says_which(app, monkeypatch):
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(doc, slug="ibd", name="Pediatric IBD")
        question = factories.question(ibd, doc)
        plain = factories.answer(question, doc, body="plain").id
        hard = factories.answer(question, doc, body="too hard").id
    real_render = markup.render_markdown

    def render(source, **kwargs):
        if source == "too hard":
            raise ValidationFailed({"body": markup.TOO_COMPLEX})
        return real_render(source, **kwargs)

    monkeypatch.setattr(cli, "render_markdown", render)
    with app.app_context():
        db.session.execute(Answer.__table__.update().values(body_html="<p>old</p>"))
        db.session.commit()
        result = app.test_cli_runner().invoke(args=["lhn", "rerender"])
    assert result.exit_code == 0, result.output
    assert f"too complex to render: Answer {hard}" in result.output
    with app.app_context():
        assert db.session.get(Answer, plain).body_html == "<p>plain</p>"
        assert db.session.get(Answer, hard).body_html == "<p>old</p>"
