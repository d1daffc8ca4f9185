"""One timeline on organisation and contact pages (crm/timeline): e-mails, activities,
enquiries, documents, tasks and agreements about the record, newest first, filtered by kind,
a page at a time, each under its own read rule, in a constant number of queries."""

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from crm.activities import task_services
from crm.agreements.models import AgreementStatus
from crm.core import records
from crm.extensions import db as _db
from crm.mail.models import Email, EmailDirection, EmailState
from crm.timeline.services import timeline
from tests.helpers import count_queries

_ENTRY = re.compile(
    r'<li class="timeline-entry timeline-(\w+)">.*?<span class="timeline-title">(.*?)</span>',
    re.S,
)


def _entries(page):
    """[(kind, title)] of the timeline's entries on a page, in their order."""
    return [
        (kind, html.unescape(re.sub(r"<[^>]+>", "", title)).strip())
        for kind, title in _ENTRY.findall(page)
    ]


def _titles(page):
    return [title for _kind, title in _entries(page)]


def _get(client, path):
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


_message_number = iter(range(1, 1_000_000))


def _email(subject, *, received_at=None, state=EmailState.FILED, **fields):
    """A stored e-mail, as the mailbox or a reply stores it."""
    number = next(_message_number)
    email = Email(
        message_id=f"<{number}@example.com>",
        direction=fields.pop("direction", EmailDirection.INCOMING),
        state=state,
        subject=subject,
        from_address=fields.pop("from_address", "someone@example.com"),
        received_at=received_at or datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
        **fields,
    )
    _db.session.add(email)
    _db.session.commit()
    return email


def _task(title, subject, *, assignee=None, created_at=None, done=False):
    task = task_services.create_task(
        title=title,
        subject=subject,
        subject_kind=task_services.subject_for(subject).column,
        assignee=assignee,
        actor=None,
    )
    if created_at is not None:
        task.created_at = created_at
    if done:
        task_services.complete_task(task, actor=None)
        task.done_at = created_at
    _db.session.commit()
    return task


def _at(day):
    return datetime(2026, 1, day, 12, 0, tzinfo=UTC)


@pytest.fixture
def roche(make_organisation):
    return make_organisation("Roche AB")


@pytest.fixture
def full_timeline(db, roche, make_activity, make_enquiry, make_document, make_agreement, make_user):
    """One entry of each kind about Roche, a day apart: the e-mail newest, the agreement
    oldest."""
    enquiry = make_enquiry(organisation_id=roche.id, reference="ENQ-2026-00100")
    enquiry.received_at = _at(20)
    activity = make_activity("Roche workshop", start_date=date(2026, 1, 22), organisations=[roche])
    document = make_document("Signed NDA", owner=roche)
    document.created_at = _at(18)
    _task("Call Roche back", roche, created_at=_at(16))
    agreement = make_agreement(
        "Roche MoU",
        parties=[roche],
        status=AgreementStatus.ACTIVE,
        signed_date=date(2026, 1, 10),
        start_date=date(2026, 1, 10),
    )
    _email("Re: our workshop", activity_id=activity.id, received_at=_at(24))
    _email("Question about samples", enquiry_id=enquiry.id, received_at=_at(21))
    db.session.commit()
    return {"enquiry": enquiry, "activity": activity, "agreement": agreement}


# ---------------------------------------------------------------- order and kinds


def test_every_kind_appears_newest_first(client, signed_in, roche, full_timeline):
    signed_in("coordinator")

    page = _get(client, f"/organisations/{roche.id}")

    assert _entries(page) == [
        ("email", "Re: our workshop"),
        ("activity", "Roche workshop"),
        ("email", "Question about samples"),
        ("enquiry", "ENQ-2026-00100"),
        ("document", "Signed NDA"),
        ("task", "Call Roche back"),
        ("agreement", "Roche MoU"),
    ]
    timeline = page[page.index('id="timeline-heading"') :]
    enquiry, activity = full_timeline["enquiry"], full_timeline["activity"]
    assert f'href="/activities/{activity.id}"' in timeline
    assert f'href="/agreements/{full_timeline["agreement"].id}"' in timeline
    assert f'href="/enquiries/{enquiry.id}"' in timeline


