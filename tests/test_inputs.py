"""The input boundary (lhn/inputs.py): ids that fit the database, text that is text, bounded nesting,
no lone surrogates or direction overrides; every failure the documented error JSON, never a 500."""

import pytest

from lhn import inputs
from lhn.errors import ValidationFailed
from lhn.pagination import encode_cursor
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.conftest import committed, login

TOO_BIG = 2**31  # one more than a PostgreSQL INTEGER holds (lhn.inputs.MAX_INT)


@pytest.fixture
def api(app, client):
    """A member's token, a question in a community, and the client."""
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(doc, slug="ibd", name="Pediatric IBD")
        factories.member(ibd, factories.user("patient", username="pat"))
        question = factories.question(ibd, doc)
        question_id = question.id
    return client, bearer(token_for(client, "pat")), question_id


# --- path, query string and body integers ----------------------------------------------------------------


@pytest.mark.parametrize("path", [f"/api/v1/posts/{TOO_BIG}", f"/api/v1/answers/{TOO_BIG}/revisions",
                                  f"/c/ibd/posts/{TOO_BIG}", f"/api/v1/posts/{10**40}"])  # fmt: skip
def test_an_id_too_large_for_the_database_in_a_path_is_not_found(api, path):
    client, auth, _ = api
    response = client.get(path, headers=auth)
    assert response.status_code == 404


@pytest.mark.parametrize(("method", "path"), [("PATCH", f"/api/v1/posts/{TOO_BIG}"),
                                            ("DELETE", f"/api/v1/answers/{TOO_BIG}"),
                                            ("POST", f"/api/v1/channels/{TOO_BIG}/messages"),
                                            ("PATCH", f"/api/v1/measures/1/pdsa/{TOO_BIG}")])  # fmt: skip
def test_an_id_too_large_is_not_found_whatever_the_method(api, method, path):
    """Not 405: the route exists for other methods too, but no page has that id."""
    client, auth, _ = api
    assert_error(client.open(path, method=method, json={"body": "x"}, headers=auth), 404, "not_found")


def test_an_id_too_large_in_a_body_is_a_validation_error(api):
    client, auth, _ = api
    response = client.post("/api/v1/notifications/read", json={"ids": [TOO_BIG]}, headers=auth)
    assert_error(response, 422, "validation_failed")


# --- JSON shape ---------------------------------------------------------------------------------------


def test_deeply_nested_json_is_a_bad_request(api):
    client, auth, question_id = api
    for body in ("[" * 100_000, '{"body": ' + "[" * 50 + "]" * 50 + "}"):
        response = client.post(f"/api/v1/posts/{question_id}/answers", data=body, headers=auth,
                               content_type="application/json")  # fmt: skip
        assert_error(response, 400, "bad_request")


def test_malformed_json_and_non_objects_are_bad_requests(api):
    client, auth, question_id = api
    for body in ("{", "[]", '"text"', "null", ""):
        response = client.post(f"/api/v1/posts/{question_id}/answers", data=body, headers=auth,
                               content_type="application/json")  # fmt: skip
        assert_error(response, 400, "bad_request")


@pytest.mark.parametrize("value", [None, 12, 1.5, True, ["x"], {"a": "b"}])
def test_a_text_field_that_is_not_text_is_refused_not_coerced(api, value):
    client, auth, question_id = api
    response = client.post(f"/api/v1/posts/{question_id}/answers", json={"body": value}, headers=auth)
    error = assert_error(response, 422, "validation_failed")
    assert "body" in error["fields"]


@pytest.mark.parametrize("text", ["abc \ud800", "\udfff tail"])
def test_a_lone_surrogate_is_refused_with_the_field_named(api, text):
    client, auth, question_id = api
    response = client.post(f"/api/v1/posts/{question_id}/answers", json={"body": text}, headers=auth)
    error = assert_error(response, 422, "validation_failed")
    assert "surrogate" in error["fields"]["body"]


def test_direction_overrides_are_refused_in_text(api):
    client, auth, question_id = api
    body = "Take the tablet \u202eevif\u202c times a day with food"
    response = client.post(f"/api/v1/posts/{question_id}/answers", json={"body": body}, headers=auth)
    error = assert_error(response, 422, "validation_failed")
    assert "direction" in error["fields"]["body"]


