"""Account rules: registration fields, passwords and hashes, sessions, verification evidence, tokens."""

import pytest
from werkzeug.security import generate_password_hash

from lhn.accounts import services as accounts
from lhn.accounts.models import Role
from lhn.errors import NotFound, ValidationFailed
from lhn.extensions import db
from tests import factories
from tests.conftest import PASSWORD

GOOD = {
    "email": "river@example.org",
    "username": "river",
    "display_name": "river_walker",
    "password": PASSWORD,
    "role": "patient",
}


def register(**changes):
    return accounts.register_user(**{**GOOD, **changes})


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": ""}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"username": "ab"}, "username"),
        ({"username": "9lives"}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "x" * 31}, "username"),
        ({"username": "admin"}, "username"),
        ({"display_name": ""}, "display_name"),
        ({"display_name": "\u200b\u202e"}, "display_name"),
        ({"display_name": "n" * 61}, "display_name"),
        ({"display_name": "Jane Smith"}, "display_name"),
        ({"password": "short1"}, "password"),
        ({"password": "x" * 257}, "password"),
        ({"password": "password123"}, "password"),
        ({"password": "river@example.org"}, "password"),
        ({"role": "doctor"}, "role"),
        ({"institution": "no-such-place"}, "institution"),
    ],
)
def test_register_reports_each_bad_field(ctx, changes, field) -> None:
    with pytest.raises(ValidationFailed) as caught:
        register(**changes)
    assert set(caught.value.errors) == {field}


def test_register_refuses_taken_username_and_email_case_insensitively(ctx) -> None:
    register()
    with pytest.raises(ValidationFailed) as caught:
        register(email="RIVER@example.org", username="River")
    assert set(caught.value.errors) == {"email", "username"}


def test_register_normalises_and_hashes_with_argon2id(ctx) -> None:
    user = register(email=" River@Example.org ", username="River", display_name="  river \u202e walker ")
    assert user.email == "river@example.org"
    assert user.username == "river"
    assert user.display_name == "river walker"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_real_looking_name_is_allowed_once_confirmed(ctx) -> None:
    assert accounts.looks_like_real_name("María José García")
    assert not accounts.looks_like_real_name("ibd mum")
    assert not accounts.looks_like_real_name("SugarRunner")
    assert register(display_name="Jane Smith", confirm_real_name=True).display_name == "Jane Smith"


def test_password_of_64_characters_and_unicode_is_accepted(ctx) -> None:
    user = register(password="ü" * 64)
    assert accounts.authenticate("river", "ü" * 64) == user


def test_authenticate_by_username_or_email_and_refuses_wrong_password(ctx) -> None:
    user = register()
    assert accounts.authenticate("RIVER", PASSWORD) == user
    assert accounts.authenticate("river@example.org", PASSWORD) == user
    assert accounts.authenticate("river", "wrong password!") is None
    assert accounts.authenticate("nobody", PASSWORD) is None


def test_legacy_werkzeug_hash_is_verified_then_upgraded(ctx) -> None:
    user = register()
    user.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    db.session.flush()
    assert accounts.authenticate("river", PASSWORD) == user
    assert user.password_hash.startswith("$argon2id$")
    assert accounts.authenticate("river", PASSWORD) == user


def test_change_password_checks_current_and_bumps_session_version(ctx) -> None:
    user = register()
    version = user.session_version
    with pytest.raises(ValidationFailed) as caught:
        accounts.change_password(user, current_password="nope nope", new_password="12345678")
    assert set(caught.value.errors) == {"current_password", "new_password"}
    accounts.change_password(user, current_password=PASSWORD, new_password="a brand new passphrase")
    assert user.session_version == version + 1
    assert accounts.load_user_for_session(f"{user.id}:{version}") is None
    assert accounts.load_user_for_session(f"{user.id}:{version + 1}") == user
    assert accounts.load_user_for_session("garbage") is None


def test_changing_role_drops_verification(ctx) -> None:
    clinician = factories.user("clinician", verified=True)
    assert clinician.verification_state == "verified"
    accounts.update_profile(clinician, display_name=clinician.display_name, bio="", role="researcher", institution=None)
    assert clinician.verification_state == "claimed"
    assert not clinician.is_verified


