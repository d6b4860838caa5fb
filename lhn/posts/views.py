"""Post pages: lists, the knowledge base, writing, a post's page with its answers and comments, and the
actions on them. Each action re-renders its form with messages on bad input."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, flash, g, get_template_attribute, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.wrappers import Response

from lhn import inputs
from lhn.communities import services as communities
from lhn.database import transaction
from lhn.errors import NotFound, ValidationFailed
from lhn.forms import ActionForm, apply_errors
from lhn.limits import user_rate_limited, wrote
from lhn.markup import render_markdown
from lhn.phi import PHIConfirmationRequired
from lhn.posts import cache as answers_cache
from lhn.posts import permissions
from lhn.posts import services as posts
from lhn.posts.forms import (
    POST_FORMS,
    TITLE_HELP,
    AnswerForm,
    CommentForm,
    InterestForm,
    SlowModeForm,
    StatusForm,
    ValueForm,
    list_filters,
)
from lhn.posts.models import PostKind
from lhn.posts.services.posts import compose_markdown

bp = Blueprint("posts", __name__)
KIND_PATHS = "q,ideas,experiences,calls"


def _access(slug: str, post_id: int) -> posts.Access:
    access = posts.get_access(post_id, by=current_user)
    if access.post.community.slug != slug:
        raise NotFound("No such post.")
    return access


def post_url(post: Any, **kwargs: Any) -> str:
    return url_for("posts.show", slug=post.community.slug, kind_path=post.kind.path, post_id=post.id, **kwargs)


def _to_post(post: Any, anchor: str = "") -> Response:
    return redirect(post_url(post) + anchor)


def form_failed(form: Any, exc: ValidationFailed) -> None:
    """Errors onto the form; the PHI guard's findings stay on it for the confirm box (form.phi)."""
    apply_errors(form, exc)
    form.phi = exc if isinstance(exc, PHIConfirmationRequired) else None


@bp.app_template_global()
def post_link(post: Any) -> str:
    """A post's address without url_for (lists print dozens): the same rule as posts.show."""
    return request.script_root + post.path


_SENTINEL = 2_147_000_123  # stands for the id while a URL pattern is built once per request


@bp.app_template_global()
def item_url(endpoint: str, key: str, value: int, **fixed: Any) -> str:
    """url_for(endpoint, key=value, **fixed), building the pattern once per request and then only
    substituting the id: pages with 30 answers otherwise spend milliseconds in url_for."""
    cache = g.setdefault("_lhn_url_patterns", {})
    name = (endpoint, key, tuple(sorted(fixed.items())))
    pattern = cache.get(name)
    if pattern is None:
        pattern = cache[name] = url_for(endpoint, **fixed, **{key: _SENTINEL})
    return pattern.replace(str(_SENTINEL), str(int(value)), 1)


@bp.app_template_global()
def tag_url(endpoint: str, slug: str, tag: str) -> str:
    """url_for(endpoint, slug=slug, tag=tag), with the path built once per request."""
    cache = g.setdefault("_lhn_url_patterns", {})
    base = cache.get((endpoint, slug))
    if base is None:
        base = cache[(endpoint, slug)] = url_for(endpoint, slug=slug)
    return f"{base}?tag={quote(tag)}"


@bp.app_template_global()
def post_item_html(post: Any, role: Any, show_community: bool = False) -> Markup:
    """A post's entry in lists. The same for every reader, so rendered once per version of the post
    (lhn/posts/cache.py; badges catch up within the cache's TTL)."""
    key = ("item", post.id, post.page_version, role.value if role else None, show_community, request.script_root)
    html = answers_cache.get(key)
    if html is None:
        macro = get_template_attribute("posts/_macros.html", "post_item")
        html = Markup(macro(post, role, show_community))  # noqa: S704 - our own template's output
        answers_cache.put(key, html)
    return html


@bp.app_template_filter("day")
def day(value: Any) -> Markup:
    """<time> for a date or datetime, e.g. 23 Nov 2026 (a filter: cheaper than a macro in long lists)."""
    if value is None:
        return Markup("")
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), value.strftime("%d %b %Y"))


@bp.app_template_filter()
def link_args(args: dict[str, Any], community: Any = None) -> dict[str, Any]:
    """List filters for links: without the cursor or empty values, with the community's slug."""
    out = {k: v for k, v in args.items() if v and k != "cursor"}
    if community is not None:
        out["slug"] = community.slug
    return out


