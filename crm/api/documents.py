"""/api/v1/documents: documents' details, their files, uploads, through the document pages'
forms, checks and services.

What a token's user may read is what the documents library shows them: a document of a record
they may not read (an e-mail filed on someone else's enquiry, say) answers 404. Files are
checked by content, kept and served by the document store (crm/documents/storage.py), and sent
as attachments, exactly as the pages do.
"""

from functools import wraps

import marshmallow as ma
from flask import abort, url_for
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict, FileStorage, MultiDict
from werkzeug.exceptions import NotFound

from crm.api.forms import browser_formdata, set_field, validated_form
from crm.api.pagination import list_page, sort_argument
from crm.api.problems import Problem
from crm.api.schemas import ID, ListArgs, RecordSchema, StrictBoolean, list_schema, location_of
from crm.auth.decorators import role_required
from crm.auth.models import Role
from crm.core import records
from crm.core.database import commit_or_undo
from crm.documents import services
from crm.documents.forms import DocumentEditForm, DocumentReplaceForm, DocumentUploadForm
from crm.documents.models import DOCUMENT_OWNER_COLUMNS, Document
from crm.documents.views import send_stored_file
from crm.extensions import db


class _MultipartParser(FlaskParser):
    """webargs' parser with a "multipart" location: the text fields and the files of one
    multipart/form-data body together. webargs reads them as two locations ("form", "files"),
    which flask-smorest would document as two request bodies, of which OpenAPI allows one."""

    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}

    def load_multipart(self, req, schema):
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


class _Blueprint(Blueprint):
    ARGUMENTS_PARSER = _MultipartParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": "multipart/form-data",
    }


bp = _Blueprint(
    "api_documents",
    __name__,
    url_prefix="/api/v1/documents",
    description="Documents: files attached to organisations, agreements and activities.",
)

SORTS = {
    "created": [Document.created_at, Document.id],
    "updated": [Document.updated_at, Document.id],
    "title": [Document.title, Document.id],
}
# The library's order: newest first.
DEFAULT_SORT = "-created"
# What a document can be uploaded to (an e-mail's attachments come with the e-mail).
UPLOAD_OWNERS = ("organisation_id", "agreement_id", "activity_id")
ONE_OWNER = _l(
    "Say what the document belongs to: one of organisation_id, agreement_id or activity_id."
)
NO_SUCH_OWNER = _l("There is no record with this id.")
ACCEPTED = (
    "Accepted: PDF, Word, Excel, PowerPoint (.docx, .xlsx, .pptx), PNG, JPEG, GIF, text and CSV, "
    "recognised by their content, which must agree with the file name's extension."
)


def _id_field(description, **kwargs):
    return ma.fields.Integer(
        validate=ma.validate.Range(1, records.MAX_ID),
        metadata={"description": description},
        **kwargs,
    )


class DocumentSchema(RecordSchema):
    title = ma.fields.String(required=True, validate=ma.validate.Length(1, 300))
    description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=5000))
    is_public = StrictBoolean(
        metadata={"description": "May be shown on the public collaboration page."}
    )
    filename = ma.fields.String(attribute="original_filename", dump_only=True)
    content_type = ma.fields.String(
        dump_only=True, metadata={"description": "Recognised from the file's content."}
    )
    size_bytes = ma.fields.Integer(dump_only=True)
    sha256 = ma.fields.String(dump_only=True)
    version = ma.fields.Integer(
        dump_only=True, metadata={"description": "1, and one more each time the file is replaced."}
    )
    organisation_id = ma.fields.Integer(dump_only=True, allow_none=True)
    agreement_id = ma.fields.Integer(dump_only=True, allow_none=True)
    activity_id = ma.fields.Integer(dump_only=True, allow_none=True)
    email_id = ma.fields.Integer(dump_only=True, allow_none=True)
    created_by_id = ma.fields.Integer(dump_only=True, allow_none=True)
    file_url = ma.fields.Method(
        "_file_url", dump_only=True, metadata={"type": "string", "description": "The file."}
    )

    def _file_url(self, document):
        return url_for("api_documents.DocumentFile", document_id=document.id)


