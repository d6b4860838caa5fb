"""Account pages: register, log in and out, profile, settings, verification evidence, tokens, institutions."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from wtforms.fields.choices import SelectChoice

from lhn.accounts import permissions
from lhn.accounts import services as accounts
from lhn.accounts.forms import (
    InstitutionForm,
    LoginForm,
    PasswordForm,
    ProfileForm,
    RegisterForm,
    RevokeVerificationForm,
    TokenForm,
    VerificationForm,
    VerifierForm,
)
from lhn.accounts.limits import login_rate_limited
from lhn.database import transaction
from lhn.errors import Conflict, ValidationFailed
from lhn.forms import ActionForm, apply_errors, choices, flash_errors, safe_next
from lhn.limits import user_rate_limited
from lhn.phi import PHIConfirmationRequired

bp = Blueprint("accounts", __name__)


def _institution_choices() -> list[SelectChoice]:
    options = [(i.slug, f"{i.name} ({i.city})" if i.city else i.name) for i in accounts.list_institutions()]
    return choices([("", "— none —"), *options])


def _start_session(user, remember: bool) -> None:  # type: ignore[no-untyped-def]
    session.clear()  # a fresh session at login: nothing from before survives (fixation)
    login_user(user, remember=remember)


@bp.route("/register", methods=["GET", "POST"])
def register():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("communities.index"))
    form = RegisterForm()
    form.institution.choices = _institution_choices()
    show_confirm = False
    if form.validate_on_submit():
        try:
            with transaction():
                user = accounts.register_user(
                    email=form.email.data, username=form.username.data, display_name=form.display_name.data,
                    password=form.password.data, role=form.role.data, institution=form.institution.data or None,
                    confirm_real_name=form.confirm_real_name.data,
                )  # fmt: skip
        except ValidationFailed as exc:
            apply_errors(form, exc)
            show_confirm = exc.errors.get("display_name") == accounts.REAL_NAME_WARNING
        else:
            _start_session(user, remember=False)
            flash(f"Welcome, {user.display_name}! Find a community to join below.", "success")
            if user.role.needs_verification:
                flash("Your role shows as 'claimed' until you submit evidence and a reviewer verifies it.", "info")
            return redirect(safe_next(request.args.get("next")) or url_for("communities.index"))
    return render_template("accounts/register.html", form=form, show_confirm=show_confirm)


@bp.route("/login", methods=["GET", "POST"])
@login_rate_limited
def login():  # type: ignore[no-untyped-def]
    form = LoginForm()
    if form.validate_on_submit():
        with transaction():
            user = accounts.authenticate(form.login.data, form.password.data)
        if user is not None and permissions.is_suspended(user):
            # Said plainly, and only to someone who knows the password.
            form.form_errors.append(permissions.suspension_notice(user))
        elif user is not None:
            _start_session(user, remember=form.remember.data)
            flash(f"Welcome back, {user.display_name}.", "success")
            return redirect(safe_next(request.args.get("next")) or url_for("communities.index"))
        else:
            # One message for unknown login and wrong password, so accounts can't be discovered.
            form.form_errors.append("Invalid username/email or password.")
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():  # type: ignore[no-untyped-def]
    if ActionForm().validate_on_submit():
        with transaction():
            accounts.invalidate_sessions(current_user)
        logout_user()
        session.clear()
        flash("You are logged out on every device.", "info")
    return redirect(url_for("communities.index"))


@bp.get("/u/<username>")
def profile(username: str):  # type: ignore[no-untyped-def]
    return _profile_page(accounts.get_user(username))


def _profile_page(user, revoke_form: RevokeVerificationForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template(
        "accounts/profile.html",
        user=user,
        history=accounts.list_verification_history(user, viewer=current_user),
        is_self=current_user.is_authenticated and current_user.id == user.id,
        can_see_private=permissions.can_see_private_profile(current_user, user),
        can_revoke=user.verified_at is not None and permissions.can_decide_verification(current_user, user.id),
        can_appoint=permissions.can_appoint_verifiers(current_user) and current_user.id != user.id,
        revoke_form=revoke_form or RevokeVerificationForm(formdata=None),
        verifier_form=VerifierForm(formdata=None),
    ), status


@bp.post("/u/<username>/verification/revoke")
@login_required
@user_rate_limited("staff", methods=["POST"])
def revoke_verification(username: str):  # type: ignore[no-untyped-def]
    form = RevokeVerificationForm()
    if form.validate_on_submit():
        try:
            with transaction():
                row = accounts.revoke_verification(username, by=current_user, reason=form.reason.data)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        except Conflict as exc:
            flash_errors(exc)
            return redirect(url_for("accounts.profile", username=username))
        else:
            flash(f"Verification of {row.user.display_name} revoked.", "success")
            return redirect(url_for("accounts.profile", username=username))
    return _profile_page(accounts.get_user(username), revoke_form=form, status=422)


@bp.post("/u/<username>/verifier")
@login_required
@user_rate_limited("staff", methods=["POST"])
def set_verifier(username: str):  # type: ignore[no-untyped-def]
    form = VerifierForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with transaction():
            user = accounts.set_verifier(username, by=current_user, appoint=form.appoint.data == "1")
    except ValidationFailed as exc:
        flash_errors(exc)
    else:
        flash(f"{user.display_name} {'is now a verifier' if user.is_verifier else 'is no longer a verifier'}.",
              "success")  # fmt: skip
    return redirect(url_for("accounts.profile", username=username))


@bp.route("/settings/profile", methods=["GET", "POST"])
@login_required
def edit_profile():  # type: ignore[no-untyped-def]
    user = current_user._get_current_object()
    form = ProfileForm(obj=None if request.method == "POST" else user)
    form.institution.choices = _institution_choices()
    if request.method == "GET":
        form.role.data = user.role.value
        form.institution.data = user.institution.slug if user.institution else ""
    show_confirm, phi = False, None
    if form.validate_on_submit():
        old_role = user.role
        try:
            with transaction():
                accounts.update_profile(
                    user, display_name=form.display_name.data, bio=form.bio.data or "", role=form.role.data,
                    institution=form.institution.data or None, confirm_real_name=form.confirm_real_name.data,
                    show_presence=form.show_presence.data, confirm_phi=form.confirm_phi.data,
                )  # fmt: skip
        except ValidationFailed as exc:
            apply_errors(form, exc)
            show_confirm = exc.errors.get("display_name") == accounts.REAL_NAME_WARNING
            phi = exc if isinstance(exc, PHIConfirmationRequired) else None
        else:
            flash("Profile saved.", "success")
            if old_role != user.role and user.role.needs_verification:
                flash("Your new role shows as 'claimed' until it is verified.", "info")
            return redirect(url_for("accounts.profile", username=user.username))
    return render_template("accounts/edit_profile.html", form=form, show_confirm=show_confirm, phi=phi)


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
def change_password():  # type: ignore[no-untyped-def]
    user = current_user._get_current_object()
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            with transaction():
                accounts.change_password(
                    user, current_password=form.current_password.data, new_password=form.new_password.data
                )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            _start_session(user, remember=False)  # this device stays logged in with the new version
            flash("Password changed. You have been logged out everywhere else.", "success")
            return redirect(url_for("accounts.profile", username=user.username))
    return render_template("accounts/password.html", form=form)


@bp.route("/settings/verification", methods=["GET", "POST"])
@login_required
def verification():  # type: ignore[no-untyped-def]
    user = current_user._get_current_object()
    form = VerificationForm()
    if form.validate_on_submit():
        try:
            with transaction():
                accounts.submit_verification(
                    user, licence_number=form.licence_number.data or "", licence_issuer=form.licence_issuer.data or "",
                    institutional_email=form.institutional_email.data or "", orcid=form.orcid.data or "",
                    statement=form.statement.data or "",
                )  # fmt: skip
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash("Thank you. A reviewer will check your evidence; you'll see the decision on your profile.", "success")
            return redirect(url_for("accounts.verification"))
    return render_template(
        "accounts/verification.html",
        form=form,
        pending=accounts.pending_verification(user),
        history=accounts.list_verification_history(user, viewer=user),
    )


@bp.route("/settings/tokens", methods=["GET", "POST"])
@login_required
def tokens():  # type: ignore[no-untyped-def]
    user = current_user._get_current_object()
    form, new_token = TokenForm(), None
    if form.validate_on_submit():
        try:
            with transaction():
                _row, new_token = accounts.create_token(user, name=form.name.data)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            form = TokenForm(formdata=None)
    return render_template(
        "accounts/tokens.html", form=form, new_token=new_token, tokens=accounts.list_tokens(user),
        revoke_form=ActionForm(),
    )  # fmt: skip


@bp.post("/settings/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):  # type: ignore[no-untyped-def]
    if ActionForm().validate_on_submit():
        with transaction():
            accounts.revoke_token(current_user, token_id)
        flash("Token revoked. Anything using it can no longer connect.", "success")
    return redirect(url_for("accounts.tokens"))


@bp.route("/institutions", methods=["GET", "POST"])
def institutions():  # type: ignore[no-untyped-def]
    can_manage = permissions.can_manage_institutions(current_user)
    form = InstitutionForm() if can_manage else None
    if request.method == "POST":
        if form is None:
            abort(403)
        if form.validate_on_submit():
            try:
                with transaction():
                    accounts.create_institution(
                        by=current_user, slug=form.slug.data, name=form.name.data, kind=form.kind.data,
                        city=form.city.data or "", country=form.country.data or "",
                    )  # fmt: skip
            except ValidationFailed as exc:
                apply_errors(form, exc)
            else:
                flash("Institution added.", "success")
                return redirect(url_for("accounts.institutions"))
    return render_template("accounts/institutions.html", institutions=accounts.list_institutions(), form=form)
