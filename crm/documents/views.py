"""Document pages: the library of every document a user may read; upload to an activity,
organisation or agreement; details; download (public documents by anyone); edit the title,
description and visibility; replace the file, keeping earlier versions; delete."""

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from crm.auth.decorators import role_required
from crm.auth.models import Role
from crm.core import audit, listing, records
from crm.core.database import commit_or_undo
from crm.core.deletion import confirm_delete
from crm.core.security import public_route
from crm.documents import bp, services
from crm.documents.forms import DocumentEditForm, DocumentReplaceForm, DocumentUploadForm
from crm.documents.models import Document
from crm.extensions import db, login_manager


@bp.app_template_filter("document_type")
def document_type_filter(content_type):
    return services.type_label(content_type)


def _owner_from_request():
    """The one owner named in the query string, or 404."""
    named = [kind for column, kind in services.OWNER_KINDS.items() if column in request.args]
    if len(named) != 1:
        abort(404)
    kind = named[0]
    owner = records.get_visible_or_404(kind.model, records.parse_id(request.args.get(kind.column)))
    if not services.may_read_owner(owner, current_user):
        abort(404)
    return owner, kind.column


def owner_url(owner):
    """The page of the record the document belongs to."""
    kind = services.owner_kind(owner)
    return url_for(kind.endpoint, **{kind.column: owner.id})


def owner_name(owner):
    return (
        getattr(owner, "title", None)
        or getattr(owner, "name", None)
        or getattr(owner, "subject", None)
        or ""
    )


def _document_or_404(document_id, *, may=None):
    """The document and its owner, or 404 unless the user may read them; with `may`
    (services.can_edit, can_replace, can_delete), 403 unless the user may also do that."""
    document = records.get_visible_or_404(Document, document_id)
    owner = services.document_owner(document)
    if not services.may_read_owner(owner, current_user):
        abort(404)
    if may is not None and not may(document, current_user):
        abort(403)
    return document, owner


def _library_filters():
    """The library's filters from the query string; anything unknown is ignored."""
    args = request.args
    owner = args.get("kind", "")
    content_type = args.get("type", "")
    visibility = args.get("public", "")
    return services.LibraryFilters(
        owner=owner if owner in dict(services.library_kinds()) else None,
        content_type=content_type if content_type in services.DOCUMENT_TYPES else None,
        is_public={"yes": True, "no": False}.get(visibility),
        text=args.get("q", "").strip()[:200],
    )


@bp.route("/")
def index():
    """Every document the user may read, newest first, filtered and paginated."""
    filters = _library_filters()
    page = listing.paginate(services.library_select(current_user, filters))
    return render_template(
        "documents/index.html",
        page=page,
        filters=filters,
        filtered=any(
            (filters.owner, filters.content_type, filters.is_public is not None, filters.text)
        ),
        kinds=[{"value": column, "label": label} for column, label in services.library_kinds()],
        types=[
            {"value": content_type, "label": label}
            for content_type, (label, _extensions) in services.DOCUMENT_TYPES.items()
        ],
        owner_of=services.document_owner,
        owner_url=owner_url,
        owner_name=owner_name,
    )


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.MEMBER)
def upload():
    owner, key = _owner_from_request()
    form = DocumentUploadForm()
    if form.validate_on_submit():
        try:
            document = services.store_document(
                form.file.data,
                title=form.title.data,
                description=form.description.data,
                is_public=form.is_public.data,
                owner=owner,
                actor=current_user,
            )
        except services.DocumentError as error:
            db.session.rollback()
            form.file.errors.append(str(error))
        else:
            stored_name = document.stored_name
            commit_or_undo(lambda: services.discard_file(stored_name))
            flash(_("Document %(title)s uploaded.", title=document.title), "success")
            return redirect(owner_url(owner))
    return render_template(
        "documents/upload.html",
        form=form,
        owner=owner,
        owner_name=owner_name(owner),
        owner_link=owner_url(owner),
        query=f"{key}={owner.id}",
    )


