import re
from datetime import date

import sqlalchemy as sa
from flask import abort, current_app, g, render_template, request, session, url_for
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased, lazyload

from crm.activities.models import Activity
from crm.agreements.models import Agreement
from crm.auth.models import User
from crm.core.images import EXTENSIONS, StoredImage, image_url
from crm.core.security import public_route
from crm.documents.models import Document
from crm.extensions import db
from crm.organisations.models import Organisation
from crm.public import bp, caching, services
from crm.settings import services as settings

DOCUMENT_LIMIT = 20
CONTACT_LIMIT = 12


def paragraphs(text):
    """Plain text split into paragraphs at blank lines; single newlines kept as spaces."""
    blocks = (text or "").replace("\r\n", "\n").split("\n\n")
    return [" ".join(block.split()) for block in blocks if block.strip()]


# Made once: an alias is a new mapped entity, costly to make on every request.
_DOCUMENT_OWNERS = (aliased(Organisation), aliased(Agreement), aliased(Activity))


def _public_documents():
    """Public documents whose organisation, agreement or activity is not deleted."""
    owner_organisation, owner_agreement, owner_activity = _DOCUMENT_OWNERS
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
    """[(user, photo URL or None)] of the public contact people, in one query: the photo's
    digest comes with the user, its bytes stay in the database."""
    rows = db.session.execute(
        sa.select(User, StoredImage.id, StoredImage.digest, StoredImage.content_type)
        .outerjoin(StoredImage, StoredImage.id == User.photo_id)
        .where(User.active.is_(True), User.is_public_contact.is_(True))
        .order_by(User.name, User.id)
        .limit(CONTACT_LIMIT)
        .options(lazyload("*"))
    ).all()
    return [
        (user, image_url(image_id, digest, content_type) if image_id else None)
        for user, image_id, digest, content_type in rows
    ]


@bp.route("/")
@public_route
def index():
    """Public: the office's introduction, public activities and documents, contact people."""
    language = str(get_locale() or "sv")
    other = "en" if language == "sv" else "sv"
    texts = settings.get_many([f"intro_{language}", f"intro_{other}"])
    upcoming, recent = services.page_activities(date.today())
    return render_template(
        "public/index.html",
        office_name=office().name,
        introduction=paragraphs(texts[f"intro_{language}"] or texts[f"intro_{other}"]),
        upcoming=upcoming,
        recent=recent,
        documents=_public_documents(),
        contacts=_public_contacts(),
        language=language,
        paragraphs=paragraphs,
    )


@bp.before_app_request
def _answer_revalidation():
    """A visitor's If-None-Match for the public page, answered 304 when their copy is current:
    before the page cache and the rendering, as this blueprint's app-wide hooks are
    registered ahead of the app's own (crm.create_app registers the blueprints first)."""
    if request.endpoint != "public.index" or not caching.shared_view():
        return None
    etag = caching.page_etag()
    if etag is None:
        return None
    g.public_page_etag = etag
    if request.if_none_match.contains_weak(etag):
        return caching.not_modified(etag)
    return None


@bp.after_request
def _cache_public_page(response):
    # Also for a page served from the page cache. Not when the session changed: its cookie
    # is this visitor's own.
    etag = g.pop("public_page_etag", None)
    if etag is not None and response.status_code == 200 and not session.modified:
        caching.cacheable(response, etag)
    return response


# ---------------------------------------------------------------- the office on every page


@bp.app_template_global()
def office():
    """The office as every page's header shows it, in the page's language: .name,
    .logo_url, .theme_url (the accent colour's style sheet, or None). Read once a request.

    Drawn on error pages too, the database's among them: when it cannot be read, the page
    shows the built-in name rather than failing a second time.
    """
    if "crm_office" not in g:
        language = str(get_locale() or current_app.config["LANGUAGES"][0])
        try:
            branding = settings.branding(language)
        except SQLAlchemyError:
            _rollback_quietly()
            branding = settings.branding_without_database(language)
        colour = branding.accent_colour
        branding.theme_url = (
            url_for("public.theme", colour=colour[1:])
            if isinstance(colour, str) and _SETTING_COLOUR.match(colour)
            else None
        )
        g.crm_office = branding
    return g.crm_office


def _rollback_quietly():
    try:
        db.session.rollback()
    except SQLAlchemyError:
        pass


# The accent colour as stored (#rrggbb, lower case) and as its style sheet's address has it.
_SETTING_COLOUR = re.compile(r"^#[0-9a-f]{6}$")
_URL_COLOUR = re.compile(r"^[0-9a-f]{6}$")

# Immutable at its address: the colour, or the image's digest, is part of it.
LONG_CACHE = "public, max-age=31536000, immutable"


@bp.route("/theme/<colour>.css")
@public_route
def theme(colour):
    """Public: the accent colour as a style sheet (the CSP allows no inline style). The
    colour is the address, so the sheet is the same for everyone and kept for long."""
    if not _URL_COLOUR.match(colour):
        abort(404)
    accent = f"#{colour}"
    css = (
        ":root {\n"
        f"  --accent: {accent};\n"
        f"  --accent-dark: {_mix(accent, '#000000', 0.3)};\n"
        f"  --accent-bg: {_mix(accent, '#ffffff', 0.88)};\n"
        "}\n"
    )
    response = current_app.response_class(css, mimetype="text/css")
    response.headers["Cache-Control"] = LONG_CACHE
    return response


def _mix(colour, other, amount):
    """`colour` moved `amount` (0–1) of the way towards `other`, as #rrggbb."""
    channels = [
        round(int(colour[i : i + 2], 16) * (1 - amount) + int(other[i : i + 2], 16) * amount)
        for i in (1, 3, 5)
    ]
    return "#" + "".join(f"{value:02x}" for value in channels)


# ---------------------------------------------------------------- stored images


@bp.route("/images/<int:image_id>-<digest>.<ext>")
@public_route
def image(image_id, digest, ext):
    """Public, with conditions: the logo to everyone; a photo to everyone while its user is
    an active public contact person, else to signed-in staff only; 404 for anything else
    (so nobody learns which photos exist)."""
    stored = db.session.get(StoredImage, image_id)
    if stored is None or stored.digest != digest or EXTENSIONS.get(stored.content_type) != ext:
        abort(404)
    audience = _audience(stored)
    if audience is None or (audience == "staff" and not current_user.is_authenticated):
        abort(404)
    response = current_app.response_class(stored.data, mimetype=stored.content_type)
    if stored.purpose == "logo":
        response.headers["Cache-Control"] = LONG_CACHE
    elif audience == "public":
        # A day, not a year: a person who stops being a contact person (or leaves) should
        # not stay in shared caches for long. The ETag makes asking again cheap.
        response.headers["Cache-Control"] = "public, max-age=86400"
    else:
        # For staff only, like the pages it is shown on: kept in no cache at all.
        response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = "inline"
    response.set_etag(stored.digest)
    return response.make_conditional(request)


def _audience(stored):
    """Who may see a stored image: "public", "staff", or None (nobody: it is not in use)."""
    if stored.purpose == "logo":
        return "public" if settings.get("logo_image_id") == stored.id else None
    if stored.purpose == "photo":
        owner = db.session.scalar(sa.select(User).where(User.photo_id == stored.id).limit(1))
        if owner is None:
            return None
        return "public" if owner.active and owner.is_public_contact else "staff"
    return None
