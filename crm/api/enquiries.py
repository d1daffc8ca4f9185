"""/api/v1/enquiries: the enquiries a token's user may read, with comments and the e-mail
conversation, and the inbox's actions: assigning, changing the status, commenting, replying.

Enquiries are received through the contact form and the office mailbox, never made by staff,
and are erased only through a privacy request: as on the pages, the API neither creates nor
deletes them.
"""

import marshmallow as ma
from flask import abort
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from crm.api.auth import record_first
from crm.api.forms import saved, validated_form
from crm.api.pagination import SortKey, list_page, sort_argument
from crm.api.problems import Problem
from crm.api.schemas import ID, ListArgs, RecordSchema, list_schema
from crm.auth.decorators import role_required
from crm.auth.models import Role, User
from crm.core import records
from crm.core.topics import Topic
from crm.enquiries import services
from crm.enquiries.forms import CommentForm, ReplyForm
from crm.enquiries.models import ClosedReason, Enquiry, EnquiryComment, EnquirySource, EnquiryStatus
from crm.extensions import db
from crm.mail.models import EmailDirection

bp = Blueprint(
    "api_enquiries",
    __name__,
    url_prefix="/api/v1/enquiries",
    description="Enquiries: what companies ask through the form and by e-mail.",
)

SORTS = {
    # The inbox's order: unassigned first, then the oldest.
    "inbox": [
        SortKey(
            Enquiry.assignee_id.is_not(None),
            lambda enquiry: enquiry.assignee_id is not None,
            bool,
        ),
        Enquiry.received_at,
        Enquiry.id,
    ],
    "received": [Enquiry.received_at, Enquiry.id],
    "updated": [Enquiry.updated_at, Enquiry.id],
}
STATUS_FILTERS = [services.OPEN, "all", *[status.value for status in EnquiryStatus]]


class CommentSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    author_id = ma.fields.Integer(dump_only=True, allow_none=True)
    author_name = ma.fields.String(attribute="author.name", dump_only=True, allow_none=True)
    body = ma.fields.String(
        required=True, validate=ma.validate.Length(1, services.MAX_COMMENT_LENGTH)
    )
    created_at = ma.fields.AwareDateTime(dump_only=True)


class EmailSchema(ma.Schema):
    id = ma.fields.Integer()
    direction = ma.fields.Enum(EmailDirection, by_value=True)
    subject = ma.fields.String()
    from_address = ma.fields.String()
    from_name = ma.fields.String()
    to_addresses = ma.fields.String()
    body_text = ma.fields.String(metadata={"description": "Plain text; HTML is never given."})
    sent_at = ma.fields.AwareDateTime(allow_none=True)
    received_at = ma.fields.AwareDateTime()


class EnquirySchema(RecordSchema):
    reference = ma.fields.String(allow_none=True)
    status = ma.fields.Enum(EnquiryStatus, by_value=True)
    closed_reason = ma.fields.Enum(ClosedReason, by_value=True, allow_none=True)
    topic = ma.fields.Enum(Topic, by_value=True)
    source = ma.fields.Enum(EnquirySource, by_value=True)
    language = ma.fields.String()
    name = ma.fields.String()
    email = ma.fields.String()
    phone = ma.fields.String(allow_none=True)
    organisation_name = ma.fields.String(
        allow_none=True, metadata={"description": "As the sender gave it."}
    )
    organisation_type = ma.fields.String(allow_none=True)
    message = ma.fields.String()
    assignee_id = ma.fields.Integer(allow_none=True)
    organisation_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "The organisation it is linked to."}
    )
    contact_id = ma.fields.Integer(allow_none=True)
    received_at = ma.fields.AwareDateTime()
    assigned_at = ma.fields.AwareDateTime(allow_none=True)
    first_response_at = ma.fields.AwareDateTime(allow_none=True)
    closed_at = ma.fields.AwareDateTime(allow_none=True)
    consent_given_at = ma.fields.AwareDateTime(allow_none=True)
    legal_hold = ma.fields.Boolean()
    anonymised_at = ma.fields.AwareDateTime(allow_none=True)


class ConversationField(ma.fields.List):
    """The enquiry's filed e-mails, read when the enquiry is shown (services.conversation)."""

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return services.conversation(obj)


class EnquiryDetailSchema(EnquirySchema):
    comments = ma.fields.List(ma.fields.Nested(CommentSchema))
    conversation = ConversationField(ma.fields.Nested(EmailSchema), dump_only=True)


class EnquiryChangeSchema(ma.Schema):
    """What may be changed: the assignee (coordinators), the status (with a reason to close)."""

    assignee_id = ma.fields.Integer(validate=ma.validate.Range(1, records.MAX_ID))
    status = ma.fields.Enum(EnquiryStatus, by_value=True)
    closed_reason = ma.fields.Enum(ClosedReason, by_value=True, allow_none=True)


class ReplySchema(ma.Schema):
    subject = ma.fields.String(required=True, validate=ma.validate.Length(1, 250))
    body = ma.fields.String(
        required=True, validate=ma.validate.Length(1, services.MAX_REPLY_LENGTH)
    )


def _user_id_or_none(value):
    # The same rule as the inbox page's: ten digits past the largest id are no id
    # (PostgreSQL refuses to compare them with its 32-bit ids).
    if value != "none" and records.parse_id(value) is None:
        raise ma.ValidationError(_("Give a user's id, or none."))