@bp.route("/<int:document_id>")
def detail(document_id):
    document, owner = _document_or_404(document_id)
    return render_template(
        "documents/detail.html",
        document=document,
        owner=owner,
        owner_name=owner_name(owner),
        owner_link=owner_url(owner),
        may_delete=services.can_delete(document, current_user),
        may_replace=services.can_replace(document, current_user),
        may_edit=services.can_edit(document, current_user),
        versions=services.earlier_versions(document),
        history=audit.history("documents", document.id),
    )


@bp.route("/<int:document_id>/edit", methods=["GET", "POST"])
@role_required(Role.MEMBER)
def edit(document_id):
    """Change a document's title, description and whether it is public."""
    document, owner = _document_or_404(document_id, may=services.can_edit)
    form = DocumentEditForm(obj=document)
    if form.validate_on_submit():
        services.update_details(
            document,
            title=form.title.data,
            description=form.description.data,
            is_public=form.is_public.data,
            actor=current_user,
        )
        db.session.commit()
        flash(_("Document %(title)s saved.", title=document.title), "success")
        return redirect(url_for("documents.detail", document_id=document.id))
    return render_template(
        "documents/edit.html",
        form=form,
        document=document,
        owner_name=owner_name(owner),
        owner_link=owner_url(owner),
    )


def send_stored_file(stored):
    """The file of a Document or DocumentVersion as an attachment, or 404 when the store has
    no such file."""
    opened = services.open_file(stored)
    if opened is None:
        abort(404)
    stream, size = opened
    response = send_file(
        stream,
        mimetype=stored.content_type,
        as_attachment=True,
        download_name=stored.original_filename,
        # The bytes' own hash: the same file has the same tag on every app server.
        etag=stored.sha256,
        max_age=0,
        # Below, once the size is known (send_file knows it only for a path).
        conditional=False,
    )
    response.content_length = size
    try:
        response.make_conditional(request, accept_ranges=True, complete_length=size)
    except RequestedRangeNotSatisfiable:
        stream.close()
        raise
    # Even if a browser rendered the file, it would run in an origin-less sandbox.
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if current_user.is_authenticated:
        # What staff download may be private: never kept by a shared cache or on the disk.
        response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<int:document_id>/download")
@public_route
def download(document_id):
    """Staff download what they may read; anyone downloads a public document."""
    if not current_user.is_authenticated:
        document = (
            db.session.get(Document, document_id) if records.is_valid_id(document_id) else None
        )
        if not services.may_download_signed_out(document):
            # Like every other page: sign in first (saying nothing about whether it exists).
            return login_manager.unauthorized()
    else:
        document, _owner = _document_or_404(document_id)
    return send_stored_file(document)


@bp.route("/<int:document_id>/versions/<int:version>/download")
def download_version(document_id, version):
    """An earlier file of a document: staff only, whatever the document's visibility."""
    document, _owner = _document_or_404(document_id)
    earlier = services.get_version(document, version) if records.is_valid_id(version) else None
    if earlier is None:
        abort(404)
    return send_stored_file(earlier)


@bp.route("/<int:document_id>/replace", methods=["GET", "POST"])
@role_required(Role.MEMBER)
def replace(document_id):
    document, owner = _document_or_404(document_id, may=services.can_replace)
    form = DocumentReplaceForm()
    if form.validate_on_submit():
        try:
            services.replace_file(document, form.file.data, actor=current_user)
        except services.DocumentError as error:
            db.session.rollback()
            form.file.errors.append(str(error))
        else:
            stored_name = document.stored_name
            commit_or_undo(lambda: services.discard_file(stored_name))
            flash(
                _(
                    "New file for %(title)s uploaded (version %(version)s).",
                    title=document.title,
                    version=document.version,
                ),
                "success",
            )
            return redirect(url_for("documents.detail", document_id=document.id))
    return render_template(
        "documents/replace.html",
        form=form,
        document=document,
        owner_name=owner_name(owner),
    )


@bp.route("/<int:document_id>/delete", methods=["GET", "POST"])
@role_required(Role.MEMBER)
def delete(document_id):
    document, owner = _document_or_404(document_id, may=services.can_delete)
    return confirm_delete(
        document,
        template="documents/delete.html",
        delete=services.delete_document,
        document=document,
        owner_name=owner_name(owner),
        owner_link=owner_url(owner),
        done_message=_("Document %(title)s deleted.", title=document.title),
        done_url=owner_url(owner),
    )
