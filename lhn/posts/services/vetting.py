"""Vetting answers: a revision-pinned mark with a note and evidence, kept as an append-only history."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import joinedload

from lhn import inputs, realtime, reminders, signals
from lhn.accounts.models import User
from lhn.database import rows_matched, utcnow
from lhn.errors import Conflict, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text
from lhn.pagination import Page, paginate
from lhn.posts import permissions
from lhn.posts.models import Answer, AnswerRevision, Post, Vetting, VettingAction
from lhn.posts.services.common import Access, clean_reason, get_answer_access, raise_if, with_badge

NOTE_MAX = 500
MAX_EVIDENCE = 5
DOI_RE = re.compile(r"^10\.\d{4,9}/[-._;()/:A-Za-z0-9]+$")
PMID_RE = re.compile(r"^(?:pmid:?\s*)?(\d{1,9})$", re.IGNORECASE)
_DOI_PREFIX = re.compile(r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/)", re.IGNORECASE)
_URL_FORBIDDEN = re.compile(r"[\s<>\"'`\\]")
VETTING_KINDS = ("answer_vetting", "vetted_answer_changed")


def answer_path(answer: Answer) -> str:
    return f"{answer.post.path}#answer-{answer.id}"


def settle_vetting_reviews(answer: Answer, *, by: User | None, resolution: str) -> None:
    """Close the answer's open vetting items (vetted, unvetted, withdrawn): a reviewer holding one is told."""
    for kind in VETTING_KINDS:
        signals.review_settled.send("answer", target_id=answer.id, kind=kind, by=by, resolution=resolution)


def parse_evidence(value: str | list[Any] | None) -> list[dict[str, str]]:
    """Evidence items from text (one per line) or a list: a DOI, a PMID or an http(s) address.

    Each becomes {"type", "value", "url"}, with a link the page can show. Raises ValidationFailed naming
    the first item that is none of these.
    """
    if value is None:
        items: list[str] = []
    elif isinstance(value, str):
        items = [line.strip() for line in clean_text(value).splitlines()]
    else:
        items = [clean_text(str(v)).strip() for v in value]
    items = [i for i in items if i]
    if not items:
        raise ValidationFailed({"evidence": "Give at least one source: a DOI, a PMID or a guideline's web address."})
    if len(items) > MAX_EVIDENCE:
        raise ValidationFailed({"evidence": f"Give at most {MAX_EVIDENCE} sources."})
    parsed: list[dict[str, str]] = []
    for item in items:
        parsed.append(_parse_one(item))
    return parsed


def _parse_one(item: str) -> dict[str, str]:
    shown = item if len(item) <= 60 else item[:57] + "…"
    doi = _DOI_PREFIX.sub("", item)
    if DOI_RE.match(doi):
        return {"type": "doi", "value": doi, "url": "https://doi.org/" + quote(doi, safe="/:;()._-")}
    pmid = PMID_RE.match(item)
    if pmid:
        number = str(int(pmid.group(1)))
        return {"type": "pmid", "value": number, "url": f"https://pubmed.ncbi.nlm.nih.gov/{number}/"}
    if len(item) <= 500 and not _URL_FORBIDDEN.search(item):
        parts = urlsplit(item)
        if parts.scheme in ("http", "https") and parts.hostname and "." in parts.hostname:
            return {"type": "url", "value": item, "url": item}
    raise ValidationFailed({"evidence": f"“{shown}” is not a DOI (10.xxxx/…), a PMID (digits) or a web "
                                        "address starting with https://."})  # fmt: skip


def _review_by(value: str | date | None) -> date | None:
    return inputs.future_date(value, "review_by", today=utcnow().date(), within_years=10)


def _current_revision(answer: Answer) -> AnswerRevision:
    revision = db.session.scalar(
        select(AnswerRevision).where(AnswerRevision.answer_id == answer.id, AnswerRevision.number == answer.revision)
    )
    assert revision is not None  # noqa: S101 - every answer has its revisions, from the first
    return revision


def vet_answer(
    answer_id: int, *, by: User, note: str, evidence: str | list[Any] | None, review_by: str | date | None = None
) -> Vetting:
    """Vouch for an answer: its current revision, with a short note, evidence and an optional review-by date.

    Who: the community's moderators and verified clinicians who are members, never for their own answer.
    Re-vetting is how an answer that changed since vetting gets its seal back. Appends to the history.
    Flushes; sends signals.answer_vetted and signals.post_content_changed; watchers get `answer_vetted`.
    Raises NotFound, PermissionDenied, Conflict (already vetted as it stands), ValidationFailed.
    """
    answer, access = get_answer_access(answer_id, by=by)
    standing = _check_may_vet(answer, access, by=by)
    if answer.vetted_current and not _review_is_due(answer):
        raise Conflict("This answer is already vetted as it stands.")
    errors: dict[str, str] = {}
    text = " ".join(clean_text(note or "").split())
    if not text:
        errors["note"] = "Say briefly why this answer can be trusted."
    elif len(text) > NOTE_MAX:
        errors["note"] = f"Keep the note to {NOTE_MAX} characters."
    try:
        sources = parse_evidence(evidence)
    except ValidationFailed as exc:
        errors.update(exc.errors)
        sources = []
    try:
        review = _review_by(review_by)
    except ValidationFailed as exc:
        errors.update(exc.errors)
        review = None
    raise_if(errors)
    return _vet(answer, access.post, by=by, standing=standing, note=text, evidence=sources, review_by=review)


