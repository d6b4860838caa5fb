"""Flags, review items, the queue and its actions, auto-hide, optimistic locking, redaction, the log."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lhn import signals
from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.moderation import services
from lhn.moderation.models import (
    Flag,
    FlagOutcome,
    ModerationLogEntry,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
)
from lhn.moderation.services import actions, flags, queue, targets
from lhn.moderation.services import log as modlog
from lhn.notifications.models import Notification
from tests import factories


def u(name):
    return accounts.get_user(name)


def ibd():
    return communities.get_community("ibd")


def flag_answer(cast, who, reason="misinformation", details=""):
    return factories.flag(u(who), cast.answer_id, reason, target_type="fake", details=details)


def notices(name):
    return list(db.session.scalars(select(Notification.text).where(Notification.user_id == u(name).id)))


# --- weights ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verified", "upheld", "rejected", "weight"),
    [
        (False, 0, 0, 1.0),  # a member
        (True, 0, 0, 2.0),  # a verified clinician or researcher
        (False, 2, 0, 1.0),  # too few decided flags to judge
        (False, 4, 0, 2.0),  # always upheld
        (False, 0, 4, 0.5),  # always dismissed: counts less, never zero
        (True, 3, 1, 2.62),  # verified and mostly right
    ],
)
def test_flag_weight_formula(verified, upheld, rejected, weight):
    assert services.flag_weight(verified=verified, upheld=upheld, rejected=rejected) == weight


# --- flags and the one open item per target ---------------------------------------------------------


def test_a_second_flag_adds_to_the_open_item_and_one_flag_per_person(ctx, cast):
    first = flag_answer(cast, "rdr1")
    second = flag_answer(cast, "vet", "phi")
    assert first.item is second.item
    item = first.item
    assert (item.kind, item.community_id, item.flag_count, item.score) == (
        ReviewKind.FLAGGED_CONTENT,
        cast.community_id,
        2,
        3.0,
    )
    assert item.subject_user_id == u("author").id
    with pytest.raises(ValidationFailed) as caught:
        flag_answer(cast, "rdr1", "spam")
    assert "already flagged" in caught.value.errors[""]
    assert db.session.scalar(select(func.count()).select_from(ReviewItem)) == 1


def test_the_database_refuses_a_second_open_item_for_one_target(ctx, cast):
    item = flag_answer(cast, "rdr1").item
    db.session.add(
        ReviewItem(
            kind=item.kind,
            target_type="fake",
            target_id=cast.answer_id,
            community_id=cast.community_id,
            scope=cast.community_id,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_closed_item_does_not_block_a_new_one(ctx, cast):
    item = flag_answer(cast, "rdr1").item
    actions.act_on_item(item.id, by=u("mod"), action="dismiss", version=item.version)
    again = flag_answer(cast, "rdr2").item
    assert again.id != item.id
    assert again.is_open


@pytest.mark.parametrize(
    ("target_type", "target_id", "reason", "details", "error"),
    [
        ("nothing", 1, "spam", "", "target_type"),
        ("fake", 1, "rude", "", "reason"),
        ("fake", 1, "other", "", "details"),
        ("fake", 1, "other", "x" * 1001, "details"),
    ],
)
def test_flag_input_is_validated(ctx, cast, target_type, target_id, reason, details, error):
    with pytest.raises(ValidationFailed) as caught:
        services.flag_target(u("rdr1"), target_type=target_type, target_id=target_id, reason=reason, details=details)
    assert error in caught.value.errors


def test_nobody_flags_what_they_cannot_see_or_their_own_writing(ctx, cast, fake_content):
    with pytest.raises(NotFound):
        services.flag_target(u("rdr1"), target_type="fake", target_id=999, reason="spam")
    restricted = factories.community(u("cfowner"), slug="secret", restricted=True)
    hidden_id = fake_content.add(restricted, u("cfowner"), "members only")
    with pytest.raises(NotFound):
        services.flag_target(u("intruder"), target_type="fake", target_id=hidden_id, reason="spam")
    with pytest.raises(ValidationFailed) as caught:
        flag_answer(cast, "author")
    assert "your own" in caught.value.errors[""]


def test_flagging_a_member_in_a_shared_community_or_site_wide(ctx, cast):
    author = u("author")
    in_ibd = factories.flag(u("rdr1"), author, "harassment", community="ibd")
    assert (in_ibd.item.kind, in_ibd.item.community_id) == (ReviewKind.FLAGGED_USER, cast.community_id)
    site = factories.flag(u("rdr2"), author, "spam")
    assert site.item.community_id is None
    assert site.item.scope == 0
    with pytest.raises(ValidationFailed) as caught:
        factories.flag(u("intruder"), author, "spam", community="ibd")  # not a member of ibd
    assert "community" in caught.value.errors


# --- auto-hide ---------------------------------------------------------------------------------------


def test_content_is_hidden_once_the_flag_weight_reaches_the_communitys_threshold(ctx, cast, fake_content):
    flag_answer(cast, "rdr1")
    flag_answer(cast, "rdr2")
    assert not fake_content.rows[cast.answer_id].hidden_reason  # weight 2 < 3
    item = flag_answer(cast, "rdr3").item  # weight 3
    assert fake_content.rows[cast.answer_id].hidden_reason == services.AUTO_HIDE_REASON
    assert item.is_open  # still waiting for a moderator
    entry = db.session.scalar(select(ModerationLogEntry))
    assert (entry.action, entry.automatic, entry.actor_id, entry.target_url) == ("auto_hidden", True, None, "/fake/1")
    assert any("hid your answer" in text for text in notices("author"))


def test_a_verified_flagger_weighs_more_and_the_threshold_is_per_community(ctx, cast, fake_content):
    services.update_settings(ibd(), by=u("doc"), flag_hide_threshold=2)
    flag_answer(cast, "vet")  # a verified clinician: weight 2
    assert fake_content.rows[cast.answer_id].hidden_reason
    with pytest.raises(PermissionDenied):
        services.update_settings(ibd(), by=u("mod"), flag_hide_threshold=5)  # moderators don't, owners do
    with pytest.raises(ValidationFailed):
        services.update_settings(ibd(), by=u("doc"), flag_hide_threshold=0)


# --- who may see the queue and act ---------------------------------------------------------------------


def test_members_and_other_communities_moderators_cannot_see_the_queue(ctx, cast):
    flag_answer(cast, "rdr1")
    assert [v.item.target_id for v in queue.list_review_queue(by=u("mod"), community=ibd()).items] == [1]
    assert len(queue.list_review_queue(by=u("boss"), community=ibd()).items) == 1
    for name in ("rdr2", "othermod", "intruder", "author"):
        with pytest.raises(PermissionDenied):
            queue.list_review_queue(by=u(name), community=ibd())
    assert queue.list_review_queue(by=u("othermod")).items == []  # their own site-wide view: cf only
    with pytest.raises(PermissionDenied):
        queue.list_review_queue(by=u("rdr2"))


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("mod", ["dismiss", "hide", "redact", "warn", "mute"]),
        ("doc", ["dismiss", "hide", "redact", "warn", "mute"]),
        ("boss", ["dismiss", "hide", "redact", "warn", "mute", "suspend"]),
    ],
)
def test_allowed_actions_of_each_reviewer(ctx, cast, who, expected):
    item = flag_answer(cast, "rdr1").item
    assert queue.get_item_view(item.id, by=u(who)).actions == expected


@pytest.mark.parametrize("who", ["othermod", "rdr2", "intruder"])
def test_nobody_outside_the_community_acts_on_its_items(ctx, cast, who):
    item = flag_answer(cast, "rdr1").item
    for action in ("dismiss", "hide", "restore", "redact", "warn", "mute", "suspend"):
        with pytest.raises(NotFound):
            actions.act_on_item(item.id, by=u(who), action=action, version=item.version, reason="x", days=1,
                                 fragments=["513"])  # fmt: skip
    assert item.is_open
    assert item.version == 1


@pytest.mark.parametrize(("who", "action"), [("mod", "suspend"), ("mod", "restore"), ("mod", "approve")])
def test_actions_not_offered_are_refused(ctx, cast, who, action):
    item = flag_answer(cast, "rdr1").item
    with pytest.raises(PermissionDenied):
        actions.act_on_item(item.id, by=u(who), action=action, version=item.version, reason="x", days=1)


def test_a_moderator_cannot_act_on_an_item_about_themself_and_only_admins_sanction_moderators(ctx, cast, fake_content):
    mod_answer = fake_content.add(ibd(), u("mod"), "A moderator's own answer")
    item = factories.flag(u("rdr1"), mod_answer, target_type="fake").item
    assert queue.get_item_view(item.id, by=u("mod")).actions == []
    assert queue.get_item_view(item.id, by=u("doc")).actions == ["dismiss", "hide", "redact"]  # no sanctions
    assert "warn" in queue.get_item_view(item.id, by=u("boss")).actions


# --- acting: hide, restore, dismiss, and the lock ---------------------------------------------------------


def test_hide_with_a_reason_logs_it_notifies_the_author_and_upholds_the_flags(ctx, cast, fake_content):
    item = flag_answer(cast, "rdr1").item
    with pytest.raises(ValidationFailed) as caught:
        actions.act_on_item(item.id, by=u("mod"), action="hide", version=item.version, reason=" ")
    assert "reason" in caught.value.errors
    actions.act_on_item(item.id, by=u("mod"), action="hide", version=item.version, reason="Dose advice is wrong")
    assert fake_content.rows[cast.answer_id].hidden_reason == "Dose advice is wrong"
    assert (item.status, item.resolution, item.version) == (ReviewStatus.RESOLVED, "hidden", 2)
    assert item.flags[0].outcome == FlagOutcome.UPHELD
    entry = modlog.list_moderation_log(ibd(), by=u("intruder")).items[0]
    assert (entry.action, entry.actor_id, entry.reason) == ("hidden", u("mod").id, "Dose advice is wrong")
    assert "A moderator hid your answer: Dose advice is wrong" in notices("author")


def test_restore_shows_auto_hidden_content_again_and_rejects_the_flags(ctx, cast, fake_content):
    for name in ("rdr1", "rdr2", "rdr3"):
        item = flag_answer(cast, name).item
    view = queue.get_item_view(item.id, by=u("mod"))
    assert view.actions[0] == "restore"
    assert "dismiss" not in view.actions
    actions.act_on_item(item.id, by=u("mod"), action="restore", version=item.version)
    assert fake_content.rows[cast.answer_id].hidden_reason == ""
    assert {f.outcome for f in item.flags} == {FlagOutcome.REJECTED}
    # Rejected flags lower the flaggers' weight on their next flags.
    assert flags._track_record(u("rdr1")) == (0, 1)


def test_the_second_moderator_is_told_the_item_was_already_handled(ctx, cast):
    item = flag_answer(cast, "rdr1").item
    seen = item.version
    actions.act_on_item(item.id, by=u("mod"), action="hide", version=seen, reason="Unsafe")
    with pytest.raises(Conflict, match="already handled by caregiver"):
        actions.act_on_item(item.id, by=u("doc"), action="dismiss", version=seen)


def test_a_stale_version_on_an_open_item_is_a_conflict_too(ctx, cast, fake_content):
    item = flag_answer(cast, "rdr1").item
    seen = item.version
    actions.act_on_item(item.id, by=u("mod"), action="redact", version=seen, fragments=["513-555-0134"])
    assert item.is_open
    assert item.version == seen + 1
    with pytest.raises(Conflict, match="changed this item"):
        actions.act_on_item(item.id, by=u("doc"), action="dismiss", version=seen)
    actions.act_on_item(item.id, by=u("doc"), action="dismiss", version=item.version)
    assert item.flags[0].outcome == FlagOutcome.UPHELD  # the PHI was real, though the answer stays


def test_warn_and_mute_from_an_item_and_also_hide(ctx, cast, fake_content):
    item = flag_answer(cast, "rdr1").item
    actions.act_on_item(
        item.id, by=u("mod"), action="mute", version=item.version, reason="Repeated spam", days=3, hide_target=True
    )
    assert communities.find_membership(u("author"), ibd()).muted_until is not None
    assert fake_content.rows[cast.answer_id].hidden_reason == "Repeated spam"
    logged = [e.action for e in modlog.list_moderation_log(ibd(), by=u("rdr1")).items]
    assert logged == ["muted", "hidden"]
    item2 = flag_answer(cast, "rdr2").item
    with pytest.raises(ValidationFailed) as caught:
        actions.act_on_item(item2.id, by=u("mod"), action="mute", version=item2.version, reason="x", days=2)
    assert "days" in caught.value.errors


# --- redaction ----------------------------------------------------------------------------------------------


def test_redaction_removes_the_text_and_logs_the_kind_never_the_content(ctx, cast, fake_content):
    item = flag_answer(cast, "rdr1", "phi").item
    actions.act_on_item(item.id, by=u("mod"), action="redact", version=item.version, fragments=["513-555-0134"])
    assert "513-555-0134" not in fake_content.rows[cast.answer_id].text
    entry = db.session.scalar(select(ModerationLogEntry).where(ModerationLogEntry.action == "redacted"))
    assert entry.details == "a phone number from this answer"
    assert "513" not in entry.details + entry.reason
    assert item.redacted


def test_the_author_redacts_one_revision_and_the_scanner_finds_what_to_remove(ctx, cast, fake_content):
    old_id = fake_content.add(ibd(), u("author"), "Now fine.", revisions=["DOB: 03/14/2009, MRN 00482913"])
    assert actions.redact_target(u("author"), target_type="fake", target_id=old_id, revision_id=1) == 2
    # A cued number goes without its cue (issue 10): "MRN" stays, the number doesn't; the author's mark says who.
    assert fake_content.rows[old_id].revisions == ["[removed by the author], MRN [removed by the author]"]
    details = db.session.scalar(select(ModerationLogEntry.details).where(ModerationLogEntry.target_id == old_id))
    assert details == (
        "a date of birth and a record, plan, account, licence or device number from revision 1 of this answer"
    )
    with pytest.raises(PermissionDenied):
        actions.redact_target(u("rdr1"), target_type="fake", target_id=cast.answer_id)
    with pytest.raises(ValidationFailed):
        actions.redact_target(u("author"), target_type="fake", target_id=old_id, revision_id=7)


def test_redacting_a_member_bio_removes_it_from_the_database(ctx, cast):
    author = u("author")
    accounts.update_profile(
        author, display_name=author.display_name, bio="Reach me at jo@example.org", role="patient", institution=None,
        confirm_phi=True,  # the author confirmed it; then someone flagged it
    )
    item = factories.flag(u("rdr1"), author, "phi").item  # site-wide: site admins
    actions.act_on_item(item.id, by=u("boss"), action="redact", version=item.version, fragments=["jo@example.org"])
    db.session.expire_all()
    assert "jo@example.org" not in u("author").bio + u("author").bio_html
    assert db.session.scalar(select(func.count()).where(ModerationLogEntry.action == "redacted")) == 1


# --- review items from other features ----------------------------------------------------------------------


def test_join_requests_become_items_and_deciding_on_either_page_closes_them(ctx, cast):
    restricted = factories.community(u("doc"), slug="cf-care", restricted=True)
    request = communities.request_to_join(u("intruder"), restricted, accept_guidelines=True)
    view = queue.list_review_queue(by=u("doc"), community=restricted).items[0]
    assert (view.item.kind, view.actions, view.join_request.id) == (
        ReviewKind.JOIN_REQUEST,
        ["approve", "reject"],
        request.id,
    )
    actions.act_on_item(view.item.id, by=u("doc"), action="approve", version=view.item.version)
    assert communities.find_membership(u("intruder"), restricted) is not None
    other = communities.request_to_join(u("rdr1"), restricted, accept_guidelines=True)
    item = services.find_open_item(ReviewKind.JOIN_REQUEST, "join_request", other.id, restricted.id)
    communities.decide_join_request(other.id, by=u("doc"), approve=False)  # the old requests page
    assert (item.status, item.resolution) == (ReviewStatus.RESOLVED, "denied")


def test_verification_requests_are_decided_from_the_queue_by_site_staff_only(ctx, cast):
    nurse = factories.member(ibd(), factories.user("clinician", username="nurse")).user
    accounts.submit_verification(nurse, licence_number="RN-1", licence_issuer="NMC")
    assert queue.list_review_queue(by=u("mod"), community=ibd(), kind="verification").items == []
    view = queue.list_review_queue(by=u("boss"), community=ibd(), kind="verification").items[0]
    assert view.actions == ["approve", "reject"]
    for moderator in ("mod", "othermod"):
        with pytest.raises(NotFound):
            queue.get_item_view(view.item.id, by=u(moderator))
    with pytest.raises(ValidationFailed):  # rejecting needs a note
        actions.act_on_item(view.item.id, by=u("boss"), action="reject", version=view.item.version)
    db.session.refresh(view.item)
    actions.act_on_item(view.item.id, by=u("boss"), action="approve", version=view.item.version)
    assert u("nurse").is_verified


def test_phase_2_vetting_items_come_and_go_through_signals(ctx, cast):
    signals.review_needed.send(
        "answer", target_id=41, community_id=cast.community_id, kind="answer_vetting", subject_user_id=u("author").id
    )
    signals.review_needed.send("answer", target_id=41, community_id=cast.community_id, kind="answer_vetting")
    items = queue.list_review_queue(by=u("mod"), community=ibd(), kind="answer_vetting").items
    assert len(items) == 1
    assert items[0].actions == ["dismiss"]
    signals.review_settled.send("answer", target_id=41, kind="answer_vetting", by=u("vet"), resolution="vetted")
    assert queue.list_review_queue(by=u("mod"), community=ibd(), kind="answer_vetting").items == []
    signals.vetting_recorded.send(
        ibd(), action="vetted", target_type="answer", target_id=41, url="/posts/1#a41", by=u("vet")
    )
    assert modlog.list_moderation_log(ibd(), by=None).items[0].action == "vetted"


def test_the_log_of_a_restricted_community_is_for_its_members(ctx, cast):
    restricted = factories.community(u("doc"), slug="cf-care", restricted=True)
    with pytest.raises(PermissionDenied):
        modlog.list_moderation_log(restricted, by=u("intruder"))
    with pytest.raises(PermissionDenied):
        modlog.list_moderation_log(None, by=u("mod"))  # site-wide entries: site admins
    assert modlog.list_moderation_log(restricted, by=u("doc")).items == []


def test_flags_stay_private_from_the_flagged_author(ctx, cast):
    flag_answer(cast, "rdr1", "harassment", details="rude to my kid")
    assert db.session.scalar(select(func.count()).select_from(Flag)) == 1
    assert notices("author") == []  # a flag alone tells the author nothing (only moderation actions do)


def test_the_database_update_is_the_lock_when_two_moderators_race(ctx, cast):
    """Both passed the early version check (they read version 1 at the same time): the conditional UPDATE
    lets exactly one through, whatever the database interleaving."""
    item = flag_answer(cast, "rdr1").item
    actions._claim(item, 1, by=u("mod"), close=True, resolution="hidden", reason="first")
    with pytest.raises(Conflict, match="already handled by caregiver"):
        actions._claim(item, 1, by=u("doc"), close=True, resolution="dismissed", reason="second")
    assert (item.version, item.resolution, item.resolved_by_id) == (2, "hidden", u("mod").id)
    # The version matters on its own too: a redaction keeps the item open but changes what was seen.
    open_item = flag_answer(cast, "rdr2").item
    actions._claim(open_item, 1, by=u("mod"), close=False, resolution="redacted", reason="")
    with pytest.raises(Conflict, match="changed this item"):
        actions._claim(open_item, 1, by=u("doc"), close=True, resolution="dismissed", reason="")


def test_community_moderators_close_items_on_a_hidden_profile_but_only_admins_change_it(ctx, cast):
    item = factories.flag(u("rdr1"), u("author"), "spam", community="ibd").item
    assert queue.get_item_view(item.id, by=u("mod")).actions == ["dismiss", "warn", "mute"]
    assert queue.get_item_view(item.id, by=u("boss")).actions == [
        "dismiss",
        "hide",
        "redact",
        "warn",
        "mute",
        "suspend",
    ]
    targets.get_adapter("user").hide(u("author").id, reason="Advertising", by=u("boss"))
    assert queue.get_item_view(item.id, by=u("mod")).actions == ["dismiss", "warn", "mute"]
    assert queue.get_item_view(item.id, by=u("boss")).actions[:2] == ["restore", "hide"]


def test_the_log_is_newest_first_by_time_even_for_entries_recorded_later_with_an_earlier_time(app, ctx):
    from datetime import timedelta

    from lhn.database import utcnow

    owner = factories.user("clinician", username="owner_of_log", verified=True)
    community = factories.community(owner, slug="logtime", name="Log time")
    now = utcnow()
    common = {"by": owner, "community_id": community.id, "target_type": "user", "target_id": owner.id,
              "target_label": "member"}  # fmt: skip
    modlog.log_action("warned", at=now - timedelta(minutes=2), **common)
    modlog.log_action("muted", at=now - timedelta(days=30), **common)  # a backdated record, written later
    modlog.log_action("unmuted", at=now - timedelta(minutes=1), **common)
    first = modlog.list_moderation_log(community, by=owner, limit=2)
    rest = modlog.list_moderation_log(community, by=owner, limit=2, cursor=first.next_cursor)
    actions_in_order = [e.action for e in first.items + rest.items]
    assert actions_in_order[:3] == ["unmuted", "warned", "muted"]


def test_a_long_label_is_cut_with_an_ellipsis_inside_its_closed_quotes():
    title = "How do you keep a teenager on a low-residue diet during exam season without a fight? " * 3
    label = modlog.fit_label(f'the thread "{title}"', 60)
    assert len(label) == 60
    assert label.startswith('the thread "How do you keep')
    assert label.endswith('…"')
    assert modlog.fit_label("answer", 60) == "answer"
    assert modlog.fit_label("x" * 80, 60) == "x" * 59 + "…"