# --- lists ----------------------------------------------------------------------------------------------


def _popular_tags(community_ids: list[int], *, vetted_only: bool = False) -> list[tuple[str, int]]:
    """The sidebar's tags; they may lag by the cache's TTL (they are a guide, not a count)."""
    key = ("tags", tuple(sorted(community_ids)), vetted_only)
    tags = answers_cache.get(key)
    if tags is None:
        tags = posts.popular_tags(community_ids, vetted_only=vetted_only)
        answers_cache.put(key, tags)
    return tags


@bp.get("/c/<slug>/posts")
def index(slug: str):  # type: ignore[no-untyped-def]
    community, membership = communities.get_readable_community(current_user, slug)
    try:
        args = list_filters()
        listing = posts.list_posts(community, by=current_user, **args)
    except ValidationFailed as exc:
        flash(" ".join(exc.errors.values()), "error")
        return redirect(url_for("posts.index", slug=slug))
    return render_template(
        "posts/index.html", community=community, membership=membership, listing=listing, args=args,
        tags=_popular_tags([community.id]), can_post=permissions.can_post(current_user, community, membership),
        post_refusal=posts.post_refusal(community, membership, by=current_user), kinds=list(PostKind),
    )  # fmt: skip


@bp.get("/feed")
@login_required
def feed():  # type: ignore[no-untyped-def]
    try:
        args = list_filters()
        listing = posts.list_feed(by=current_user, **args)
    except ValidationFailed as exc:
        flash(" ".join(exc.errors.values()), "error")
        return redirect(url_for("posts.feed"))
    mine = list(communities.memberships_of(current_user))
    return render_template("posts/feed.html", listing=listing, args=args, kinds=list(PostKind),
                           tags=_popular_tags(mine))  # fmt: skip


@bp.get("/c/<slug>/vetted")
def knowledge_base(slug: str):  # type: ignore[no-untyped-def]
    community, _membership = communities.get_readable_community(current_user, slug)
    tag, cursor = inputs.arg_text("tag") or None, inputs.arg_cursor()
    listing = posts.list_knowledge_base(community, by=current_user, tag=tag, cursor=cursor)
    return render_template("posts/knowledge_base.html", community=community, listing=listing, tag=tag,
                           tags=_popular_tags([community.id], vetted_only=True),
                           gaps=posts.vetting_gaps([community.id]))  # fmt: skip


@bp.get("/vetted")
@login_required
def my_knowledge_base():  # type: ignore[no-untyped-def]
    tag, cursor = inputs.arg_text("tag") or None, inputs.arg_cursor()
    listing = posts.list_knowledge_base(None, by=current_user, tag=tag, cursor=cursor)
    mine = list(communities.memberships_of(current_user))
    return render_template("posts/knowledge_base.html", community=None, listing=listing, tag=tag,
                           tags=_popular_tags(mine, vetted_only=True), gaps=posts.vetting_gaps(mine))  # fmt: skip


# --- writing --------------------------------------------------------------------------------------------


def _fields_from(form: Any, kind: PostKind) -> posts.PostFields:
    sections = {s.name: getattr(form, s.name).data or "" for s in posts.SECTIONS[kind]}
    fields = posts.PostFields(title=form.title.data or "", tags=form.tags.data or "", sections=sections)
    if kind == PostKind.CALL:
        fields.roles, fields.other_roles = list(form.roles.data or []), form.other_roles.data or ""
        fields.deadline = form.deadline.data or None
    if kind == PostKind.EXPERIENCE:
        fields.linked_idea_id = form.linked_idea_id.data or None
    return fields


def _prepare(form: Any, kind: PostKind, community: Any) -> None:
    form.title.description = TITLE_HELP[kind]
    if kind == PostKind.EXPERIENCE:
        form.linked_idea_id.choices = [("", "— none —")] + [(str(i), t) for i, t in posts.idea_choices(community.id)]


def _preview(form: Any, kind: PostKind) -> str | None:
    """The post as it will look, or None with the reason on the form (a text too complex to render)."""
    fields = _fields_from(form, kind)
    details: dict[str, Any] = dict(fields.sections)
    if kind == PostKind.CALL:
        details.update(roles=fields.roles, other_roles=fields.other_roles)
    try:
        return str(render_markdown(compose_markdown(kind, details), field=posts.SECTIONS[kind][0].name))
    except ValidationFailed as exc:
        form_failed(form, exc)
        return None