def _review_is_due(answer: Answer) -> bool:
    current = current_vetting(answer)
    return current is not None and current.review_due


def _check_may_vet(answer: Answer, access: Access, *, by: User) -> str:
    """The rules shared by vetting and confirming a vetting; returns the vetter's standing."""
    standing = permissions.vetting_standing(by, access.community, access.membership)
    if standing is None:
        raise PermissionDenied("Answers are vetted by verified clinicians and researchers who are members"
                               + (" and by the community's moderators." if access.community.moderators_may_vet
                                  else "; moderators curate vettings."))  # fmt: skip
    if permissions.is_author(by, answer):
        raise PermissionDenied("You can't vet your own answer; ask another clinician.")
    if not answer.is_visible or not access.post.is_visible:
        raise Conflict("This answer was withdrawn or hidden.")
    return standing


def _vet(answer: Answer, post: Post, *, by: User, standing: str, note: str, evidence: list[dict[str, str]],
         review_by: date | None) -> Vetting:  # fmt: skip
    again = answer.vetted_at is not None  # an answer changed since vetting gets its seal back
    revision = _current_revision(answer)
    vetting = Vetting(answer_id=answer.id, post_id=answer.post_id, community_id=answer.community_id,
                      action=VettingAction.VET, by=by, revision_id=revision.id, revision_number=revision.number,
                      note=note, evidence=evidence, review_by=review_by, standing=standing)  # fmt: skip
    db.session.add(vetting)
    answer.vetted_at, answer.vetted_revision, answer.vetted_current = utcnow(), answer.revision, True
    db.session.flush()
    _after(answer, post, vetting, vetted=True, log_action="revetted" if again else "vetted")
    return vetting


def confirm_vetting(answer_id: int, *, by: User, note: str = "") -> Vetting:
    """Keep the seal of an answer that changed since vetting on its new revision: a re-vetting with the
    same evidence and review-by date (the review queue's "approve" on a changed vetted answer).

    Who: as for vet_answer. Flushes; as vet_answer. Raises NotFound, PermissionDenied, Conflict (not
    vetted, or vetted as it stands), ValidationFailed.
    """
    answer, access = get_answer_access(answer_id, by=by)
    standing = _check_may_vet(answer, access, by=by)
    previous = current_vetting(answer)
    if previous is None or answer.vetted_current:
        raise Conflict("This answer is not waiting for its vetting to be confirmed.")
    text = " ".join(clean_text(note or "").split())[:NOTE_MAX] or previous.note
    return _vet(answer, access.post, by=by, standing=standing, note=text, evidence=list(previous.evidence or []),
                review_by=previous.review_by if previous.review_by and previous.review_by > utcnow().date()
                else None)  # fmt: skip


def unvet_answer(answer_id: int, *, by: User, reason: str) -> Vetting:
    """Take the vetted mark off an answer, with a reason shown in its history and the moderation log.

    Who: those who may vet, and the community's moderators (curation). Flushes; sends
    signals.answer_vetted (vetted=False). Raises NotFound, PermissionDenied, Conflict (not vetted),
    ValidationFailed.
    """
    answer, access = get_answer_access(answer_id, by=by)
    if not permissions.can_curate_vetting(by, access.community, access.membership):
        raise PermissionDenied("Answers are unvetted by the community's moderators and verified clinicians.")
    if answer.vetted_at is None:
        raise Conflict("This answer is not vetted.")
    errors: dict[str, str] = {}
    text = clean_reason(reason, errors)
    raise_if(errors)
    revision = _current_revision(answer)
    vetting = Vetting(answer_id=answer.id, post_id=answer.post_id, community_id=answer.community_id,
                      action=VettingAction.UNVET, by=by, revision_id=revision.id, revision_number=revision.number,
                      note=text, evidence=[])  # fmt: skip
    db.session.add(vetting)
    answer.vetted_at, answer.vetted_revision, answer.vetted_current = None, None, False
    db.session.flush()
    _after(answer, access.post, vetting, vetted=False, log_action="unvetted")
    return vetting


