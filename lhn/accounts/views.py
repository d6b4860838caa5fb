"""Account pages: register, log in and out, profile, settings, verification evidence, tokens, institutions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from wtforms.fields.choices import SelectChoice

from lhn.accounts import permissions
from lhn.accounts import services as accounts
from lhn.accounts.forms import (
    EmailChangeForm,
    ForgotPasswordForm,
    InstitutionForm,
    LoginForm,
    PasswordForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
    RevokeVerificationForm,
    TokenForm,
    VerificationForm,
    VerifierForm,
)
from lhn.accounts.limits import account_mail_rate_limited, login_rate_limited
from lhn.accounts.models import User
from lhn.database import after_response, transaction
from lhn.errors import Conflict
from lhn.forms import ActionForm, acted, choices, flash_errors, form_page, safe_next, saved
from lhn.limits import user_rate_limited, wrote

bp = Blueprint("accounts", __name__)

T = TypeVar("T")


def _institution_choices() -> list[SelectChoice]:
    options = [(i.slug, f"{i.name} ({i.city})" if i.city else i.name) for i in accounts.list_institutions()]
    return choices([("", "— none —"), *options])


def _real_name_warned(form: RegisterForm | ProfileForm) -> bool:
    """Whether the display name was refused as a likely real name: the page then offers the box to keep it."""
    return accounts.REAL_NAME_WARNING in (form.display_name.errors or [])


def _start_session(user: User, remember: bool) -> None:
    session.clear()  # a fresh session at login: nothing from before survives (fixation)
    login_user(user, remember=remember)


@bp.route("/register", methods=["GET", "POST"])
def register() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("communities.index"))
    form = RegisterForm()
    form.institution.choices = _institution_choices()
    if form.validate_on_submit() and saved(form, lambda: accounts.sign_up(
        email=form.email.data, username=form.username.data, display_name=form.display_name.data,
        password=form.password.data, role=form.role.data, institution=form.institution.data or None,
        confirm_real_name=form.confirm_real_name.data,
    )):  # fmt: skip
        # The same answer whether the address was new or already had an account (whose owner got an email).
        return redirect(url_for("accounts.registered"))
    return render_template("accounts/register.html", form=form, show_confirm=_real_name_warned(form))


@bp.get("/register/sent")
def registered() -> ResponseReturnValue:
    return render_template("accounts/registered.html")


@bp.route("/login", methods=["GET", "POST"])
@login_rate_limited
def login() -> ResponseReturnValue:
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
def logout() -> ResponseReturnValue:
    if acted(ActionForm(), lambda: accounts.invalidate_sessions(current_user)):
        logout_user()
        session.clear()
        flash("You are logged out on every device.", "info")
    return redirect(url_for("communities.index"))


# --- addresses: confirming, changing, and the password reset they allow ------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
@account_mail_rate_limited
def forgot_password() -> ResponseReturnValue:
    form = ForgotPasswordForm()
    if form.validate_on_submit():  # the same answer whether or not an account uses it, as fast: the email after it
        answer = redirect(url_for("accounts.forgot_password_sent"))
        return after_response(answer, accounts.request_password_reset, form.email.data)
    return form_page("accounts/forgot_password.html", form)


@bp.get("/password/forgot/sent")
def forgot_password_sent() -> ResponseReturnValue:
    return render_template("accounts/forgot_password_sent.html")


def _expired() -> ResponseReturnValue:
    return render_template("accounts/link_expired.html", message=accounts.EXPIRED), 404


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    if accounts.find_link(token, "reset") is None:
        return _expired()
    form = ResetPasswordForm()
    if form.validate_on_submit() and saved(
        form, lambda: accounts.reset_password(token, new_password=form.new_password.data)
    ):
        logout_user()  # whoever was logged in on this browser logs in again, with the new password
        session.clear()
        flash("Your password is changed and every session was logged out. Log in with the new password.", "success")
        return redirect(url_for("accounts.login"))
    return form_page("accounts/reset_password.html", form)


def _one_time_link(
    token: str,
    purpose: str,
    use: Callable[[str], T],
    then: Callable[[T], ResponseReturnValue],
    template: str,
    shown: Callable[[User, dict[str, Any]], dict[str, Any]],
) -> ResponseReturnValue:
    """The page an emailed one-time link opens: the expired page for a bad, expired or used link; else a button
    that runs `use(token)` and answers with `then(what it returned)`. The page shows `shown(account, the link's
    extra values)`."""
    # A button, not the link itself: mail scanners open links, and must not use up (or log in with) this one.
    found = accounts.find_link(token, purpose)
    if found is None:
        return _expired()
    form = ActionForm()
    if request.method == "POST" and (done := acted(form, lambda: use(token))):
        return then(done.value)
    return render_template(template, form=form, **shown(*found))


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email(token: str) -> ResponseReturnValue:
    return _one_time_link(token, "confirm", accounts.confirm_email, _confirmed,
                          "accounts/confirm_email.html", lambda user, _: {"email": user.email})  # fmt: skip


def _confirmed(done: tuple[User, bool]) -> ResponseReturnValue:
    user, first_login = done
    if first_login and not current_user.is_authenticated:
        _start_session(user, remember=False)
        flash(f"Welcome, {user.display_name}! Your address is confirmed. Find a community to join below.",
              "success")  # fmt: skip
        if user.role.needs_verification:
            flash("Your role shows as 'claimed' until you submit evidence and a reviewer verifies it.", "info")
        return redirect(url_for("communities.index"))
    flash("Your email address is confirmed.", "success")
    return redirect(url_for("communities.index") if current_user.is_authenticated else url_for("accounts.login"))


@bp.post("/settings/email/confirmation")
@login_required
@user_rate_limited("account_mail", forms=False)
def send_confirmation() -> ResponseReturnValue:
    if done := acted(ActionForm(), lambda: accounts.send_confirmation(current_user._get_current_object())):
        flash(f"We sent a new link to {current_user.email}." if done.value else
              "No link was sent: your address is confirmed, or we sent several in the last hour.", "info")  # fmt: skip
    return redirect(safe_next(request.form.get("next")) or url_for("communities.index"))


@bp.route("/settings/email", methods=["GET", "POST"])
@login_required
@user_rate_limited("account_mail", deduct_when=wrote)
def change_email_request() -> ResponseReturnValue:
    user = current_user._get_current_object()
    form = EmailChangeForm()
    if form.validate_on_submit() and saved(form, lambda: accounts.request_email_change(
        user, new_email=form.new_email.data, current_password=form.current_password.data,
    )):  # fmt: skip
        flash(f"We sent a link to {form.new_email.data.strip()}. Your address changes when you open it.", "success")
        return redirect(url_for("accounts.change_email_request"))
    return form_page("accounts/email.html", form, user=user)


@bp.route("/email/change/<token>", methods=["GET", "POST"])
def change_email(token: str) -> ResponseReturnValue:
    return _one_time_link(token, "change_email", accounts.change_email, _email_changed,
                          "accounts/change_email.html", lambda _, extra: {"new": extra.get("e", "")})  # fmt: skip


def _email_changed(_: User) -> ResponseReturnValue:
    flash("Your account uses its new email address now.", "success")
    return redirect(url_for("accounts.change_email_request") if current_user.is_authenticated
                    else url_for("accounts.login"))  # fmt: skip


@bp.get("/u/<username>")
def profile(username: str) -> ResponseReturnValue:
    return _profile_page(accounts.get_user(username))


def _profile_page(user, revoke_form: RevokeVerificationForm | None = None, status: int = 200) -> ResponseReturnValue:
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
def revoke_verification(username: str) -> ResponseReturnValue:
    form = RevokeVerificationForm()
    if form.validate_on_submit():
        try:
            done = saved(form, lambda: accounts.revoke_verification(username, by=current_user, reason=form.reason.data))
        except Conflict as exc:  # not verified (any more): nothing to show on the form
            flash_errors(exc)
            return redirect(url_for("accounts.profile", username=username))
        if done:
            flash(f"Verification of {done.value.user.display_name} revoked.", "success")
            return redirect(url_for("accounts.profile", username=username))
    return _profile_page(accounts.get_user(username), revoke_form=form, status=422)


@bp.post("/u/<username>/verifier")
@login_required
@user_rate_limited("staff", methods=["POST"])
def set_verifier(username: str) -> ResponseReturnValue:
    form = VerifierForm()
    if done := acted(form, lambda: accounts.set_verifier(username, by=current_user, appoint=form.appoint.data == "1")):
        user = done.value
        flash(f"{user.display_name} {'is now a verifier' if user.is_verifier else 'is no longer a verifier'}.",
              "success")  # fmt: skip
    return redirect(url_for("accounts.profile", username=username))


@bp.route("/settings/profile", methods=["GET", "POST"])
@login_required
def edit_profile() -> ResponseReturnValue:
    user = current_user._get_current_object()
    form = ProfileForm(obj=None if request.method == "POST" else user)
    form.institution.choices = _institution_choices()
    if request.method == "GET":
        form.role.data = user.role.value
        form.institution.data = user.institution.slug if user.institution else ""
    old_role = user.role
    if form.validate_on_submit() and saved(form, lambda: accounts.update_profile(
        user, display_name=form.display_name.data, bio=form.bio.data or "", role=form.role.data,
        institution=form.institution.data or None, confirm_real_name=form.confirm_real_name.data,
        show_presence=form.show_presence.data, confirm_phi=form.confirm_phi.data,
    )):  # fmt: skip
        flash("Profile saved.", "success")
        if old_role != user.role and user.role.needs_verification:
            flash("Your new role shows as 'claimed' until it is verified.", "info")
        return redirect(url_for("accounts.profile", username=user.username))
    return form_page("accounts/edit_profile.html", form, show_confirm=_real_name_warned(form))


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    user = current_user._get_current_object()
    form = PasswordForm()
    if form.validate_on_submit() and saved(form, lambda: accounts.change_password(
        user, current_password=form.current_password.data, new_password=form.new_password.data
    )):  # fmt: skip
        _start_session(user, remember=False)  # this device stays logged in with the new version
        flash("Password changed. You have been logged out everywhere else.", "success")
        return redirect(url_for("accounts.profile", username=user.username))
    return form_page("accounts/password.html", form)


@bp.route("/settings/verification", methods=["GET", "POST"])
@login_required
def verification() -> ResponseReturnValue:
    user = current_user._get_current_object()
    form = VerificationForm()
    if form.validate_on_submit() and saved(form, lambda: accounts.submit_verification(
        user, licence_number=form.licence_number.data or "", licence_issuer=form.licence_issuer.data or "",
        institutional_email=form.institutional_email.data or "", orcid=form.orcid.data or "",
        statement=form.statement.data or "",
    )):  # fmt: skip
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
def tokens() -> ResponseReturnValue:
    user = current_user._get_current_object()
    form, new_token = TokenForm(), None
    if form.validate_on_submit() and (done := saved(form, lambda: accounts.create_token(user, name=form.name.data))):
        _row, new_token = done.value
        form = TokenForm(formdata=None)
    return form_page("accounts/tokens.html", form, new_token=new_token, tokens=accounts.list_tokens(user),
                     revoke_form=ActionForm())  # fmt: skip


@bp.post("/settings/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> ResponseReturnValue:
    if acted(ActionForm(), lambda: accounts.revoke_token(current_user, token_id)):
        flash("Token revoked. Anything using it can no longer connect.", "success")
    return redirect(url_for("accounts.tokens"))


@bp.route("/institutions", methods=["GET", "POST"])
def institutions() -> ResponseReturnValue:
    can_manage = permissions.can_manage_institutions(current_user)
    form = InstitutionForm() if can_manage else None
    if request.method == "POST":
        if form is None:
            abort(403)
        if form.validate_on_submit() and saved(form, lambda: accounts.create_institution(
            by=current_user, slug=form.slug.data, name=form.name.data, kind=form.kind.data,
            city=form.city.data or "", country=form.country.data or "",
        )):  # fmt: skip
            flash("Institution added.", "success")
            return redirect(url_for("accounts.institutions"))
    return form_page("accounts/institutions.html", form, institutions=accounts.list_institutions())
