"""Vetting: who may vet, evidence, the pinned revision, "changed since vetting", unvetting and its history."""

from datetime import timedelta

import pytest

from lhn import signals
from lhn.database import utcnow
from lhn.errors import Conflict, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.notifications import services as notifications
from lhn.posts import services as posts
from lhn.posts.models import VettingAction
from tests import factories
from tests.conftest import committed


@pytest.fixture
def setup(ctx):
    owner = factories.user("clinician", username="doc", verified=True)
    ibd = factories.community(owner, slug="ibd", name="Pediatric IBD")
    q = factories.question(ibd)
    a = factories.answer(q, factories.member(ibd, factories.user("clinician", verified=True)).user)
    return ibd, q, a


GOOD = {"note": "Consistent with the ECCO-ESPGHAN guideline.", "evidence": "10.1093/ecco-jcc/jjaa161"}


@pytest.mark.parametrize(
    ("who", "allowed", "curates"),
    [
        ("moderator", False, True),  # clinical standing by default: moderators curate
        ("moderator where moderators may vet", True, True),
        ("owner", True, True),  # the owner here is a verified clinician
        ("verified clinician member", True, True),
        ("site admin", False, True),
        ("claimed clinician member", False, False),
        ("patient member", False, False),
        ("verified researcher member", True, True),
        ("verified clinician non-member", False, False),
        ("intruder", False, False),
    ],
)
def test_who_may_vet(setup, who, allowed, curates):
    ibd, _q, a = setup
    if who == "moderator where moderators may vet":
        ibd.moderators_may_vet = True
    person = {
        "moderator": lambda: factories.member(ibd, role="moderator").user,
        "moderator where moderators may vet": lambda: factories.member(ibd, role="moderator").user,
        "owner": lambda: factories.owner_of(ibd),
        "verified clinician member": lambda: factories.vetter(ibd),
        "site admin": lambda: factories.user("other", admin=True),
        "claimed clinician member": lambda: factories.member(ibd, factories.user("clinician")).user,
        "patient member": lambda: factories.member(ibd).user,
        "verified researcher member": lambda: factories.member(ibd, factories.user("researcher", verified=True)).user,
        "verified clinician non-member": lambda: factories.user("clinician", verified=True),
        "intruder": lambda: factories.user(username="intruder"),
    }[who]()
    if allowed:
        vetting = posts.vet_answer(a.id, by=person, **GOOD)
        assert vetting.by_id == person.id
        assert a.is_vetted
    else:
        with pytest.raises(PermissionDenied):
            posts.vet_answer(a.id, by=person, **GOOD)
        assert not a.is_vetted
        factories.vet(a)
        if curates:
            posts.unvet_answer(a.id, by=person, reason="Outdated by the 2024 guideline")
            assert not a.is_vetted
        else:
            with pytest.raises(PermissionDenied):
                posts.unvet_answer(a.id, by=person, reason="no")


def test_nobody_vets_their_own_answer(setup):
    ibd, q, _a = setup
    clinician = factories.vetter(ibd)
    own = factories.answer(q, clinician)
    with pytest.raises(PermissionDenied, match="your own answer"):
        posts.vet_answer(own.id, by=clinician, **GOOD)