def request_rereview(answer_id: int, *, by: User, reason: str) -> Vetting:
    """A curator (a moderator, or anyone who may vet) asks for a vetted answer to be reviewed again now (new
    evidence, a reader's doubt): its review falls due today, so the answer shows "review due", an item enters
    the review queue and the vetter is told, with the reason.

    Flushes; sends signals.vetting_review_due. Raises NotFound, PermissionDenied, Conflict (not vetted, or a
    review is already due), ValidationFailed (no reason).
    """
    answer, access = get_answer_access(answer_id, by=by)
    if not permissions.can_curate_vetting(by, access.community, access.membership):
        raise PermissionDenied("The community's moderators and its vetters ask for re-reviews.")
    vetting = current_vetting(answer)
    if vetting is None:
        raise Conflict("This answer is not vetted.")
    if vetting.review_due and vetting.review_due_at is not None:
        raise Conflict("A review of this vetting is already due.")
    errors: dict[str, str] = {}
    text = clean_reason(reason, errors)
    raise_if(errors)
    vetting.review_by = utcnow().date()
    _review_falls_due(vetting, answer, access.post, reason=text, by=by)

    signals.vetting_recorded.send(access.community, action="rereview_requested", target_type="answer",
                                  target_id=answer.id, url=answer_path(answer), reason=text, by=by)  # fmt: skip
    return vetting


def _review_falls_due(vetting: Vetting, answer: Answer, post: Post, *, reason: str, by: User | None) -> None:
    vetting.review_due_at = utcnow()
    db.session.flush()
    signals.review_needed.send("answer", target_id=answer.id, community_id=answer.community_id,
                               kind="answer_vetting", subject_user_id=answer.author_id)  # fmt: skip
    signals.vetting_review_due.send(post, answer=answer, vetting=vetting, reason=reason, by=by)


def open_due_reviews(today: date | None = None) -> int:
    """Every current vetting whose review-by date has come and that nobody was told about yet: the review
    item opens and the vetter is notified, once (review_due_at claims it, so concurrent sweeps don't
    repeat it). Run by `flask lhn review-due` and the server's hourly sweep. Flushes; returns how many."""
    today = today or utcnow().date()
    newest = select(func.max(Vetting.id)).where(Vetting.action == VettingAction.VET).group_by(Vetting.answer_id)
    due = list(db.session.scalars(
        select(Vetting).join(Answer, Answer.id == Vetting.answer_id)
        .where(Vetting.id.in_(newest), Answer.vetted_at.is_not(None), Vetting.review_by <= today,
               Vetting.review_due_at.is_(None))
        .options(joinedload(Vetting.by))
    ))  # fmt: skip
    answers = {a.id: a for a in db.session.scalars(select(Answer).where(Answer.id.in_({v.answer_id for v in due})))}
    posts = {p.id: p for p in db.session.scalars(select(Post).where(Post.id.in_({v.post_id for v in due})))}
    opened = 0
    for vetting in due:
        claimed = rows_matched(db.session.execute(
            update(Vetting).where(Vetting.id == vetting.id, Vetting.review_due_at.is_(None))
            .values(review_due_at=utcnow()).execution_options(synchronize_session=False)
        ))  # fmt: skip
        if not claimed:
            continue
        _review_falls_due(vetting, answers[vetting.answer_id], posts[vetting.post_id], reason="", by=None)
        opened += 1
    return opened


def sweep_due_reviews() -> int:
    """open_due_reviews in its own write transaction (the periodic job and `lhn review-due`)."""
    from lhn.database import transaction

    with transaction():
        return open_due_reviews()


