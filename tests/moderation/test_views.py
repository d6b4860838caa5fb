"""Moderation pages: flagging a member, the queue and its actions, the "already handled" message, the log
tab, settings, the sanction banner, my standing, the audit page, my data."""

import re

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.moderation.services import actions, sanctions
from tests import factories
from tests.conftest import committed, login


def u(name):
    return accounts.get_user(name)


def client_for(app, username):
    client = app.test_client()
    login(client, username)
    return client


def flag_answer(app, cast, who="rdr1", reason="misinformation"):
    with committed(app):
        return factories.flag(u(who), cast.answer_id, reason, target_type="fake").item.id


def test_a_member_flags_another_member_from_their_profile(app, cast):
    reader = client_for(app, "rdr1")
    profile = reader.get("/u/author").text
    link = re.search(r'href="(/flag/user/\d+)"', profile).group(1)
    assert "Flag this member" not in client_for(app, "author").get("/u/author").text  # not on my own profile
    form = reader.get(link).text
    assert "Medical misinformation" in form
    assert "Pediatric IBD" in form
    missing = reader.post(link, data={"reason": "other", "details": ""})
    assert "Tell the moderators what is wrong." in missing.text
    sent = reader.post(
        link, data={"reason": "harassment", "details": "Rude replies", "community": "ibd"}, follow_redirects=True
    )
    assert "Moderators will review it" in sent.text
    queue = client_for(app, "mod").get("/c/ibd/review").text
    assert "Flagged member" in queue
    assert "Rude replies" in queue
    assert client_for(app, "rdr2").get("/flag/user/999999").status_code == 404


def test_flags_from_the_pages_are_rate_limited_per_user(make_app, cast):
    app = make_app(RATE_LIMITS={"flag": "2 per hour"}, NEW_ACCOUNT_DAYS=0)  # nobody counts as new here
    reader = client_for(app, "rdr1")
    author_id = None
    with committed(app):
        author_id = u("author").id
        targets = [u(n).id for n in ("rdr2", "rdr3", "vet")]
    for target in targets[:2]:
        assert reader.post(f"/flag/user/{target}", data={"reason": "spam"}).status_code == 302
    limited = reader.post(f"/flag/user/{targets[2]}", data={"reason": "spam"})
    assert limited.status_code == 429
    assert client_for(app, "rdr2").post(f"/flag/user/{author_id}", data={"reason": "spam"}).status_code == 302


def test_members_cannot_see_the_queue_and_moderators_of_other_communities_neither(app, cast):
    flag_answer(app, cast)
    for name in ("rdr2", "othermod", "intruder"):
        assert client_for(app, name).get("/c/ibd/review").status_code == 403
    assert client_for(app, "rdr2").get("/review").status_code == 403
    assert app.test_client().get("/c/ibd/review").status_code == 302  # to the login page


def test_a_moderator_hides_from_the_queue_and_a_second_one_is_told_it_was_handled(app, cast, fake_content):
    item_id = flag_answer(app, cast)
    first, second = client_for(app, "mod"), client_for(app, "doc")
    page = first.get("/c/ibd/review").text
    assert "Call me on 513-555-0134" in page  # visible content shows its excerpt
    assert 'value="hide"' in page
    assert 'value="suspend"' not in page
    version = re.search(r'name="version" value="(\d+)"', second.get("/c/ibd/review").text).group(1)
    hidden = first.post(
        f"/review/{item_id}/actions",
        data={"action": "hide", "version": version, "reason": "Unsafe dosing advice", "next": "/c/ibd/review"},
        follow_redirects=True,
    )
    assert "Done: hidden." in hidden.text
    assert fake_content.rows[cast.answer_id].hidden_reason == "Unsafe dosing advice"
    late = second.post(
        f"/review/{item_id}/actions", data={"action": "dismiss", "version": version}, follow_redirects=True
    )
    assert "This item was already handled by caregiver" in late.text
    assert "(hidden)" in late.text
    log = app.test_client().get("/c/ibd/moderation-log").text
    assert "Unsafe dosing advice" in log
    assert 'href="/fake/1"' in log
    assert "513-555-0134" not in log


def test_a_hidden_target_shows_only_on_the_item_page_and_the_view_is_audited(app, cast, fake_content):
    with committed(app):
        for name in ("rdr1", "rdr2", "rdr3"):
            item_id = factories.flag(u(name), cast.answer_id, "spam", target_type="fake").item.id
    mod = client_for(app, "mod")
    queue = mod.get("/c/ibd/review").text
    assert "513-555-0134" not in queue
    assert "read the hidden original" in queue
    page = mod.get(f"/review/{item_id}").text
    assert "513-555-0134" in page
    assert "513-555-0134 (a phone number)" in page  # offered for redaction
    audit = client_for(app, "boss").get("/admin/audit?action=content.hidden_viewed").text
    assert "content.hidden_viewed" in audit
    assert client_for(app, "rdr1").get(f"/review/{item_id}").status_code == 404


