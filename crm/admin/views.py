from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.admin import bp
from crm.admin import services as admin_services
from crm.admin.forms import AdminUserForm, ConsentTextForm, ReplyTemplateForm, SettingsForm
from crm.auth import profiles, tokens
from crm.auth import services as user_services
from crm.auth.decorators import recent_login_required, role_required
from crm.auth.forms import UserCreateForm
from crm.auth.models import Role, User
from crm.core.deletion import confirm_delete
from crm.core.forms import save_or_show_error
from crm.enquiries import services as enquiry_services
from crm.enquiries.intake import default_consent_body
from crm.enquiries.models import ReplyTemplate
from crm.extensions import db
from crm.settings import services as settings_services


@bp.before_request
@role_required(Role.ADMIN)
def require_admin():
    """Every admin page is for admins only."""


@bp.route("/users")
def users():
    users = user_services.list_users()
    return render_template(
        "admin/users.html",
        users=users,
        # Without a password because they sign in through a provider, not waiting to choose one.
        single_sign_on_ids=user_services.users_with_identities([user.id for user in users]),
    )


@bp.route("/users/new", methods=["GET", "POST"])
@recent_login_required
def create_user():
    """A new user without a password, who gets an invitation to choose their own."""
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = user_services.create_user(
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                language=form.language.data,
                actor=current_user,
            )
            tokens.send_invitation(user, actor=current_user)
        except user_services.UserError as error:
            db.session.rollback()
            form[error.field or "email"].errors.append(str(error))
        else:
            db.session.commit()
            flash(
                _("User %(email)s created, and an invitation sent to them.", email=user.email),
                "success",
            )
            return redirect(url_for("admin.user", user_id=user.id))
    return render_template("admin/user_new.html", form=form)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@recent_login_required
def user(user_id):
    """One user: every field (as on their own profile, and e-mail, role and active), the
    sign-in actions other modules add, and the user's recent history."""
    user = db.session.get(User, user_id) or abort(404)
    form = AdminUserForm.for_user(user, role=user.role.value)
    if form.validate_on_submit():
        changes = form.save(user, actor=current_user)
        if changes is not None:
            db.session.commit()
            if changes:
                flash(_("User %(email)s saved.", email=user.email), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for("admin.user", user_id=user.id))
    return render_template(
        "admin/user.html",
        form=form,
        user=user,
        photo_url=profiles.photo_url(user),
        history=profiles.recent_history(user),
        history_limit=profiles.HISTORY_LIMIT,
        admin_view=True,
    )


@bp.route("/users/<int:user_id>/edit")
def edit_user(user_id):
    """The user's page had this address before it showed everything."""
    return redirect(url_for("admin.user", user_id=user_id), code=301)


SETTING_KEYS = [
    "office_name",
    "office_name_sv",
    "office_name_en",
    "accent_colour",
    "logo_image_id",
    "intro_sv",
    "intro_en",
    "data_controller",
    "retention_months",
    "email_retention_months",
    "notification_recipients",
    "agreement_warning_days",
]


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    """The office's settings: its name, logo, colour and public page, privacy and
    notifications."""
    current = settings_services.get_many(SETTING_KEYS)
    candidates = admin_services.public_contact_candidates()
    form = SettingsForm(
        data={
            **current,
            # The names as shown now (a language without its own shows the other's).
            "office_name_sv": settings_services.office_name("sv", current),
            "office_name_en": settings_services.office_name("en", current),
            "notification_recipients": "\n".join(current["notification_recipients"] or []),
            "public_contacts": [user.id for user in candidates if user.is_public_contact],
        }
    )
    form.public_contacts.choices = [(user.id, user.name) for user in candidates]
    if form.validate_on_submit():
        changed = save_or_show_error(
            form,
            lambda: admin_services.update_office_settings(
                form.values(),
                logo=form.logo_upload(),
                remove_logo=form.remove_logo.data,
                public_contact_ids=form.public_contacts.data,
                actor=current_user,
            ),
        )
        if changed is not None:
            db.session.commit()
            if changed:
                flash(_("Settings saved."), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for("admin.settings"))
    return render_template(
        "admin/settings.html",
        form=form,
        logo_url=settings_services.logo_url(current["logo_image_id"]),
    )


@bp.route("/consent-texts", methods=["GET", "POST"])
def consent_texts():
    """The consent text above the contact form's checkbox: publish a new version per language."""
    languages = current_app.config["LANGUAGES"]
    newest = {language: settings_services.newest_consent_text(language) for language in languages}
    form = ConsentTextForm()
    if form.validate_on_submit():
        published = []
        for language in languages:
            body = getattr(form, f"body_{language}").data
            if newest[language] is None or newest[language].body != body:
                published.append(
                    settings_services.publish_consent_text(language, body, actor=current_user)
                )
        db.session.commit()
        if published:
            names = _language_names()
            versions = ", ".join(
                _(
                    "%(language)s version %(version)s",
                    language=names.get(text.language, text.language),
                    version=text.version,
                )
                for text in published
            )
            flash(_("Published: %(versions)s.", versions=versions), "success")
        else:
            flash(_("The consent text is unchanged; no new version was published."), "info")
        return redirect(url_for("admin.consent_texts"))
    if not form.is_submitted():
        for language in languages:
            text = newest[language]
            getattr(form, f"body_{language}").data = (
                text.body if text is not None else default_consent_body(language)
            )
    return render_template(
        "admin/consent_texts.html",
        form=form,
        newest=newest,
        versions=settings_services.consent_text_versions(),
        language_names=_language_names(),
    )


def _language_names():
    return {"sv": _("Swedish"), "en": _("English")}


# ---------------------------------------------------------------- reply templates


@bp.route("/reply-templates")
def reply_templates():
    """The texts staff start a reply to an enquiry from, per language."""
    return render_template(
        "admin/reply_templates.html",
        templates=enquiry_services.reply_templates(),
        language_names=_language_names(),
    )


@bp.route("/reply-templates/new", methods=["GET", "POST"])
def create_reply_template():
    form = ReplyTemplateForm()
    if form.validate_on_submit():
        template = save_or_show_error(
            form,
            lambda: enquiry_services.create_reply_template(
                form.data_for_service(), actor=current_user
            ),
        )
        if template is not None:
            db.session.commit()
            flash(_("Reply template %(name)s saved.", name=template.name), "success")
            return redirect(url_for("admin.reply_templates"))
    return render_template("admin/reply_template_form.html", form=form, template=None)


@bp.route("/reply-templates/<int:template_id>/edit", methods=["GET", "POST"])
def edit_reply_template(template_id):
    template = db.session.get(ReplyTemplate, template_id) or abort(404)
    form = ReplyTemplateForm(obj=template)
    if form.validate_on_submit():
        saved = save_or_show_error(
            form,
            lambda: (
                enquiry_services.update_reply_template(
                    template, form.data_for_service(), actor=current_user
                )
                is not None
            ),
        )
        if saved:
            db.session.commit()
            flash(_("Reply template %(name)s saved.", name=template.name), "success")
            return redirect(url_for("admin.reply_templates"))
    return render_template("admin/reply_template_form.html", form=form, template=template)


@bp.route("/reply-templates/<int:template_id>/delete", methods=["GET", "POST"])
def delete_reply_template(template_id):
    template = db.session.get(ReplyTemplate, template_id) or abort(404)
    return confirm_delete(
        template,
        template="admin/reply_template_delete.html",
        reply_template=template,
        language_names=_language_names(),
        delete=enquiry_services.delete_reply_template,
        done_message=_("Reply template %(name)s deleted.", name=template.name),
        done_url=url_for("admin.reply_templates"),
    )