def test_evidence_formats_and_review_date_are_validated(setup):
    ibd, _q, a = setup
    vetter = factories.vetter(ibd)
    parsed = posts.parse_evidence(
        "doi:10.1056/NEJMoa2034577\nhttps://doi.org/10.1093/ecco-jcc/jjaa161\nPMID: 31758784\n"
        "https://www.nice.org.uk/guidance/ng129"
    )
    assert [(e["type"], e["url"]) for e in parsed] == [
        ("doi", "https://doi.org/10.1056/NEJMoa2034577"),
        ("doi", "https://doi.org/10.1093/ecco-jcc/jjaa161"),
        ("pmid", "https://pubmed.ncbi.nlm.nih.gov/31758784/"),
        ("url", "https://www.nice.org.uk/guidance/ng129"),
    ]
    for bad in ("javascript:alert(1)", "10.12/short-prefix", "see my blog", 'https://x.org/"><script>',
                "ftp://files.example.org/a", "https://localhost/a"):  # fmt: skip
        with pytest.raises(ValidationFailed) as exc:
            posts.vet_answer(a.id, by=vetter, note="ok", evidence=bad)
        assert "evidence" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        posts.vet_answer(a.id, by=vetter, note="", evidence="", review_by="2001-01-01")
    assert set(exc.value.errors) == {"note", "evidence", "review_by"}
    with pytest.raises(ValidationFailed):
        posts.vet_answer(a.id, by=vetter, note="ok", evidence="\n".join(["PMID 1"] * 6))
    review = (utcnow().date() + timedelta(days=365)).isoformat()
    vetting = posts.vet_answer(a.id, by=vetter, note="  Fine  ", evidence=["PMID 31758784"], review_by=review)
    assert vetting.note == "Fine"
    assert vetting.review_by.isoformat() == review


def test_vetting_pins_the_revision_and_an_edit_shows_changed_since_vetting(setup):
    _ibd, q, a = setup
    seen = []

    def changed(post, **kw):
        seen.append(kw["answer"].id)

    vetting = factories.vet(a)
    assert (a.vetted_revision, vetting.revision_number, a.vetted_current) == (1, 1, True)
    assert q.vetted_at is not None
    assert "vetted your answer" in notifications.list_notifications(a.author).items[0].text
    with pytest.raises(Conflict):
        factories.vet(a)  # already vetted as it stands
    with signals.vetted_answer_changed.connected_to(changed):
        posts.edit_answer(a.id, "We asked the school nurse, and packed spare supplies.", by=a.author)
    assert a.revision == 2
    assert a.is_vetted
    assert a.changed_since_vetting
    assert q.vetted_at is None  # out of the knowledge base until re-vetted
    assert seen == [a.id]
    page = posts.post_page(q.id, by=None)
    assert page.vettings[a.id].revision_number == 1
    again = factories.vet(a)
    assert again.revision_number == 2
    assert a.vetted_current
    assert q.vetted_at is not None


def test_unvetting_needs_a_reason_and_the_history_is_append_only(setup):
    ibd, q, a = setup
    with pytest.raises(Conflict):
        posts.unvet_answer(a.id, by=factories.owner_of(ibd), reason="not vetted yet")
    first = factories.vet(a)
    ibd.moderators_may_vet = True  # this community lets its moderators vet
    moderator = factories.member(ibd, role="moderator").user
    with pytest.raises(ValidationFailed) as exc:
        posts.unvet_answer(a.id, by=moderator, reason="  ")
    assert "reason" in exc.value.errors
    posts.unvet_answer(a.id, by=moderator, reason="The 2024 guideline changed the dose.")
    assert not a.is_vetted
    assert q.vetted_at is None
    assert "removed the vetted mark" in notifications.list_notifications(a.author).items[0].text
    factories.vet(a, moderator)
    _answer, history = posts.list_vettings(a.id, by=None)
    assert [(h.action, h.by_id) for h in history] == [
        (VettingAction.VET, first.by_id), (VettingAction.UNVET, moderator.id), (VettingAction.VET, moderator.id)
    ]  # fmt: skip
    assert history[1].note == "The 2024 guideline changed the dose."
    assert history[0].evidence[0]["type"] == "doi"
    assert [v.id for v in posts.list_vetting_log(ibd.id).items] == [h.id for h in reversed(history)]


def test_hidden_or_withdrawn_answers_cannot_be_vetted_and_leave_the_knowledge_base(setup):
    ibd, q, a = setup
    factories.vet(a)
    ibd.moderators_may_vet = True  # this community lets its moderators vet
    moderator = factories.member(ibd, role="moderator").user
    posts.hide_content("answer", a.id, by=moderator, reason="Duplicate")
    assert q.vetted_at is None
    posts.restore_content("answer", a.id, by=moderator)
    assert q.vetted_at is not None
    posts.unvet_answer(a.id, by=moderator, reason="re-check")
    posts.withdraw_answer(a.id, by=a.author)
    with pytest.raises(Conflict):
        posts.vet_answer(a.id, by=moderator, **GOOD)