def test_redaction_from_the_item_page(app, cast, fake_content):
    item_id = flag_answer(app, cast, reason="phi")
    mod = client_for(app, "mod")
    version = re.search(r'name="version" value="(\d+)"', mod.get(f"/review/{item_id}").text).group(1)
    done = mod.post(
        f"/review/{item_id}/actions",
        data={"action": "redact", "version": version, "fragments": "513-555-0134"},
        follow_redirects=True,
    )
    assert "Done: redacted." in done.text
    assert "513-555-0134" not in fake_content.rows[cast.answer_id].text
    assert "redacted personal health information from" in app.test_client().get("/c/ibd/moderation-log").text


def test_the_queue_page_costs_the_same_queries_for_one_item_or_many(app, cast, fake_content, count_queries):
    flag_answer(app, cast)
    with committed(app):
        factories.flag(u("rdr1"), u("author"), "spam", community="ibd")  # one item of each target type
    mod = client_for(app, "mod")
    with count_queries() as few:
        assert mod.get("/c/ibd/review").status_code == 200
    with committed(app):
        ibd = communities.get_community("ibd")
        for n in range(6):
            author = factories.member(ibd).user
            target = fake_content.add(ibd, author, f"answer {n}")
            factories.flag(u("rdr2"), target, "spam", target_type="fake")
            factories.flag(u("vet"), author, "spam", community="ibd")
    with count_queries() as many:
        assert mod.get("/c/ibd/review").text.count('class="review-item card"') == 14
    assert len(many) == len(few) <= 16


def test_the_log_is_a_tab_of_the_community_and_hidden_profiles_show_a_placeholder(app, cast):
    with committed(app):
        author = u("author")
        accounts.update_profile(
            author,
            display_name=author.display_name,
            bio="Buy my cure at www.x.example",
            role="patient",
            institution=None,
        )
        item = factories.flag(u("rdr1"), author, "spam", community="ibd").item

        actions.act_on_item(item.id, by=u("boss"), action="hide", version=item.version, reason="Advertising")
    community_page = app.test_client().get("/c/ibd").text
    assert 'href="/c/ibd/moderation-log"' in community_page
    reader_view = client_for(app, "rdr2").get("/u/author").text
    assert "hidden by a moderator. Reason: Advertising" in reader_view
    assert "Buy my cure" not in reader_view
    own_view = client_for(app, "author").get("/u/author").text
    assert "Buy my cure" in own_view
    assert "Hidden from other members" in own_view
    assert client_for(app, "rdr2").get("/api/v1/users/author").get_json()["bio_html"] is None
    log = app.test_client().get("/c/ibd/moderation-log").text
    assert "Advertising" in log
    assert "hid" in log


def test_owners_set_the_flag_threshold(app, cast):
    assert client_for(app, "mod").get("/c/ibd/moderation/settings").status_code == 403
    owner = client_for(app, "doc")
    bad = owner.post("/c/ibd/moderation/settings", data={"flag_hide_threshold": "0"})
    assert "Choose a number from 1 to 50." in bad.text
    saved = owner.post("/c/ibd/moderation/settings", data={"flag_hide_threshold": "4.5"}, follow_redirects=True)
    assert "Moderation settings saved." in saved.text
    assert "changed the flag threshold" in saved.text
    with committed(app):
        assert communities.get_community("ibd").flag_hide_threshold == 4.5


def test_a_muted_member_sees_a_banner_with_the_reason_and_end_and_their_standing(app, cast):
    with committed(app):
        sanctions.mute(u("author"), communities.get_community("ibd"), by=u("mod"), reason="Flooding", days=3)
        sanctions.warn(u("author"), by=u("mod"), reason="Be kind", community=communities.get_community("ibd"))
    author = client_for(app, "author")
    page = author.get("/").text
    assert "You are muted in Pediatric IBD" in page
    assert "Reason: Flooding" in page
    assert " UTC" in page
    assert "You are muted" not in client_for(app, "rdr1").get("/").text
    standing = author.get("/settings/standing").text
    assert "Mute" in standing
    assert "Warning" in standing
    assert "Be kind" in standing
    notices = author.get("/notifications").text
    assert "sent you a warning: Be kind" in notices


def test_the_audit_page_is_for_site_admins_and_filters(app, cast):
    with committed(app):
        sanctions.warn(u("author"), by=u("mod"), reason="x", community=communities.get_community("ibd"))
    assert client_for(app, "mod").get("/admin/audit").status_code == 403
    admin = client_for(app, "boss")
    page = admin.get("/admin/audit?actor=mod").text
    assert "sanction.warn" in page
    assert "mod" in page
    assert "No events match." in admin.get("/admin/audit?action=nothing").text
    assert admin.get("/admin/audit?since=yesterday").status_code == 422
    assert "Audit" in admin.get("/").text  # the admin's menu


def test_the_site_wide_queue_and_log_for_admins(app, cast):
    with committed(app):
        factories.flag(u("rdr1"), u("author"), "spam")  # outside any community
    admin = client_for(app, "boss")
    assert "Flagged member" in admin.get("/review").text
    assert admin.get("/moderation-log").status_code == 200
    assert client_for(app, "mod").get("/moderation-log").status_code == 403


def test_my_data_page(app, cast):
    page = client_for(app, "author").get("/settings/my-data").text
    assert "Download my data (JSON)" in page
    assert "Delete my account" in page
    assert 'Keep what I wrote, shown as "Former member"' in page or "Keep what I wrote" in page