class DocumentPatchSchema(DocumentSchema):
    """The details a person may change on the document's page; those left out keep theirs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class DocumentUploadSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": f"The file. {ACCEPTED}"})
    title = ma.fields.String(
        validate=ma.validate.Length(max=300),
        metadata={"description": "The file's name without its extension when left out."},
    )
    description = ma.fields.String(validate=ma.validate.Length(max=5000))
    is_public = ma.fields.Boolean(
        metadata={"description": "May be shown on the public collaboration page."}
    )
    organisation_id = _id_field("The organisation it belongs to (give one of the three).")
    agreement_id = _id_field("The agreement it belongs to (give one of the three).")
    activity_id = _id_field("The activity it belongs to (give one of the three).")


class DocumentFileSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": f"The new file. {ACCEPTED}"})


class DocumentListArgs(ListArgs):
    q = ma.fields.String(
        validate=ma.validate.Length(max=200),
        metadata={"description": "Part of the title or the file name."},
    )
    kind = ma.fields.String(
        validate=ma.validate.OneOf(DOCUMENT_OWNER_COLUMNS),
        metadata={"description": "The kind of record they belong to."},
    )
    type = ma.fields.String(
        validate=ma.validate.OneOf(list(services.DOCUMENT_TYPES)),
        metadata={"description": "A content type."},
    )
    public = ma.fields.Boolean()
    organisation_id = _id_field("The documents of this organisation.")
    agreement_id = _id_field("The documents of this agreement.")
    activity_id = _id_field("The documents of this activity.")
    sort = sort_argument(SORTS, DEFAULT_SORT)


DocumentList = list_schema(DocumentSchema, "DocumentList")


def _document_or_404(document_id, *, may=None):
    """The document, or 404 unless the user may read it and the record it belongs to; with
    `may` (services.can_edit, can_replace, can_delete), 403 unless the user may also do that.
    As the document pages' own check."""
    document = records.get_visible_or_404(Document, document_id)
    if not services.may_read_owner(services.document_owner(document), current_user):
        abort(404)
    if may is not None and not may(document, current_user):
        abort(403)
    return document


def _authorised_first(may):
    """Check who may change the document before its body is read (put above
    bp.arguments): one who may not hears 403 or 404 whatever they sent, as on the pages."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, document_id, **kwargs):
            _document_or_404(document_id, may=may)
            return view(*args, document_id=document_id, **kwargs)

        return wrapped

    return decorator


def _upload_owner(data):
    """The record named by the upload's one owner field, if the user may read it (422 else)."""
    named = [column for column in UPLOAD_OWNERS if data.get(column) is not None]
    if len(named) != 1:
        fields = named or [""]
        raise Problem(422, errors=[{"field": name, "detail": str(ONE_OWNER)} for name in fields])
    column = named[0]
    kind = services.OWNER_KINDS[column]
    try:
        owner = records.get_visible_or_404(kind.model, data[column])
    except NotFound:
        owner = None
    if owner is None or not services.may_read_owner(owner, current_user):
        raise Problem(422, errors=[{"field": column, "detail": str(NO_SUCH_OWNER)}])
    return owner


def _upload_formdata(data, field_names):
    """What the page's upload form posts: the file as the file field, the rest as text."""
    formdata = MultiDict()
    for name in field_names:
        value = data.get(name)
        if name == "file":
            if isinstance(value, FileStorage):
                formdata.add("file", value)
        elif value is not None:
            set_field(formdata, name, value)
    return formdata


def _refused_file(error):
    db.session.rollback()
    raise Problem(422, errors=[{"field": "file", "detail": str(error)}]) from error


def _commit_or_discard(stored_name):
    """Commit; when that fails, the file just written goes too (as on the upload page)."""
    commit_or_undo(lambda: services.discard_file(stored_name))


