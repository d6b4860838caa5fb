"""The test harness's shortcuts (tests/conftest.py) change nothing an app does: a URL builder shared between test
apps is the one Werkzeug would compile for that rule, and a template compiled once renders the same in every app."""

from collections.abc import Callable

from flask import Flask, render_template, url_for

from tests import conftest


def _same_builders(app: Flask, compile_builder: Callable) -> list[str]:
    """The rules whose builder (as the app holds it) differs from a fresh compilation, with and without unknown
    arguments appended."""
    differ = []
    for rule in app.url_map.iter_rules():
        for held, append_unknown in ((rule._build, False), (rule._build_unknown, True)):
            fresh = compile_builder(rule, append_unknown)
            same = (held.__code__.co_code, held.__code__.co_consts, held.__code__.co_varnames, held.__defaults__) == (
                fresh.__code__.co_code, fresh.__code__.co_consts, fresh.__code__.co_varnames, fresh.__defaults__
            )  # fmt: skip
            if not same:
                differ.append(f"{rule.rule} (append_unknown={append_unknown})")
    return differ


def test_every_shared_url_builder_is_the_one_werkzeug_compiles_for_its_rule(make_app):
    make_app()  # the first app fills the shared builders; the second takes every one of them from there
    second = make_app(PROXY_FIX=0, CHAT_MESSAGE_MAX=100)
    assert len(list(second.url_map.iter_rules())) > 300
    assert _same_builders(second, conftest._compile_url_builder) == []
    with second.test_request_context():
        assert url_for("chat.channel", slug="ibd", name="général", page=2) == "/c/ibd/chat/g%C3%A9n%C3%A9ral?page=2"


def test_the_check_above_fails_when_builders_are_shared_too_widely(make_app, monkeypatch):
    """A key that left out the rule would give every rule the first rule's builder: the check must notice."""
    shared: dict = {}

    def too_wide(rule, append_unknown=True):
        return shared.setdefault(append_unknown, conftest._compile_url_builder(rule, append_unknown))

    monkeypatch.setattr(conftest.Rule, "_compile_builder", too_wide)
    app = make_app()
    assert len(_same_builders(app, conftest._compile_url_builder)) > 300


def test_a_template_compiled_once_renders_the_same_in_another_app(make_app):
    first, second = make_app(), make_app(CHAT_MESSAGE_MAX=123)
    assert first.jinja_env.bytecode_cache is second.jinja_env.bytecode_cache is conftest.SHARED_TEMPLATE_CODE
    with first.test_request_context("/about"):
        page = render_template("base.html")
    compiled = len(conftest.SHARED_TEMPLATE_CODE.code)
    assert compiled >= 1
    with second.test_request_context("/about"):
        assert render_template("base.html") == page
    assert len(conftest.SHARED_TEMPLATE_CODE.code) == compiled  # the second app compiled nothing new