class EnquiryListArgs(ListArgs):
    status = ma.fields.String(
        load_default=services.OPEN,
        validate=ma.validate.OneOf(STATUS_FILTERS),
        metadata={"description": "open (the default), all, or one status."},
    )
    topic = ma.fields.Enum(Topic, by_value=True)
    assignee = ma.fields.String(
        validate=_user_id_or_none,
        metadata={
            "description": "A user's id, or none for the unassigned (coordinators).",
            "pattern": "^(none|[1-9][0-9]{0,9})$",
        },
    )
    older_than_days = ma.fields.Integer(validate=ma.validate.Range(1, 3650))
    q = ma.fields.String(validate=ma.validate.Length(max=200))
    sort = sort_argument(SORTS, "inbox")


EnquiryList = list_schema(EnquirySchema, "EnquiryList")


def _enquiry_or_404(enquiry_id):
    enquiry = db.session.get(
        Enquiry,
        enquiry_id,
        options=[selectinload(Enquiry.comments).selectinload(EnquiryComment.author)],
    )
    # The inbox's own rule: admins and coordinators read every enquiry, members their own.
    if not services.can_read(enquiry, current_user):
        abort(404)
    return enquiry


@bp.route("/")
class Enquiries(MethodView):
    @role_required(Role.MEMBER)
    @bp.arguments(EnquiryListArgs, location="query", unknown=ma.RAISE)
    @bp.response(200, EnquiryList)
    def get(self, args):
        """List the enquiries you may read (members: those assigned to them), with the
        inbox's filters; in the inbox's order unless sorted otherwise."""
        assignee = None
        if args.get("assignee"):
            if not current_user.has_role(Role.COORDINATOR):
                raise Problem(403)
            assignee = "none" if args["assignee"] == "none" else int(args["assignee"])
        status = args["status"]
        filters = services.EnquiryFilters(
            status=None if status == "all" else status,
            topic=args["topic"].value if args.get("topic") else None,
            assignee=assignee,
            older_than_days=args.get("older_than_days"),
            query=args.get("q", ""),
        )
        return list_page(
            services.enquiry_select(filters, user=current_user),
            SORTS,
            args,
            default_sort="inbox",
            updated_column=Enquiry.updated_at,
        )


@bp.route(f"/<{ID}:enquiry_id>")
class EnquiryItem(MethodView):
    @role_required(Role.MEMBER)
    @bp.response(200, EnquiryDetailSchema)
    def get(self, enquiry_id):
        """One enquiry, with its comments and its e-mail conversation."""
        return _enquiry_or_404(enquiry_id)

    @role_required(Role.MEMBER)
    @record_first(_enquiry_or_404)
    @bp.arguments(EnquiryChangeSchema)
    @bp.response(200, EnquiryDetailSchema)
    def patch(self, data, enquiry_id):
        """Assign the enquiry (coordinators; the assignee is told by e-mail) and/or change its
        status (closing needs closed_reason), as on its page."""
        enquiry = _enquiry_or_404(enquiry_id)
        if "assignee_id" in data:
            if not services.may_assign(current_user):
                raise Problem(403)
            assignee = db.session.get(User, data["assignee_id"])
            saved(lambda: services.assign_enquiry(enquiry, assignee, actor=current_user))
        if "status" in data:
            # change_status holds the page's rules and says why a move is refused
            # (converted, only a coordinator reopens, closing needs a reason …).
            saved(
                lambda: services.change_status(
                    enquiry,
                    data["status"],
                    reason=data.get("closed_reason"),
                    actor=current_user,
                )
            )
        db.session.commit()
        return enquiry


@bp.route(f"/<{ID}:enquiry_id>/comments")
class EnquiryComments(MethodView):
    @role_required(Role.MEMBER)
    @record_first(_enquiry_or_404)
    @bp.arguments(CommentSchema)
    @bp.response(201, CommentSchema)
    def post(self, data, enquiry_id):
        """Comment on the enquiry (seen by staff only)."""
        enquiry = _enquiry_or_404(enquiry_id)
        form = validated_form(
            CommentForm,
            MultiDict({"body": data["body"]}),
            # The page's prefix ("comment-") keeps its forms apart; the API has one a request.
            prefix="",
        )
        comment = saved(lambda: services.add_comment(enquiry, form.body.data, actor=current_user))
        db.session.commit()
        return comment, 201


@bp.route(f"/<{ID}:enquiry_id>/replies")
class EnquiryReplies(MethodView):
    @role_required(Role.MEMBER)
    @record_first(_enquiry_or_404)
    @bp.arguments(ReplySchema)
    @bp.response(202, EnquiryDetailSchema)
    def post(self, data, enquiry_id):
        """Reply to the enquirer by e-mail (the assignee, coordinators and admins): queued in
        the outbox and filed in the conversation, as a reply from its page."""
        enquiry = _enquiry_or_404(enquiry_id)
        if not services.may_reply(enquiry, current_user):
            raise Problem(403)
        form = validated_form(ReplyForm, MultiDict(data), prefix="")
        saved(
            lambda: services.send_reply(
                enquiry, subject=form.subject.data, body=form.body.data, actor=current_user
            )
        )
        db.session.commit()
        return enquiry, 202