def test_profile_bio_is_rendered_safely(ctx) -> None:
    user = factories.user()
    accounts.update_profile(
        user, display_name="x y z", bio="<script>x</script> **hi**", role="patient", institution=None
    )
    assert "<script>" not in user.bio_html
    assert "<strong>hi</strong>" in user.bio_html


@pytest.mark.parametrize(
    ("orcid", "valid"),
    [
        ("0000-0002-1825-0097", True),
        ("0000-0002-1694-233X", True),
        ("0000-0002-1825-0098", False),
        ("0000-0002-1825-009", False),
        ("abcd-0002-1825-0097", False),
    ],
)
def test_orcid_checksum(orcid, valid) -> None:
    assert accounts.orcid_is_valid(orcid) is valid


@pytest.mark.parametrize(
    ("evidence", "field"),
    [
        ({}, "licence_number"),
        ({"licence_number": "123"}, "licence_issuer"),
        ({"licence_issuer": "GMC"}, "licence_number"),
        ({"orcid": "0000-0002-1825-0098"}, "orcid"),
        ({"institutional_email": "me@gmail.com"}, "institutional_email"),
        ({"institutional_email": "nope"}, "institutional_email"),
    ],
)
def test_verification_evidence_is_validated(ctx, evidence, field) -> None:
    clinician = factories.user("clinician")
    with pytest.raises(ValidationFailed) as caught:
        accounts.submit_verification(clinician, **evidence)
    assert field in caught.value.errors


def test_only_clinicians_and_researchers_submit_and_only_once(ctx) -> None:
    with pytest.raises(ValidationFailed):
        accounts.submit_verification(factories.user("patient"), orcid="0000-0002-1825-0097")
    researcher = factories.user("researcher")
    accounts.submit_verification(researcher, orcid="https://orcid.org/0000-0002-1825-0097")
    assert accounts.pending_verification(researcher).orcid == "0000-0002-1825-0097"
    with pytest.raises(ValidationFailed):
        accounts.submit_verification(researcher, orcid="0000-0002-1825-0097")


def test_verification_history_is_seen_by_the_person_and_site_staff_only(ctx) -> None:
    from flask_login import AnonymousUserMixin


    applicant, admin, intruder = factories.user("researcher"), factories.user("other", admin=True), factories.user()
    request = accounts.submit_verification(applicant, orcid="0000-0002-1825-0097")
    accounts.decide_verification(request.id, by=admin, approve=False, note="This ORCID iD belongs to someone else")
    for viewer in (applicant, admin):
        assert [r.decision_note for r in accounts.list_verification_history(applicant, viewer=viewer)] == [
            "This ORCID iD belongs to someone else"
        ]
    for viewer in (intruder, AnonymousUserMixin(), None):
        assert accounts.list_verification_history(applicant, viewer=viewer) == []


def test_tokens_are_stored_hashed_and_stop_working_when_revoked(ctx) -> None:
    user = factories.user()
    row, token = accounts.create_token(user, name="script")
    assert token.startswith("lhn_")
    assert token not in (row.token_hash, row.hint)
    assert accounts.find_token(token) == row
    assert row.user == user
    assert accounts.token_use_due(row)
    accounts.record_token_use(row)
    assert row.last_used_at is not None
    assert not accounts.token_use_due(row)
    holder = accounts.find_token_holder(token)  # what a socket opening with it reads
    assert (holder.token_id, holder.user_id, holder.username) == (row.id, user.id, user.username)
    assert (holder.session_version, holder.display_name) == (user.session_version, user.display_name)
    accounts.revoke_token(user, row.id)
    assert accounts.find_token(token) is None
    assert accounts.find_token_holder(token) is None
    assert accounts.find_token("lhn_wrong") is None
    assert accounts.find_token_holder("lhn_wrong") is None
    assert accounts.find_token_holder("not-a-token") is None
    with pytest.raises(NotFound):
        accounts.revoke_token(factories.user(), row.id)


def test_roles_that_need_verification() -> None:
    assert {r for r in Role if r.needs_verification} == {Role.CLINICIAN, Role.RESEARCHER}
