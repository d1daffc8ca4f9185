"""The public privacy notice (/privacy) and the admins' privacy pages (/admin/privacy).

The address an admin searches for is kept on the server between requests, the session holding
only a random token for it: not in URLs, so it never lands in access logs or the browser
history, and not in the session cookie, which is signed but readable.
"""

import json
from datetime import date

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.auth.decorators import recent_login_required, role_required
from crm.auth.models import Role, User
from crm.core import audit
from crm.core.listing import paginate
from crm.core.security import public_route
from crm.enquiries.models import Enquiry
from crm.extensions import db
from crm.organisations.models import Contact
from crm.privacy import bp, services
from crm.privacy.default_notice import default_notice, default_notice_text
from crm.privacy.forms import (
    ClearForm,
    EraseForm,
    ExportForm,
    LegalHoldForm,
    NoticeForm,
    RequestForm,
)
from crm.settings import services as settings

SESSION_KEY = "privacy_search"
HOLD_KINDS = {"contacts": Contact, "enquiries": Enquiry}

audit.describe_actions(
    {
        "anonymise": _l("anonymised"),
        "legal_hold": _l("put under a legal hold"),
        "legal_hold_cleared": _l("legal hold lifted"),
    }
)

LOG_ACTIONS = {
    "search": _l("Search"),
    "export": _l("Export"),
    "erase": _l("Erasure"),
    "retention": _l("Retention run"),
    "legal_hold": _l("Legal hold set"),
    "legal_hold_cleared": _l("Legal hold lifted"),
}
COUNT_LABELS = {
    "contacts": _l("contacts"),
    "enquiries": _l("enquiries"),
    "outbox_messages": _l("outbox messages"),
    "emails": _l("e-mails"),
    "documents": _l("attachments"),
    "comments": _l("comments"),
    "audit_entries": _l("history entries"),
    "held": _l("under a legal hold"),
    "retention_months": _l("retention months"),
    "email_retention_months": _l("e-mail retention months"),
}


# ---------------------------------------------------------------- the public notice


def _language():
    languages = current_app.config["LANGUAGES"]
    language = str(get_locale() or languages[0])
    return language if language in languages else languages[0]


def _notice_context(notice):
    values = settings.get_many(
        ["office_name", "office_name_sv", "office_name_en", "data_controller"]
    )
    controller = values["data_controller"] or settings.office_name(_language(), values)
    months = services.retention_months()
    email_months = services.email_retention_months()
    return {
        "notice": notice,
        "default_notice": (
            default_notice(controller, months, email_months) if notice is None else None
        ),
        "language": _language(),
        "controller": controller,
        "retention_months": months,
        "has_versions": services.current_notice() is not None,
    }


@bp.route("/privacy")
@public_route
def notice():
    """Public: the current privacy notice, or the built-in one until an admin writes one."""
    return render_template("privacy/notice.html", **_notice_context(services.current_notice()))


@bp.route("/privacy/versions")
@public_route
def versions():
    """Public: every published version of the notice."""
    return render_template("privacy/versions.html", versions=services.notice_versions())


@bp.route("/privacy/versions/<int:version>")
@public_route
def version(version):
    """Public: one earlier (or the current) version, as it read then."""
    notice = services.notice_by_version(version)
    if notice is None:
        abort(404)
    context = _notice_context(notice)
    context["current"] = services.current_notice()
    return render_template("privacy/notice.html", **context)


# ---------------------------------------------------------------- editing the notice


