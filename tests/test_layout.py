"""The layout's facts about the signed-in person (lhn/layout.py): read once a page, only when the page shows them."""

from flask import render_template_string
from flask_login import current_user, login_user

from lhn.accounts import services as accounts
from lhn.layout import Layout
from lhn.notifications import services as notifications
from tests import factories
from tests.conftest import committed


def _signed_in(username: str) -> None:
    login_user(accounts.get_user(username))
    assert current_user.is_authenticated


def test_a_page_that_shows_nothing_of_the_layout_runs_no_query_for_it(app, count_queries):
    with committed(app):
        factories.user(username="reader")
    with app.test_request_context():
        _signed_in("reader")
        with count_queries() as queries:
            render_template_string("a fragment")  # the context processor hands over `layout`, unread
        assert queries == []


def test_the_unread_count_is_read_once_a_page(app, count_queries):
    with committed(app):
        notifications.notify(factories.user(username="reader"), kind="x", text="t", url="/")
    with app.test_request_context():
        _signed_in("reader")
        layout = Layout(current_user)
        with count_queries() as queries:
            assert (layout.unread_notifications, layout.unread_notifications) == (1, 1)
        assert len(queries) == 1
        with count_queries() as queries:
            assert layout.sanctions == []
        assert queries == []  # nothing running (User.sanctioned_until): the banner asks without a query


def test_anonymous_visitors_have_no_count_and_no_banner(app):
    with app.test_request_context():
        layout = Layout(current_user)
        assert layout.user is None
        assert (layout.unread_notifications, layout.sanctions) == (0, [])