def test_each_email_links_to_its_own_page(client, db, signed_in, roche, full_timeline):
    signed_in("coordinator")

    page = _get(client, f"/organisations/{roche.id}?kind=email")

    for subject in ("Question about samples", "Re: our workshop"):
        email = db.session.scalars(sa.select(Email).where(Email.subject == subject)).one()
        assert re.search(rf'<a href="/mail/{email.id}">{subject}</a>', page)


def test_a_contact_sees_its_emails_activities_enquiries_and_tasks(
    client, db, signed_in, make_contact, make_activity, make_enquiry
):
    contact = make_contact("Eva", "Ek", email="eva_ek@roche.com")
    activity = make_activity("Lunch with Eva", start_date=date(2026, 1, 5), contacts=[contact])
    enquiry = make_enquiry(contact_id=contact.id, reference="ENQ-2026-00200")
    enquiry.received_at = _at(6)
    _task("Send Eva the slides", contact, created_at=_at(7))
    _email("From Eva", from_address="eva_ek@roche.com", received_at=_at(8))
    _email("To Eva", to_addresses="someone@x.se, eva_ek@roche.com", received_at=_at(9))
    _email("Cc Eva", cc_addresses="eva_ek@roche.com", received_at=_at(10))
    _email("On her activity", activity_id=activity.id, received_at=_at(11))
    _email("On her enquiry", enquiry_id=enquiry.id, received_at=_at(12))
    # Not hers: a look-alike address (the _ must not match any character), and mail that is
    # not filed on any record.
    _email(
        "Look-alike", to_addresses="evaxek@roche.com, eva_ek@roche.com.evil", received_at=_at(13)
    )
    _email("Unmatched", from_address="eva_ek@roche.com", state=EmailState.UNMATCHED)
    db.session.commit()
    signed_in("coordinator")

    page = _get(client, f"/contacts/{contact.id}")

    assert _titles(page) == [
        "On her enquiry",
        "On her activity",
        "Cc Eva",
        "To Eva",
        "From Eva",
        "Send Eva the slides",
        "ENQ-2026-00200",
        "Lunch with Eva",
    ]


# ---------------------------------------------------------------- the filter


def test_the_filter_shows_one_kind_and_keeps_the_address(client, signed_in, roche, full_timeline):
    signed_in("coordinator")

    page = _get(client, f"/organisations/{roche.id}?kind=email")

    assert _entries(page) == [("email", "Re: our workshop"), ("email", "Question about samples")]
    filter_nav = page[page.index('class="timeline-filter"') :]
    filter_nav = filter_nav[: filter_nav.index("</nav>")]
    assert '<span aria-current="page">E-mails</span>' in filter_nav
    assert f'href="/organisations/{roche.id}#timeline"' in filter_nav
    for kind in ("activity", "enquiry", "document", "task", "agreement"):
        assert f'href="/organisations/{roche.id}?kind={kind}#timeline"' in filter_nav
        assert [
            entry[0] for entry in _entries(_get(client, f"/organisations/{roche.id}?kind={kind}"))
        ] == [kind]
    # An unknown kind shows everything.
    assert len(_entries(_get(client, f"/organisations/{roche.id}?kind=nonsense"))) == 7


@pytest.mark.parametrize(
    ("kind", "empty"),
    [
        (None, "Nothing about this organisation yet."),
        ("email", "No e-mails with this organisation yet."),
        ("activity", "No activities with this organisation yet."),
        ("enquiry", "No enquiries matched to this organisation."),
        ("document", "No documents yet."),
        ("task", "No tasks about this organisation yet."),
        ("agreement", "No agreements with this organisation yet."),
    ],
)
def test_each_filter_has_its_empty_state(client, signed_in, roche, kind, empty):
    signed_in("coordinator")

    page = _get(client, f"/organisations/{roche.id}" + (f"?kind={kind}" if kind else ""))

    timeline = page[page.index('id="timeline-heading"') :]
    assert f'<p class="empty">{empty}</p>' in timeline