# --- the functions themselves -----------------------------------------------------------------------------


def test_field_readers_refuse_what_they_would_otherwise_coerce():
    data = {"n": True, "s": "1", "f": 2.0, "null": None, "big": TOO_BIG, "ok": 7, "flag": "true"}
    for reader, name in [(inputs.integer, "n"), (inputs.integer, "s"), (inputs.integer, "f"),
                         (inputs.integer, "big"), (inputs.integer, "null"), (inputs.integer, "missing"),
                         (inputs.text, "ok"), (inputs.text, "null"), (inputs.boolean, "flag")]:  # fmt: skip
        with pytest.raises(ValidationFailed) as caught:
            reader(data, name)
        assert name in caught.value.errors
    assert inputs.integer(data, "ok") == 7
    assert inputs.text(data, "null", "") == ""  # an optional field: null means "not given"
    assert inputs.ident(data, "missing", None) is None


def test_a_whole_number_is_ascii_digits_that_fit_an_integer_column():
    assert [inputs.whole_number(t) for t in ("7", "2147483647", "0")] == [7, 2**31 - 1, 0]
    assert inputs.whole_number("-1", signed=True) == -1
    refused = (" 7", "1_0", "\u0663", "\u00b2", "-1", "2147483648", "9" * 5000, "")
    assert {inputs.whole_number(t) for t in refused} == {None}


def test_a_decimal_is_not_held_to_an_integer_columns_range():
    # Data values and targets are stored as double precision: 3 billion patient-days is a value, not an id.
    assert inputs.number({"exposure": 3_000_000_000.5}, "exposure") == 3_000_000_000.5
    with pytest.raises(ValidationFailed):
        inputs.number({"exposure": 1e19}, "exposure")


def test_rtl_marks_are_allowed_but_overrides_and_surrogates_are_not():
    assert inputs.text_problem("שלום\u200f world\u200e") is None
    assert inputs.text_problem("x\u2067y") is not None
    assert inputs.text_problem("x\ud83dy") is not None


# --- pages: query strings through the same readers -----------------------------------------------------------

BAD_CURSOR = encode_cursor([TOO_BIG])


@pytest.mark.parametrize(("who", "path"), [
    ("pat", f"/c/ibd/chat/general?before={TOO_BIG}"),
    ("pat", f"/?cursor={BAD_CURSOR}"),
    ("pat", "/?q=%E2%80%AEdbi"),
    ("pat", f"/c/ibd/members?cursor={BAD_CURSOR}"),
    ("pat", f"/notifications?cursor={BAD_CURSOR}"),
    ("pat", "/notifications?unread=yes"),
    ("pat", f"/search?q=school&cursor={BAD_CURSOR}"),
    ("pat", f"/c/ibd/moderation-log?cursor={BAD_CURSOR}"),
    ("pat", f"/c/ibd/vetted?cursor={encode_cursor(['x', 1])}"),
    ("boss", f"/admin/audit?object_id={TOO_BIG}"),
    ("boss", f"/admin/audit?actor={TOO_BIG}"),  # an account id: a 500 on PostgreSQL
    ("boss", "/admin/audit?actor=%C2%B2"),  # "²" is a digit to str.isdigit, not to int()
    ("boss", "/admin/audit?since=2026-02-30"),
])  # fmt: skip
def test_a_page_query_string_that_doesnt_fit_is_an_error_page_not_a_server_error(app, api, who, path):
    with committed(app):
        factories.user("other", username="boss", admin=True)
    client = app.test_client()
    login(client, who)
    response = client.get(path)
    assert response.status_code == 422, response.status_code
    assert "text/html" in response.content_type


def test_a_post_list_with_a_cursor_that_doesnt_fit_says_so(app, api):
    client = app.test_client()
    login(client, "pat")
    response = client.get(f"/c/ibd/posts?cursor={BAD_CURSOR}", follow_redirects=True)
    assert "That page link is not valid." in response.text
