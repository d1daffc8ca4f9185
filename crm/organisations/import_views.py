"""CSV import of organisations and contacts: upload, dry run, then the real import."""

from dataclasses import dataclass

from flask import flash, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.auth.decorators import role_required
from crm.auth.models import Role
from crm.core.csv_export import CSVReadError, csv_response
from crm.extensions import db
from crm.organisations import bp, contacts_bp, import_services
from crm.organisations.import_forms import ImportConfirmForm, ImportUploadForm


@dataclass(frozen=True)
class ImportKind:
    title: str
    columns: tuple
    required_columns: tuple
    run: object  # import_services.import_organisations or import_services.import_contacts
    list_endpoint: str
    template_endpoint: str
    template_filename: str
    matching: str  # how a row finds the record it updates
    more_examples: tuple  # example rows after the one the columns' examples make


ORGANISATIONS = ImportKind(
    title=_l("Import organisations"),
    columns=import_services.ORGANISATION_COLUMNS,
    required_columns=import_services.ORGANISATION_REQUIRED,
    run=import_services.import_organisations,
    list_endpoint="organisations.index",
    template_endpoint="organisations.import_template",
    template_filename="organisations-import-example.csv",
    matching=_l(
        "A row updates the organisation with the same organisation number or, without one, "
        "the only organisation with the same name, ignoring case, accents and suffixes such "
        "as AB (a name that differs only in these ways does not rename it); otherwise it "
        "creates a new organisation."
    ),
    more_examples=(
        {
            "name": "Exempelföreningen",
            "kind": "industry_association",
            "org_number": "802412-3450",
            "website": "https://www.exempelforeningen.se",
            "email_domains": "exempelforeningen.se",
            "country": "SE",
            "city": "Stockholm",
            "sectors": "pharma;medtech",
            "is_partner": "no",
        },
    ),
)

CONTACTS = ImportKind(
    title=_l("Import contacts"),
    columns=import_services.CONTACT_COLUMNS,
    required_columns=import_services.CONTACT_REQUIRED,
    run=import_services.import_contacts,
    list_endpoint="contacts.index",
    template_endpoint="contacts.import_template",
    template_filename="contacts-import-example.csv",
    matching=_l(
        "A row updates the contact with the same e-mail address or, without one, the only "
        "contact with the same name at the same organisation; otherwise it creates a new "
        "contact. The organisation must already be in the register: import organisations first."
    ),
    more_examples=(
        {
            "first_name": "Erik",
            "last_name": "Exempelsson",
            "email": "erik.exempelsson@exempelforeningen.se",
            "organisation": "Exempelföreningen",
            "legal_basis": "consent",
            "do_not_contact": "no",
        },
    ),
)


@bp.route("/import", methods=["GET", "POST"], endpoint="import_csv")
@role_required(Role.MEMBER)
def import_organisations_csv():
    return _import_page(ORGANISATIONS)


@bp.route("/import/example.csv", endpoint="import_template")
@role_required(Role.MEMBER)
def organisations_import_template():
    return _example_csv(ORGANISATIONS)


@contacts_bp.route("/import", methods=["GET", "POST"], endpoint="import_csv")
@role_required(Role.MEMBER)
def import_contacts_csv():
    return _import_page(CONTACTS)


@contacts_bp.route("/import/example.csv", endpoint="import_template")
@role_required(Role.MEMBER)
def contacts_import_template():
    return _example_csv(CONTACTS)


def _import_page(kind):
    if request.method == "POST" and "content" in request.form:
        return _import_confirmed(kind)
    form = ImportUploadForm()
    if form.validate_on_submit():
        data = form.file.data.read(import_services.MAX_IMPORT_BYTES + 1)
        try:
            upload = import_services.read_import_file(data, required_columns=kind.required_columns)
        except CSVReadError as error:
            form.file.errors.append(str(error))
        else:
            return _run_import(kind, upload, dry_run=form.dry_run.data)
    return render_template("imports/import.html", kind=kind, form=form, result=None)


def _import_confirmed(kind):
    """The "Import now" step after a dry run: the content comes back in a hidden field."""
    confirm = ImportConfirmForm()
    form = ImportUploadForm(formdata=None)
    message = _("The import could not be started. Upload the file again.")
    if confirm.validate_on_submit():
        try:
            upload = import_services.read_import_file(
                confirm.content.data.encode("utf-8"), required_columns=kind.required_columns
            )
        except CSVReadError as error:
            message = str(error)
        else:
            return _run_import(kind, upload, dry_run=False)
    form.file.errors = [message]
    return render_template("imports/import.html", kind=kind, form=form, result=None)


def _run_import(kind, upload, *, dry_run):
    result = kind.run(upload.rows, lines=upload.lines, dry_run=dry_run, actor=current_user)
    confirm = None
    if dry_run:
        if result.changes:
            confirm = ImportConfirmForm(formdata=None, content=upload.text)
    else:
        db.session.commit()
        totals = _(
            "Import finished: %(created)d created, %(updated)d updated, "
            "%(unchanged)d unchanged, %(errors)d not imported because of errors.",
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            errors=result.errors,
        )
        flash(totals, "warning" if result.errors else "success")
    return render_template(
        "imports/import.html",
        kind=kind,
        form=ImportUploadForm(formdata=None),
        result=result,
        confirm=confirm,
    )


def _example_csv(kind):
    header = [column.name for column in kind.columns]
    rows = [[column.example for column in kind.columns]]
    rows += [[example.get(name, "") for name in header] for example in kind.more_examples]
    return csv_response(kind.template_filename, header, rows)
