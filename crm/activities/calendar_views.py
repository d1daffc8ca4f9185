"""The calendar: the personal feed address, renewing it, the feed itself and one activity's
.ics file."""

from flask import Response, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from crm.activities import calendar_bp as bp
from crm.activities import calendar_services as services
from crm.activities.models import Activity
from crm.core import records
from crm.core.dates import local_today
from crm.core.links import external_url
from crm.core.security import public_route
from crm.extensions import db

ICS_TYPE = "text/calendar; charset=utf-8"


@bp.route("/")
def settings():
    token = services.ensure_token(current_user)
    db.session.commit()
    feed_url = external_url("calendar.feed", token=token)
    return render_template(
        "calendar/settings.html",
        feed_url=feed_url,
        webcal_url=webcal_url(feed_url),
        form=FlaskForm(),
    )


def webcal_url(feed_url):
    """The feed's address with the webcal: scheme, which calendar programs open to subscribe."""
    return "webcal://" + feed_url.split("://", 1)[1]


@bp.route("/renew", methods=["POST"])
def renew():
    form = FlaskForm()
    if form.validate_on_submit():
        services.renew_token(current_user)
        db.session.commit()
        flash(_("Your calendar has a new address. The old address no longer works."), "success")
    else:
        flash(_("The form had expired. Please send it again."), "error")
    return redirect(url_for("calendar.settings"))


@bp.route("/<token>.ics")
@public_route  # A calendar program cannot sign in; the secret token is the key.
def feed(token):
    user = services.user_for_token(token)
    if user is None:
        abort(404)
    language = user.language if user.language in current_app.config["LANGUAGES"] else "sv"
    with force_locale(language):
        body = services.build_feed(user, today=local_today())
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = ICS_TYPE
    # The address is a secret: keep the feed out of shared caches.
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/activity/<int:activity_id>.ics")
def activity_ics(activity_id):
    activity = records.get_visible_or_404(Activity, activity_id)
    body = services.build_activity_ics(activity)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = ICS_TYPE
    response.headers["Content-Disposition"] = f'attachment; filename="activity-{activity.id}.ics"'
    return response