def send_review_reminders(now: datetime) -> int:
    """Remind vetters of their current vettings' reviews: once some days before the review-by date
    (REMINDER_REVIEW_AHEAD_DAYS), and once more when a review that fell due (open_due_reviews told them then) is
    still open some days later (REMINDER_REVIEW_REPEAT_DAYS): nobody re-vetted or unvetted the answer. Each
    reminder goes out once (lhn/reminders.py claims it). Flushes; returns how many were sent. Run by
    lhn/reminders.py's sweep."""
    today = now.date()
    ahead = today + timedelta(days=reminders.setting("REMINDER_REVIEW_AHEAD_DAYS"))
    repeat_before = now - timedelta(days=reminders.setting("REMINDER_REVIEW_REPEAT_DAYS"))
    newest = select(func.max(Vetting.id)).where(Vetting.action == VettingAction.VET).group_by(Vetting.answer_id)
    rows = db.session.execute(
        select(Vetting, Post).join(Answer, Answer.id == Vetting.answer_id).join(Post, Post.id == Vetting.post_id)
        .where(Vetting.id.in_(newest), Answer.vetted_at.is_not(None), or_(
            and_(Vetting.review_due_at.is_(None), Vetting.review_by > today, Vetting.review_by <= ahead),
            Vetting.review_due_at <= repeat_before))
        .options(joinedload(Vetting.by), joinedload(Post.community))
    ).all()  # fmt: skip
    soon = {f"vetting {v.id} review {v.review_by}": (v, p) for v, p in rows if v.review_due_at is None}
    overdue = {f"vetting {v.id} still open": (v, p) for v, p in rows if v.review_due_at is not None}

    def soon_text(vetting: Vetting, post: Post) -> str:
        return (f"Reminder: your vetting of an answer in {post.community.name} is due for review on "
                f"{vetting.review_by:%d %b %Y}.")  # fmt: skip

    def overdue_text(vetting: Vetting, post: Post) -> str:
        return (f"Reminder: the review of your vetting of an answer in {post.community.name} is still open "
                f"(it fell due on {vetting.review_due_at:%d %b %Y}). Vet it again or remove the mark.")  # fmt: skip

    sent = 0
    for kind, due, text in (("reminder_vetting_review_soon", soon, soon_text),
                            ("reminder_vetting_review_overdue", overdue, overdue_text)):  # fmt: skip
        for key in sorted(reminders.claim(kind, due)):
            vetting, post = due[key]
            sent += reminders.remind(
                kind, [vetting.by], community_id=post.community_id,
                url=f"{post.path}#answer-{vetting.answer_id}", text=text(vetting, post),
            )  # fmt: skip
    return sent


def _after(answer: Answer, post: Post, vetting: Vetting, *, vetted: bool, log_action: str) -> None:
    """Keep the post's vetted state, close the answer's vetting review items, write the public log line."""

    refresh_post_vetting(post)
    signals.answer_vetted.send(post, answer=answer, vetting=vetting, vetted=vetted)
    signals.post_content_changed.send(post)
    settle_vetting_reviews(answer, by=vetting.by, resolution="vetted" if vetted else "unvetted")
    signals.vetting_recorded.send(post.community, action=log_action, target_type="answer", target_id=answer.id,
                                  url=answer_path(answer), reason=vetting.note, by=vetting.by)  # fmt: skip
    realtime.emit_after_commit(realtime.EVENT_ANSWER_VETTED,
                               {"post_id": post.id, "answer_id": answer.id, "vetted": vetted},
                               to=realtime.post_room(post.id))  # fmt: skip


def refresh_post_vetting(post: Post) -> None:
    """post.vetted_at: the newest still-current vetting among its visible answers (the knowledge base)."""
    post.vetted_at = db.session.scalar(
        select(func.max(Answer.vetted_at)).where(
            Answer.post_id == post.id, Answer.vetted_current.is_(True),
            Answer.hidden_at.is_(None), Answer.withdrawn_at.is_(None),
        )
    )  # fmt: skip
    db.session.flush()


def current_vetting(answer: Answer) -> Vetting | None:
    if answer.vetted_at is None:
        return None
    return db.session.scalar(
        select(Vetting).where(Vetting.answer_id == answer.id, Vetting.action == VettingAction.VET)
        .order_by(Vetting.id.desc()).limit(1)
    )  # fmt: skip


def current_vettings(answers: list[Answer]) -> dict[int, Vetting]:
    """The vetting behind each vetted answer's seal, with its vetter, in one query."""
    ids = [a.id for a in answers if a.vetted_at is not None]
    if not ids:
        return {}
    newest = (
        select(func.max(Vetting.id)).where(Vetting.answer_id.in_(ids), Vetting.action == VettingAction.VET)
        .group_by(Vetting.answer_id)
    )  # fmt: skip
    rows = db.session.scalars(select(Vetting).where(Vetting.id.in_(newest)).options(with_badge(Vetting.by)))
    return {v.answer_id: v for v in rows}


def list_vettings(answer_id: int, *, by: object) -> tuple[Answer, list[Vetting]]:
    """The whole vetting history of an answer, oldest first: who, when, which revision, note, evidence,
    review-by, and each unvetting with its reason. Public to readers of the post. Raises NotFound."""
    answer, _access = get_answer_access(answer_id, by=by)
    rows = db.session.scalars(
        select(Vetting).where(Vetting.answer_id == answer.id).options(joinedload(Vetting.by)).order_by(Vetting.id)
    )
    return answer, list(rows)


def list_vetting_log(community_id: int, *, cursor: str | None = None, limit: int = 50) -> Page[Vetting]:
    """Every vetting and unvetting in a community, newest first (the public moderation log reads this).

    The caller checks that the reader may read the community.
    """
    stmt = select(Vetting).where(Vetting.community_id == community_id).options(joinedload(Vetting.by))
    return paginate(stmt, order_by=[Vetting.id], key=lambda v: (v.id,), cursor=cursor, limit=limit)