def _file_responses(view):
    """Document the download's answer: the file, in one of the types uploads may have."""
    binary = {"type": "string", "format": "binary"}
    # flask-smorest lists the outermost decorator's first: reversed, PDF comes first.
    for content_type in reversed(services.DOCUMENT_TYPES):
        view = bp.alt_response(
            200,
            schema=binary,
            content_type=content_type,
            description="The file, as an attachment.",
            success=True,
        )(view)
    return view


@bp.route("/")
class Documents(MethodView):
    @bp.arguments(DocumentListArgs, location="query", unknown=ma.RAISE)
    @bp.response(200, DocumentList)
    def get(self, args):
        """List the documents the user may read, with the document library's filters."""
        filters = services.LibraryFilters(
            owner=args.get("kind"),
            content_type=args.get("type"),
            is_public=args.get("public"),
            text=(args.get("q") or "").strip(),
        )
        # The library's own order goes: the list's sort replaces it.
        select = services.library_select(current_user, filters).order_by(None)
        for column in UPLOAD_OWNERS:
            if args.get(column):
                select = select.where(getattr(Document, column) == args[column])
        return list_page(
            select, SORTS, args, default_sort=DEFAULT_SORT, updated_column=Document.updated_at
        )

    @role_required(Role.MEMBER)
    @bp.arguments(DocumentUploadSchema, location="multipart")
    @bp.response(201, DocumentSchema)
    def post(self, data):
        """Upload a document to an organisation, agreement or activity (members, coordinators,
        admins), as multipart/form-data; checked as the upload page checks it."""
        owner = _upload_owner(data)
        form = validated_form(
            DocumentUploadForm,
            _upload_formdata(data, ("file", "title", "description", "is_public")),
        )
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
            _refused_file(error)
        _commit_or_discard(document.stored_name)
        return document, 201, location_of(document)


@bp.route(f"/<{ID}:document_id>")
class DocumentItem(MethodView):
    @bp.response(200, DocumentSchema)
    def get(self, document_id):
        """One document's details."""
        return _document_or_404(document_id)

    @role_required(Role.MEMBER)
    @_authorised_first(services.can_edit)
    @bp.arguments(DocumentPatchSchema)
    @bp.response(200, DocumentSchema)
    def patch(self, data, document_id):
        """Change the title, description or visibility (coordinators, and the member who
        uploaded it); the others keep their values."""
        document = _document_or_404(document_id, may=services.can_edit)
        formdata = browser_formdata(
            DocumentEditForm(obj=document, formdata=None, meta={"csrf": False})
        )
        for name, value in data.items():
            set_field(formdata, name, value)
        form = validated_form(DocumentEditForm, formdata)
        services.update_details(
            document,
            title=form.title.data,
            description=form.description.data,
            is_public=form.is_public.data,
            actor=current_user,
        )
        db.session.commit()
        return document

    @role_required(Role.MEMBER)
    @bp.response(204)
    def delete(self, document_id):
        """Delete a document (coordinators, and the member who uploaded it)."""
        document = _document_or_404(document_id, may=services.can_delete)
        services.delete_document(document, actor=current_user)
        db.session.commit()
        return None


@bp.route(f"/<{ID}:document_id>/file")
class DocumentFile(MethodView):
    @_file_responses
    def get(self, document_id):
        """Download the file, as an attachment."""
        return send_stored_file(_document_or_404(document_id))

    @role_required(Role.MEMBER)
    @_authorised_first(services.can_replace)
    @bp.arguments(DocumentFileSchema, location="multipart")
    @bp.response(200, DocumentSchema)
    def put(self, data, document_id):
        """Replace the file (coordinators, and the member who uploaded it), as
        multipart/form-data; the current file is kept as an earlier version."""
        document = _document_or_404(document_id, may=services.can_replace)
        form = validated_form(DocumentReplaceForm, _upload_formdata(data, ("file",)))
        try:
            services.replace_file(document, form.file.data, actor=current_user)
        except services.DocumentError as error:
            _refused_file(error)
        _commit_or_discard(document.stored_name)
        return document