@bp.route("/c/<slug>/new/<kind>", methods=["GET", "POST"])
@login_required
@user_rate_limited("post", methods=["POST"], deduct_when=wrote)
def new(slug: str, kind: str):  # type: ignore[no-untyped-def]
    community, membership = communities.get_readable_community(current_user, slug)
    try:
        post_kind = PostKind(kind)
    except ValueError:
        abort(404)
    refusal = posts.post_refusal(community, membership, by=current_user)
    if refusal:  # muted (until when), or not a member
        flash(refusal, "info")
        return redirect(url_for("communities.show", slug=slug))
    form = POST_FORMS[post_kind]()
    _prepare(form, post_kind, community)
    preview_html = None
    if form.validate_on_submit():
        if form.preview.data:
            preview_html = _preview(form, post_kind)
        else:
            try:
                with transaction():
                    post = posts.create_post(community, post_kind, _fields_from(form, post_kind), by=current_user,
                                             confirm_phi=bool(form.confirm_phi.data))  # fmt: skip
            except ValidationFailed as exc:
                form_failed(form, exc)
            else:
                flash(f"{post_kind.label} posted.", "success")
                return _to_post(post)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("posts/form.html", form=form, kind=post_kind, community=community, post=None,
                           sections=posts.SECTIONS[post_kind], preview_html=preview_html), status  # fmt: skip


