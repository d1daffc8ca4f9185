from datetime import date, timedelta

import sqlalchemy as sa
from flask import render_template
from flask_babel import get_locale
from sqlalchemy.orm import aliased, lazyload

from crm.activities.models import Activity, ActivityStatus
from crm.agreements.models import Agreement
from crm.auth.models import User
from crm.core.security import public_route
from crm.documents.models import Document
from crm.extensions import db
from crm.organisations.models import Organisation
from crm.public import bp
from crm.settings import services as settings

UPCOMING_LIMIT = 10
RECENT_LIMIT = 10
DOCUMENT_LIMIT = 20
CONTACT_LIMIT = 12
# "Recent" public activities: those that ended within this many days.
RECENT_DAYS = 365


def paragraphs(text):
    """Plain text split into paragraphs at blank lines; single newlines kept as spaces."""
    blocks = (text or "").replace("\r\n", "\n").split("\n\n")
    return [" ".join(block.split()) for block in blocks if block.strip()]


def _public_activities():
    """(current and upcoming, recent) public activities, never cancelled or deleted."""
    today = date.today()
    ends = sa.func.coalesce(Activity.end_date, Activity.start_date)
    # An ongoing activity without an end date (a course open all year) is current, not past.
    current = sa.or_(
        ends >= today,
        sa.and_(Activity.status == ActivityStatus.ONGOING, Activity.end_date.is_(None)),
    )
    public = sa.select(Activity).where(
        Activity.is_public.is_(True),
        Activity.deleted_at.is_(None),
        Activity.status != ActivityStatus.CANCELLED,
    )
    upcoming = db.session.scalars(
        public.where(current)
        .order_by(Activity.start_date, Activity.start_time, Activity.id)
        .limit(UPCOMING_LIMIT)
    ).all()
    recent = db.session.scalars(
        public.where(~current, ends >= today - timedelta(days=RECENT_DAYS))
        .order_by(Activity.start_date.desc(), Activity.id.desc())
        .limit(RECENT_LIMIT)
    ).all()
    return upcoming, recent


def _public_documents():
    """Public documents whose organisation, agreement or activity is not deleted."""
    owner_organisation = aliased(Organisation)
    owner_agreement = aliased(Agreement)
    owner_activity = aliased(Activity)
    return db.session.scalars(
        sa.select(Document)
        .outerjoin(owner_organisation, Document.organisation_id == owner_organisation.id)
        .outerjoin(owner_agreement, Document.agreement_id == owner_agreement.id)
        .outerjoin(owner_activity, Document.activity_id == owner_activity.id)
        .where(
            Document.is_public.is_(True),
            Document.deleted_at.is_(None),
            owner_organisation.deleted_at.is_(None),
            owner_agreement.deleted_at.is_(None),
            owner_activity.deleted_at.is_(None),
        )
        .order_by(Document.title, Document.id)
        .limit(DOCUMENT_LIMIT)
    ).all()


def _public_contacts():
    return db.session.scalars(
        sa.select(User)
        .where(User.active.is_(True), User.is_public_contact.is_(True))
        .order_by(User.name, User.id)
        .limit(CONTACT_LIMIT)
        .options(lazyload("*"))
    ).all()


@bp.route("/")
@public_route
def index():
    """Public: the office's introduction, public activities and documents, contact people."""
    language = str(get_locale() or "sv")
    other = "en" if language == "sv" else "sv"
    texts = settings.get_many(["office_name", f"intro_{language}", f"intro_{other}"])
    upcoming, recent = _public_activities()
    return render_template(
        "public/index.html",
        office_name=texts["office_name"],
        introduction=paragraphs(texts[f"intro_{language}"] or texts[f"intro_{other}"]),
        upcoming=upcoming,
        recent=recent,
        documents=_public_documents(),
        contacts=_public_contacts(),
        language=language,
        paragraphs=paragraphs,
    )