def test_a_contact_offers_only_its_kinds(client, signed_in, make_contact):
    contact = make_contact()
    signed_in("coordinator")

    page = _get(client, f"/contacts/{contact.id}?kind=email")

    assert "No e-mails with this contact yet." in page
    for kind in ("activity", "enquiry", "task"):
        assert f"?kind={kind}#timeline" in page
    for kind in ("document", "agreement"):
        assert f"?kind={kind}" not in page


# ---------------------------------------------------------------- pages


def test_older_entries_are_on_the_next_pages(client, db, signed_in, roche, make_activity):
    for day in range(1, 31):
        make_activity(f"Meeting {day:02}", start_date=date(2025, 12, day), organisations=[roche])
    signed_in("member")

    first = _get(client, f"/organisations/{roche.id}?kind=activity")
    second = _get(client, f"/organisations/{roche.id}?kind=activity&page=2")

    assert _titles(first) == [f"Meeting {day:02}" for day in range(30, 5, -1)]
    assert _titles(second) == [f"Meeting {day:02}" for day in range(5, 0, -1)]
    assert f'href="/organisations/{roche.id}?kind=activity&amp;page=2" rel="next"' in first
    assert "30 in all" in first
    # A page past the end is empty, not an error.
    assert _titles(_get(client, f"/organisations/{roche.id}?page=9")) == []


# ---------------------------------------------------------------- who sees what


def test_members_see_only_their_own_enquiries_and_their_emails(
    client, db, signed_in, roche, make_enquiry, make_user
):
    member = make_user("member")
    mine = make_enquiry(organisation_id=roche.id, assignee_id=member.id, reference="ENQ-2026-00001")
    theirs = make_enquiry(organisation_id=roche.id, reference="ENQ-2026-00002")
    _email("About mine", enquiry_id=mine.id)
    _email("About theirs", enquiry_id=theirs.id)
    _email("Logged on nothing readable", enquiry_id=theirs.id, from_address="a@roche.com")
    signed_in(member)

    page = _get(client, f"/organisations/{roche.id}")

    assert sorted(_titles(page)) == ["About mine", "ENQ-2026-00001"]


def test_viewers_see_no_enquiries_nor_their_emails(
    client, db, signed_in, roche, make_enquiry, make_activity
):
    enquiry = make_enquiry(organisation_id=roche.id)
    activity = make_activity("Open day", organisations=[roche])
    _email("About the enquiry", enquiry_id=enquiry.id)
    _email("About the open day", activity_id=activity.id)
    signed_in("viewer")

    page = _get(client, f"/organisations/{roche.id}")

    assert _titles(page) == ["Open day", "About the open day"]
    assert "kind=enquiry" not in page and "Enquiries" not in page
    # Asking for the kind anyway shows everything else, not the enquiries.
    assert _titles(_get(client, f"/organisations/{roche.id}?kind=enquiry")) == _titles(page)


def test_a_task_about_an_enquiry_the_user_may_not_read_is_not_shown(
    client, db, signed_in, roche, make_enquiry, make_user
):
    member, colleague = make_user("member"), make_user("member")
    mine = make_enquiry(organisation_id=roche.id, assignee_id=member.id)
    theirs = make_enquiry(organisation_id=roche.id, assignee_id=colleague.id)
    _task("Follow up my enquiry", mine)
    _task("Follow up their enquiry", theirs)
    _task("Given to me on theirs", theirs, assignee=member)
    _task("About the company", roche)
    signed_in(member)

    titles = _titles(_get(client, f"/organisations/{roche.id}?kind=task"))

    assert sorted(titles) == ["About the company", "Follow up my enquiry", "Given to me on theirs"]


def test_deleted_records_are_left_out(
    client, db, signed_in, roche, make_activity, make_enquiry, make_document, make_agreement
):
    make_activity("Deleted workshop", organisations=[roche], deleted=True)
    deleted_enquiry = make_enquiry(organisation_id=roche.id)
    records.soft_delete(deleted_enquiry, actor=None)
    make_document("Deleted NDA", owner=roche, deleted=True)
    make_agreement("Deleted MoU", parties=[roche], deleted=True)
    records.soft_delete(_task("Deleted task", roche), actor=None)
    _email("On a deleted enquiry", enquiry_id=deleted_enquiry.id)
    db.session.commit()
    make_activity("Live workshop", organisations=[roche])
    signed_in("admin")

    assert _titles(_get(client, f"/organisations/{roche.id}")) == ["Live workshop"]