# --- reminders of reviews -----------------------------------------------------------------------------------------


def _kinds(person):
    return [n.kind for n in notifications.list_notifications(person).items]


def test_vetters_are_reminded_a_week_before_the_review_and_again_a_week_after_it_fell_due(setup):
    ibd, q, a = setup
    vetter = factories.vetter(ibd)
    review_by = utcnow().date() + timedelta(days=30)
    vetting = posts.vet_answer(a.id, by=vetter, note=GOOD["note"], evidence=GOOD["evidence"],
                               review_by=review_by.isoformat())  # fmt: skip
    assert posts.send_review_reminders(utcnow()) == 0  # a month ahead: nothing yet
    week_before = utcnow() + timedelta(days=24)
    assert posts.send_review_reminders(week_before) == 1
    assert posts.send_review_reminders(week_before + timedelta(days=1)) == 0  # once
    soon = notifications.list_notifications(vetter).items[0]
    assert soon.kind == "reminder_vetting_review_soon"
    assert soon.text == (f"Reminder: your vetting of an answer in Pediatric IBD is due for review on "
                         f"{review_by:%d %b %Y}.")  # fmt: skip
    assert soon.url == f"{q.path}#answer-{a.id}"
    assert q.title not in soon.text  # the title may carry health details; the link leads there

    assert posts.open_due_reviews(review_by) == 1  # the date came: review item and notice (lhn review-due)
    fell_due = vetting.review_due_at
    assert posts.send_review_reminders(fell_due + timedelta(days=6)) == 0
    assert posts.send_review_reminders(fell_due + timedelta(days=7)) == 1  # still open a week later
    assert posts.send_review_reminders(fell_due + timedelta(days=30)) == 0  # once
    assert _kinds(vetter) == ["reminder_vetting_review_overdue", "vetting_review", "reminder_vetting_review_soon"]


def test_a_review_settled_in_time_is_not_reminded_again(setup):
    ibd, _q, a = setup
    vetter = factories.vetter(ibd)
    vetting = posts.vet_answer(a.id, by=vetter, note=GOOD["note"], evidence=GOOD["evidence"],
                               review_by=(utcnow().date() + timedelta(days=3)).isoformat())  # fmt: skip
    vetting.review_by = utcnow().date()  # the date came
    assert posts.open_due_reviews() == 1
    posts.vet_answer(a.id, by=vetter, note="Still right", evidence=GOOD["evidence"])  # the review is done
    assert posts.send_review_reminders(vetting.review_due_at + timedelta(days=8)) == 0
    posts.unvet_answer(a.id, by=vetter, reason="Superseded by the 2024 guideline")
    assert posts.send_review_reminders(utcnow() + timedelta(days=400)) == 0


def test_review_reminders_run_a_constant_number_of_queries(app, count_queries):
    """No N+1: the sweep's own queries (the notices aside) don't grow with the vettings due."""

    def vet_some(n):
        with committed(app):
            community = factories.community()
            for _ in range(n):
                answer = factories.answer(factories.question(community))
                review_by = (utcnow().date() + timedelta(days=3)).isoformat()
                posts.vet_answer(answer.id, by=factories.vetter(community), note=GOOD["note"],
                                 evidence=GOOD["evidence"], review_by=review_by)  # fmt: skip

    def sweep():
        with app.app_context(), count_queries() as statements:
            sent = posts.send_review_reminders(utcnow())
            db.session.commit()
        return sent, [s for s in statements if "notification" not in s]

    vet_some(1)
    one = sweep()
    vet_some(3)
    three = sweep()
    assert (one[0], three[0]) == (1, 3)
    assert len(three[1]) == len(one[1])
