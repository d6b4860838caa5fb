"""A post's page: the post with its answers, timeline, interest or comments, the forms this reader may use, the
cached page for readers who aren't logged in, and the answers block that live pages swap in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from lhn import attachments
from lhn.communities import services as communities
from lhn.errors import NotFound
from lhn.forms import ActionForm, Form, saved
from lhn.posts import permissions
from lhn.posts import services as posts
from lhn.posts.forms import AnswerForm, CommentForm, InterestForm, SlowModeForm, StatusForm
from lhn.posts.models import PostKind
from lhn.posts.views.common import bp, post_access, to_post
from lhn.posts.views.templating import anonymous_page

T = TypeVar("T")
KIND_PATHS = "q,ideas,experiences,calls"  # PostKind paths, for the show route


def show_page(access: posts.Access, *, status: int = 200, **forms: Any) -> tuple[str, int]:
    """The post's page; `forms` are the ones to show as sent (with their errors), the rest are built fresh."""
    post = access.post
    title = f"{post.title} · {post.community.name}"
    main_html = Markup(_render_main(access, forms))  # noqa: S704 - our own template's output
    return _page(title, main_html, question=post.kind == PostKind.QUESTION), status


def form_on_page(access: posts.Access, name: str, form: Form, write: Callable[[], T],
                 done: Callable[[T], tuple[str | None, str]]) -> Response | tuple[str, int]:  # fmt: skip
    """A form on a post's page (answer, comment, idea status, interest), sent: `write()` in one transaction, then
    back to the post, where `done(what write returned)` says the message to flash (or None) and the anchor. On a
    refusal, the page again (422) with the form `name` as sent and its errors."""
    if form.validate_on_submit() and (result := saved(form, write)):
        message, anchor = done(result.value)
        if message:
            flash(message, "success")
        return to_post(access.post, anchor)
    return show_page(access, status=422, **{name: form})


def _page(title: str, main_html: Markup, *, question: bool) -> str:
    return render_template("posts/show.html", title=title, main_html=main_html, question=question)


def _render_main(access: posts.Access, forms: dict[str, Any]) -> str:
    """The page's content: the post, then its answers, timeline, interest or comments."""
    post = access.post
    page = posts.post_page(post.id, by=current_user, access=access)
    can = _abilities(page)
    # Only the forms this reader can use (building a form costs more than rendering an answer).
    needed = {"answer_form": (can["answer"], AnswerForm), "comment_form": (can["comment"], CommentForm),
              "interest_form": (can["interest"], InterestForm),
              "status_form": (can["moderate"] and post.kind == PostKind.IDEA, StatusForm)}  # fmt: skip
    for name, (wanted, form_class) in needed.items():
        if name not in forms:
            forms[name] = form_class() if wanted else None
    if forms["status_form"] is not None:
        forms["status_form"].status.choices = [(s.value, s.label) for s in posts.next_statuses(post)]
    if "slow_mode_form" not in forms:
        forms["slow_mode_form"] = (
            SlowModeForm(formdata=None, seconds=communities.slow_mode_seconds("post", post.id))
            if can["moderate"] and post.is_visible else None
        )  # fmt: skip
    files = None
    if post.kind == PostKind.EXPERIENCE and (post.is_visible or can["see_original"]):
        files = attachments.files_view(posts.EXPERIENCE, attachments.stamps(posts.EXPERIENCE, [post]),
                                       {post.id: post.is_visible and can["author"]})  # fmt: skip
    return render_template("posts/_show_main.html", page=page, post=post, community=post.community, can=can,
                           files=files, action_form=ActionForm() if files else None, **forms)  # fmt: skip


def _abilities(page: posts.PostPage) -> dict[str, Any]:
    """What this reader may do on the page, for its buttons (the services check again on every write)."""
    access, post, user = page.access, page.post, current_user
    community, membership = access.community, access.membership
    return {
        "post": permissions.can_post(user, community, membership),
        "answer": permissions.can_answer(user, post, membership),
        "comment": permissions.can_comment(user, post, membership),
        "vote": permissions.can_vote(user, post, membership, community),
        "vet": permissions.can_vet(user, community, membership),
        "curate": permissions.can_curate_vetting(user, community, membership),
        "moderate": access.moderates,
        "edit": permissions.can_edit(user, post),
        "author": permissions.is_author(user, post),
        "accept": permissions.can_accept(user, post),
        "see_original": access.sees_original(post),
        # Flag buttons: anyone signed in who can read the page (flag_target checks the rest).
        "flag": bool(user.is_authenticated),
        "call_open": post.kind == PostKind.CALL and posts.is_open(post),
        "interest": post.kind == PostKind.CALL and posts.is_open(post) and not permissions.is_author(user, post)
        and permissions.can_post(user, community, membership),
        # Per answer, by id: its vote buttons, its author's Edit and Withdraw, the Vet button.
        "vote_answers": {a.id for a in page.answers if permissions.can_vote(user, a, membership, community)},
        "revise_answers": {a.id for a in page.answers if permissions.can_revise(user, a)},
        "vet_answers": {a.id for a in page.answers if permissions.can_vet_answer(user, a, community, membership)},
    }  # fmt: skip


@bp.get(f"/c/<slug>/<any({KIND_PATHS}):kind_path>/<int:post_id>")
def show(slug: str, kind_path: str, post_id: int) -> ResponseReturnValue:
    def render() -> ResponseReturnValue:
        access = post_access(slug, post_id)
        if access.post.kind.path != kind_path:
            return to_post(access.post)
        html, _status = show_page(access)
        return html

    def version() -> tuple[str, int, int] | None:  # one light query, without loading the post
        found = posts.anonymous_page_key(post_id)
        return ("post", post_id, found[2]) if found is not None and found[:2] == (slug, kind_path) else None

    return anonymous_page(version, render)


@bp.get("/c/<slug>/q/<int:post_id>/answers")
def answers_fragment(slug: str, post_id: int) -> ResponseReturnValue:
    """The answers block alone, for live pages to swap in (same permissions and partial as the page)."""
    access = post_access(slug, post_id)
    if access.post.kind != PostKind.QUESTION:
        raise NotFound("No such question.")
    page = posts.post_page(post_id, by=current_user, answers_only=True, access=access)
    can = _abilities(page)
    return render_template("posts/_answers.html", page=page, post=page.post, community=page.post.community,
                           can=can, comment_form=CommentForm() if can["comment"] else None)  # fmt: skip