@bp.route("/c/<slug>/posts/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str, post_id: int):  # type: ignore[no-untyped-def]
    post = _access(slug, post_id).post
    if not permissions.can_edit(current_user, post):
        abort(403)
    form_class = POST_FORMS[post.kind]
    if request.method == "GET":
        current = posts.fields_of(post)
        form = form_class(data={
            "title": current.title, "tags": " ".join(current.tags or []), **current.sections, "roles": current.roles,
            "other_roles": current.other_roles, "deadline": current.deadline.isoformat() if current.deadline else "",
            "linked_idea_id": str(current.linked_idea_id or ""),
        })  # fmt: skip
    else:
        form = form_class()
    _prepare(form, post.kind, post.community)
    preview_html = None
    if form.validate_on_submit():
        if form.preview.data:
            preview_html = _preview(form, post.kind)
        else:
            try:
                with transaction():
                    posts.edit_post(post, _fields_from(form, post.kind), by=current_user,
                                    confirm_phi=bool(form.confirm_phi.data))  # fmt: skip
            except ValidationFailed as exc:
                form_failed(form, exc)
            else:
                flash("Saved. The earlier version stays in the history.", "success")
                return _to_post(post)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("posts/form.html", form=form, kind=post.kind, community=post.community, post=post,
                           sections=posts.SECTIONS[post.kind], preview_html=preview_html), status  # fmt: skip


@bp.post("/preview")
@user_rate_limited("preview", forms=False)  # fetched by posts.js: no form to re-render
def preview():  # type: ignore[no-untyped-def]
    """Rendered Markdown for the live preview (the same renderer as saving; nothing is stored). Rate limited:
    rendering costs CPU that others' requests share."""
    if not current_user.is_authenticated:
        abort(401)
    text = request.form.get("text", "")[: posts.POST_BODY_MAX]
    html = {"Content-Type": "text/html; charset=utf-8"}
    try:
        return render_markdown(text), 200, html
    except ValidationFailed as exc:
        return Markup('<p class="form-error">{}</p>').format(" ".join(exc.errors.values())), 422, html


@bp.post("/c/<slug>/posts/<int:post_id>/withdraw")
@login_required
def withdraw(slug: str, post_id: int):  # type: ignore[no-untyped-def]
    post = _access(slug, post_id).post
    if ActionForm().validate_on_submit():
        with transaction():
            posts.withdraw_post(post, by=current_user)
        flash("Withdrawn. It no longer shows in lists or search.", "info")
    return _to_post(post)


@bp.get("/c/<slug>/posts/<int:post_id>/revisions")
def revisions(slug: str, post_id: int):  # type: ignore[no-untyped-def]
    _access(slug, post_id)
    post, history = posts.list_post_revisions(post_id, by=current_user)
    return render_template("posts/revisions.html", post=post, answer=None, history=history, community=post.community,
                           mine=permissions.is_author(current_user, post))  # fmt: skip


# --- a post's page ------------------------------------------------------------------------------------


def _show(access: posts.Access, *, status: int = 200, **forms: Any) -> tuple[str, int]:
    post = access.post
    title = f"{post.title} · {post.community.name}"
    if not current_user.is_authenticated:
        # Readers who aren't logged in all see the same page: reuse it while the post's version holds.
        key = ("page", post.id, post.page_version, request.script_root)
        main_html = Markup(_render_main(access, {}))  # noqa: S704 - our own template's output
        answers_cache.put(key, (title, main_html))
        return _page(title, main_html, question=post.kind == PostKind.QUESTION), status
    main_html = Markup(_render_main(access, forms))  # noqa: S704 - our own template's output
    return _page(title, main_html, question=post.kind == PostKind.QUESTION), status


def _page(title: str, main_html: Markup, *, question: bool) -> str:
    return render_template("posts/show.html", title=title, main_html=main_html, question=question)


def _cached_page(slug: str, kind_path: str, post_id: int) -> str | None:
    """The page as last rendered for readers who aren't logged in, if it is still current."""
    if current_user.is_authenticated:
        return None
    found = posts.anonymous_page_key(post_id)
    if found is None or found[:2] != (slug, kind_path):
        return None
    cached = answers_cache.get(("page", post_id, found[2], request.script_root))
    if cached is None:
        return None
    title, main_html = cached
    return _page(title, main_html, question=kind_path == PostKind.QUESTION.path)


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
    return render_template("posts/_show_main.html", page=page, post=post, community=post.community, can=can,
                           **forms)  # fmt: skip


def _abilities(page: posts.PostPage) -> dict[str, bool]:
    access, post, user = page.access, page.post, current_user
    return {
        "post": permissions.can_post(user, access.community, access.membership),
        "answer": permissions.can_answer(user, post, access.membership),
        "comment": permissions.can_comment(user, post, access.membership),
        "vote": permissions.can_vote(user, post, access.membership, access.community),
        "vet": permissions.can_vet(user, access.community, access.membership),
        "curate": permissions.can_curate_vetting(user, access.community, access.membership),
        "moderate": access.moderates,
        "edit": permissions.can_edit(user, post),
        "author": permissions.is_author(user, post),
        "accept": permissions.can_accept(user, post),
        "see_original": access.sees_original(post),
        # Flag buttons: anyone signed in who can read the page (flag_target checks the rest).
        "flag": bool(user.is_authenticated),
        "call_open": post.kind == PostKind.CALL and posts.is_open(post),
        "interest": post.kind == PostKind.CALL and posts.is_open(post) and not permissions.is_author(user, post)
        and permissions.can_post(user, access.community, access.membership),
    }  # fmt: skip


@bp.get(f"/c/<slug>/<any({KIND_PATHS}):kind_path>/<int:post_id>")
def show(slug: str, kind_path: str, post_id: int):  # type: ignore[no-untyped-def]
    cached = _cached_page(slug, kind_path, post_id)
    if cached is not None:
        return cached
    access = _access(slug, post_id)
    if access.post.kind.path != kind_path:
        return _to_post(access.post)
    return _show(access)


@bp.get("/c/<slug>/q/<int:post_id>/answers")
def answers_fragment(slug: str, post_id: int):  # type: ignore[no-untyped-def]
    """The answers block alone, for live pages to swap in (same permissions and partial as the page)."""
    access = _access(slug, post_id)
    if access.post.kind != PostKind.QUESTION:
        raise NotFound("No such question.")
    page = posts.post_page(post_id, by=current_user, answers_only=True, access=access)
    can = _abilities(page)
    return render_template("posts/_answers.html", page=page, post=page.post, community=page.post.community,
                           can=can, comment_form=CommentForm() if can["comment"] else None)  # fmt: skip


@bp.post("/c/<slug>/posts/<int:post_id>/answers")
@login_required
@user_rate_limited("answer", deduct_when=wrote)
def answer(slug: str, post_id: int):  # type: ignore[no-untyped-def]
    access = _access(slug, post_id)
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            with transaction():
                new_answer = posts.post_answer(post_id, form.body.data or "", by=current_user,
                                               confirm_phi=bool(form.confirm_phi.data))  # fmt: skip
        except ValidationFailed as exc:
            form_failed(form, exc)
        else:
            flash("Answer posted.", "success")
            return _to_post(access.post, f"#answer-{new_answer.id}")
    return _show(access, status=422, answer_form=form)


@bp.post("/c/<slug>/posts/<int:post_id>/vote")
@login_required
def vote(slug: str, post_id: int):  # type: ignore[no-untyped-def]
    access = _access(slug, post_id)
    form = ValueForm()
    if form.validate_on_submit():
        with transaction():
            posts.vote_post(post_id, _int(form.value.data), by=current_user)
    return _to_post(access.post)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed({"value": "Send a number."}) from None


@bp.post("/c/<slug>/posts/<int:post_id>/comments")
@login_required
@user_rate_limited("comment", deduct_when=wrote)
def comment(slug: str, post_id: int):  # type: ignore[no-untyped-def]
    access = _access(slug, post_id)
    form = CommentForm()
    if form.validate_on_submit():
        answer_id = _int(form.answer_id.data) if form.answer_id.data else None
        try:
            with transaction():
                new_comment = posts.post_comment(post_id, form.body.data or "", by=current_user, answer_id=answer_id,
                                                 confirm_phi=bool(form.confirm_phi.data))  # fmt: skip
        except ValidationFailed as exc:
            form_failed(form, exc)
        else:
            return _to_post(access.post, f"#comment-{new_comment.id}")
    return _show(access, status=422, comment_form=form)


@bp.post("/c/<slug>/posts/<int:post_id>/slow-mode")
@login_required
def slow_mode(slug: str, post_id: int):  # type: ignore[no-untyped-def]
    access = _access(slug, post_id)
    form = SlowModeForm()
    if not form.validate_on_submit():
        flash("Give the number of seconds between writes (0 turns slow mode off).", "error")
        return _to_post(access.post)
    try:
        with transaction():
            seconds = posts.set_slow_mode(post_id, form.seconds.data, by=current_user)
    except ValidationFailed as exc:
        flash(" ".join(exc.errors.values()), "error")
    else:
        flash(f"Slow mode: one answer or comment per person every {seconds} seconds." if seconds
              else "Slow mode is off.", "success")  # fmt: skip
    return _to_post(access.post)


@bp.post("/c/<slug>/posts/<int:post_id>/status")
@login_required
def change_status(slug: str, post_id: int):  # type: ignore[no-untyped-def]
    access = _access(slug, post_id)
    form = StatusForm()
    form.status.choices = [(s.value, s.label) for s in posts.next_statuses(access.post)]
    if form.validate_on_submit():
        try:
            with transaction():
                change = posts.change_idea_status(post_id, form.status.data or "", by=current_user,
                                                  reason=form.reason.data or "")  # fmt: skip
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(f"The idea is now {change.to_status.label.lower()}.", "success")
            return _to_post(access.post, "#timeline")
    return _show(access, status=422, status_form=form)


@bp.post("/c/<slug>/posts/<int:post_id>/interest")
@login_required
def interest(slug: str, post_id: int):  # type: ignore[no-untyped-def]
    access = _access(slug, post_id)
    form = InterestForm()
    if form.validate_on_submit():
        try:
            with transaction():
                posts.express_interest(post_id, form.message.data or "", by=current_user)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash("Sent. The author will see your message and badge, and you'll hear their decision.", "success")
            return _to_post(access.post, "#interest")
    return _show(access, status=422, interest_form=form)


@bp.post("/c/<slug>/posts/<int:post_id>/interest/withdraw")
@login_required
def withdraw_interest(slug: str, post_id: int):  # type: ignore[no-untyped-def]
    access = _access(slug, post_id)
    if ActionForm().validate_on_submit():
        with transaction():
            posts.withdraw_interest(post_id, by=current_user)
        flash("You withdrew your interest.", "info")
    return _to_post(access.post, "#interest")


@bp.post("/c/<slug>/interests/<int:interest_id>")
@login_required
def decide_interest(slug: str, interest_id: int):  # type: ignore[no-untyped-def]
    form = ValueForm()
    if not form.validate_on_submit() or form.value.data not in ("accept", "decline"):
        abort(400)
    with transaction():
        row = posts.decide_interest(interest_id, by=current_user, accept=form.value.data == "accept")
        if row.post.community.slug != slug:
            raise NotFound("No such interest.")
    flash(f"{row.user.display_name}: {row.status.label.lower()}.", "success")
    return _to_post(row.post, "#interested")


# Answers, vetting, comments and moderation actions live beside this module; importing it adds its routes.
from lhn.posts import answer_views  # noqa: E402, F401