def test_a_done_task_shows_as_done(client, db, signed_in, roche):
    _task("Sent the draft", roche, created_at=_at(2), done=True)
    _task("Send the final", roche, created_at=_at(1))
    signed_in("member")

    page = _get(client, f"/organisations/{roche.id}")

    assert re.search(r"Sent the draft</span>\s*<span [^>]*>done<", page)
    assert re.search(r"Send the final</span>\s*<span [^>]*>open<", page)


# ---------------------------------------------------------------- cost


def _add_one_of_each(roche, contact, number, factories, user):
    """One record of each kind about Roche and Eva, all dated `number` days into 2025, so
    every page of the timeline mixes all the kinds."""
    make_activity, make_enquiry, make_document, make_agreement = factories
    moment = datetime(2025, 1, 1, 12, 0, tzinfo=UTC) + timedelta(days=number)
    activity = make_activity(
        f"Activity {number}",
        start_date=moment.date(),
        organisations=[roche],
        contacts=[contact],
        staff=[user],
    )
    enquiry = make_enquiry(organisation_id=roche.id, contact_id=contact.id, received_at=moment)
    document = make_document(f"Document {number}", owner=roche)
    document.created_at = moment
    make_agreement(f"Agreement {number}", parties=[roche], start_date=moment.date())
    _task(f"Task {number}", roche, assignee=user, created_at=moment)
    _task(f"Contact task {number}", contact, assignee=user, created_at=moment)
    _email(f"E-mail {number}", activity_id=activity.id, received_at=moment)
    _email(f"Reply {number}", enquiry_id=enquiry.id, from_address=contact.email, received_at=moment)


def _page_queries(client, path):
    with count_queries(_db) as statements:
        page = _get(client, path)
    return len(statements), page


def test_the_query_count_does_not_grow_with_the_timeline(
    client,
    db,
    signed_in,
    roche,
    make_contact,
    make_activity,
    make_enquiry,
    make_document,
    make_agreement,
):
    contact = make_contact("Eva", "Ek", organisation=roche, email="eva@roche.com")
    user = signed_in("coordinator")
    factories = (make_activity, make_enquiry, make_document, make_agreement)
    paths = (
        f"/organisations/{roche.id}",
        f"/organisations/{roche.id}?page=2",
        f"/contacts/{contact.id}",
        f"/contacts/{contact.id}?page=2",
        f"/contacts/{contact.id}?kind=email",
    )
    for number in range(13):
        _add_one_of_each(roche, contact, number, factories, user)
    few = [_page_queries(client, path) for path in paths]

    for number in range(13, 30):
        _add_one_of_each(roche, contact, number, factories, user)
    many = [_page_queries(client, path) for path in paths]

    assert [count for count, _page in many] == [count for count, _page in few]
    for _count, page in few + many:
        assert len(_entries(page)) == 25
    # Each page of the organisation's mixes every kind, so each kind's rows were loaded.
    kinds = {kind for kind, _title in _entries(many[1][1])}
    assert kinds == {"email", "activity", "enquiry", "document", "task", "agreement"}


def test_dates_of_every_kind_sort_together_on_both_databases(
    db, app, roche, full_timeline, make_user
):
    """A day (an activity's, an agreement's) and a moment sort in one order on PostgreSQL
    as on SQLite: a day counts as its midnight."""
    same_day = full_timeline["activity"]
    same_day.start_date = date(2026, 1, 21)
    db.session.commit()
    with app.test_request_context():
        entries = timeline(roche, make_user("admin")).items

    kinds = [entry.kind for entry in entries]
    # The e-mail at noon on the 21st is after the activity's day began.
    assert kinds[:3] == ["email", "email", "activity"]