@bp.route("/admin/privacy/notice", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit_notice():
    """Publish a new version of the notice; old versions stay as they were."""
    current = services.current_notice()
    form = NoticeForm()
    if form.validate_on_submit():
        if current is not None and (form.body_sv.data, form.body_en.data) == (
            current.body_sv,
            current.body_en,
        ):
            flash(_("The notice is unchanged; no new version was published."), "info")
            return redirect(url_for("privacy.edit_notice"))
        notice = services.publish_notice(
            body_sv=form.body_sv.data, body_en=form.body_en.data, actor=current_user
        )
        db.session.commit()
        flash(
            _("Version %(version)s of the privacy notice is published.", version=notice.version),
            "success",
        )
        return redirect(url_for("privacy.edit_notice"))
    if not form.is_submitted():
        if current is not None:
            form.body_sv.data, form.body_en.data = current.body_sv, current.body_en
        else:
            months = {
                "retention_months": services.retention_months(),
                "email_retention_months": services.email_retention_months(),
            }
            form.body_sv.data = default_notice_text("sv", **months)
            form.body_en.data = default_notice_text("en", **months)
    return render_template(
        "privacy/edit_notice.html",
        form=form,
        current=current,
        versions=services.notice_versions(),
    )


# ---------------------------------------------------------------- privacy requests


def _searched_address():
    return services.current_search(session.get(SESSION_KEY), actor=current_user)


@bp.route("/admin/privacy/", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def requests():
    """Search for an e-mail address; the results stay on the page until a new search."""
    form = RequestForm()
    if form.validate_on_submit():
        address = services.normalise_address(form.email.data)
        hits = services.find_records(address)
        services.log("search", hits.counts(), actor=current_user)
        session[SESSION_KEY] = services.start_search(address, actor=current_user)
        db.session.commit()
        return redirect(url_for("privacy.requests"))
    address = _searched_address() if not form.is_submitted() else None
    hits = services.find_records(address) if address else None
    if address and not form.is_submitted():
        form.email.data = address
    return render_template(
        "privacy/requests.html",
        form=form,
        address=address,
        hits=hits,
        held_reason=services.held_reason,
        email_attachments=services.email_attachments,
        export_form=ExportForm(),
        clear_form=ClearForm(),
    )


@bp.route("/admin/privacy/clear", methods=["POST"])
@role_required(Role.ADMIN)
def clear():
    if ClearForm().validate_on_submit():
        services.end_search(session.pop(SESSION_KEY, None), actor=current_user)
        db.session.commit()
    return redirect(url_for("privacy.requests"))


@bp.route("/admin/privacy/export", methods=["POST"])
@role_required(Role.ADMIN)
@recent_login_required
def export():
    """Everything held about the searched address, as one JSON download."""
    address = _searched_address()
    form = ExportForm()
    if not address or not form.validate_on_submit():
        flash(_("Search for an e-mail address first."), "error")
        return redirect(url_for("privacy.requests"))
    hits = services.find_records(address)
    data = services.export_data(address, hits)
    services.log("export", hits.counts(), actor=current_user)
    db.session.commit()
    body = json.dumps(data, ensure_ascii=False, indent=2)
    filename = f"privacy-export-{date.today().isoformat()}.json"
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/admin/privacy/erase", methods=["GET", "POST"])
@role_required(Role.ADMIN)
@recent_login_required
def erase():
    """Confirm, then anonymise or delete every record holding the searched address."""
    address = _searched_address()
    if not address:
        flash(_("Search for an e-mail address first."), "error")
        return redirect(url_for("privacy.requests"))
    form = EraseForm()
    if form.validate_on_submit():
        result = services.erase(address, actor=current_user)
        services.log("erase", result.counts, actor=current_user)
        db.session.commit()
        changed = sum(value for key, value in result.counts.items() if key != "held")
        flash(_("Erased: %(count)s records changed.", count=changed), "success")
        if result.held:
            flash(
                _(
                    "%(count)s records under a legal hold were left untouched.",
                    count=len(result.held),
                ),
                "info",
            )
        return redirect(url_for("privacy.requests"))
    hits = services.find_records(address)
    return render_template(
        "privacy/erase.html",
        form=form,
        address=address,
        hits=hits,
        held_reason=services.held_reason,
        email_attachments=services.email_attachments,
    )


# ---------------------------------------------------------------- legal holds


@bp.route("/admin/privacy/hold/<kind>/<int:record_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
@recent_login_required
def legal_hold(kind, record_id):
    """Set or lift a legal hold on a contact or an enquiry."""
    model = HOLD_KINDS.get(kind)
    record = db.session.get(model, record_id) if model else None
    if record is None:
        abort(404)
    form = LegalHoldForm(obj=None)
    if form.validate_on_submit():
        if form.legal_hold.data:
            services.set_legal_hold(record, reason=form.reason.data, actor=current_user)
            services.log("legal_hold", {kind: 1}, actor=current_user)
            message = _("The legal hold is set.")
        else:
            services.clear_legal_hold(record, actor=current_user)
            services.log("legal_hold_cleared", {kind: 1}, actor=current_user)
            message = _("The legal hold is lifted.")
        db.session.commit()
        flash(message, "success")
        return redirect(url_for("privacy.requests"))
    if not form.is_submitted():
        form.legal_hold.data = record.legal_hold
        form.reason.data = record.legal_hold_reason
    return render_template("privacy/legal_hold.html", form=form, kind=kind, record=record)


# ---------------------------------------------------------------- the log


@bp.route("/admin/privacy/log")
@role_required(Role.ADMIN)
def log():
    page = paginate(services.log_entries_select())
    actor_ids = {entry.actor_id for entry in page.items if entry.actor_id}
    actors = {}
    if actor_ids:
        users = db.session.scalars(sa.select(User).where(User.id.in_(actor_ids)))
        actors = {user.id: user.name for user in users}
    return render_template(
        "privacy/log.html",
        page=page,
        actions=LOG_ACTIONS,
        count_labels=COUNT_LABELS,
        actors=actors,
    )
