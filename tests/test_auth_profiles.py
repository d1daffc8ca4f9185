"""A user's own profile at /account/: the fields they may change, and only those; topics that
steer the enquiry suggestion; the photo (good and bad files); the history; the header link."""

import io

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from PIL import Image

from crm.auth.models import Role, User
from crm.core import audit
from crm.core.images import StoredImage
from crm.core.models import AuditEntry
from crm.core.topics import Topic
from crm.enquiries import services as enquiry_services
from tests.images import gif, huge_png, jpeg_with_location, noisy_png, png, upload


def profile_form(user, **changes):
    """The profile form as the browser sends it unchanged, with `changes` applied."""
    data = {
        "name": user.name,
        "title": user.title or "",
        "phone": user.phone or "",
        "language": user.language,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def save(client, user, **changes):
    return client.post("/account/", data=profile_form(user, **changes))


def entries(db, user):
    return db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.entity_type == "users", AuditEntry.entity_id == user.id)
        .order_by(AuditEntry.id)
    ).all()


def images(db):
    return db.session.scalars(sa.select(StoredImage).order_by(StoredImage.id)).all()


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_every_user_reaches_their_profile_from_the_header(client, signed_in, role):
    user = signed_in(role)

    overview = client.get("/dashboard/").get_data(as_text=True)
    page = client.get("/account/")

    assert 'href="/account/"' in overview
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>Your profile</h1>" in html
    assert user.email in html
    for link in ('href="/account/password"', 'href="/account/two-factor"', 'href="/calendar/"'):
        assert link in html
    assert 'enctype="multipart/form-data"' in html
    for label in ("Name", "Title", "Phone", "Language", "Topics of expertise", "Photo"):
        assert f">{label}</" in html


def test_the_account_page_needs_a_sign_in(client):
    response = client.get("/account/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_a_user_edits_their_profile_and_the_history_records_it(client, db, signed_in):
    user = signed_in(Role.MEMBER)

    response = save(
        client,
        user,
        name="  Maja Andersson ",
        title="Innovation advisor",
        phone="+46 (0)31-123 45 67",
        topics=["diagnostics", "education"],
        is_public_contact="y",
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"
    page = client.get("/account/").get_data(as_text=True)
    assert "Your profile has been saved." in page
    assert 'value="Innovation advisor"' in page
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.name, user.title, user.phone) == (
        "Maja Andersson",
        "Innovation advisor",
        "+46 (0)31-123 45 67",
    )
    assert user.is_public_contact is True
    assert {row.topic for row in user.topics} == {Topic.DIAGNOSTICS, Topic.EDUCATION}
    [entry] = [entry for entry in entries(db, user) if entry.action == "update"]
    assert entry.actor_id == user.id
    assert entry.changes["title"] == [None, "Innovation advisor"]
    assert entry.changes["is_public_contact"] == [False, True]
    assert entry.changes["topics"] == [[], ["diagnostics", "education"]]


def test_saving_an_unchanged_profile_says_so_and_records_nothing(client, db, signed_in):
    user = signed_in(Role.VIEWER)
    before = len(entries(db, user))

    response = client.post("/account/", data=profile_form(user), follow_redirects=True)

    assert "Nothing was changed." in response.get_data(as_text=True)
    assert len(entries(db, user)) == before


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "  "}, "Enter a name."),
        ({"name": "x" * 201}, "Field cannot be longer than 200 characters."),
        ({"title": "x" * 201}, "Field cannot be longer than 200 characters."),
        (
            {"phone": "call me maybe"},
            "Enter the phone number with digits, spaces and + - ( ) only.",
        ),
        ({"language": "de"}, "Not a valid choice."),
        ({"topics": ["astrology"]}, "is not a valid choice"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(
    client, db, signed_in, changes, message
):
    user = signed_in(Role.MEMBER)
    before = len(entries(db, user))

    response = save(client, user, **changes)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'class="error-summary"' in html
    assert message in html
    db.session.expire_all()
    assert db.session.get(User, user.id).name == user.name
    assert len(entries(db, user)) == before


def test_a_bare_post_is_refused(client, db, signed_in):
    user = signed_in(Role.MEMBER)

    response = client.post("/account/", data={"name": "Only a name"})

    assert response.status_code == 200
    assert "Some fields were missing" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).name == user.name


def test_the_profile_cannot_raise_the_users_rights(client, db, signed_in):
    user = signed_in(Role.VIEWER)
    email = user.email

    response = save(
        client,
        user,
        role="admin",
        active="y",
        email="someone.else@example.org",
        password_hash="plain",
        session_version="99",
        calendar_token="chosen",
        photo_id="1",
        totp_secret="JBSWY3DPEHPK3PXP",
        name="New Name",
    )

    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.name == "New Name"
    assert user.role == Role.VIEWER
    assert user.email == email
    assert user.calendar_token is None and user.photo_id is None and user.totp_secret is None
    assert client.get("/dashboard/").status_code == 200  # still signed in: nothing else changed


def test_changing_the_language_changes_the_pages_at_once(client, db, signed_in):
    user = signed_in(Role.MEMBER)

    save(client, user, language="sv")

    page = client.get("/account/").get_data(as_text=True)
    assert "<h1>Din profil</h1>" in page
    db.session.expire_all()
    assert db.session.get(User, user.id).language == "sv"


def test_topics_steer_the_suggested_assignee(client, db, signed_in, make_user, make_enquiry):
    busy = make_user(Role.MEMBER, name="Anna Busy")
    enquiry = make_enquiry(topic=Topic.DIAGNOSTICS)
    # Someone with the topic gets the suggestion; nobody has it yet.
    assert enquiry_services.suggestion_for(enquiry) == (busy, False)

    user = signed_in(Role.MEMBER)
    save(client, user, topics=["diagnostics"])

    db.session.expire_all()
    suggested, by_topic = enquiry_services.suggestion_for(enquiry)
    assert (suggested.id, by_topic) == (user.id, True)

    save(client, user, topics=["education"])  # diagnostics unticked

    db.session.expire_all()
    assert enquiry_services.suggestion_for(enquiry)[1] is False


def test_a_photo_is_uploaded_shown_replaced_and_removed(client, db, signed_in):
    user = signed_in(Role.MEMBER)

    response = save(client, user, photo=upload(png((300, 200)), "me.png"))

    assert response.status_code == 302
    [first] = images(db)
    assert (first.purpose, first.content_type) == ("photo", "image/png")
    first_id = first.id
    db.session.expire_all()
    assert db.session.get(User, user.id).photo_id == first_id
    page = client.get("/account/").get_data(as_text=True)
    address = f"/images/{first_id}-{first.digest}.png"
    assert f'src="{address}"' in page
    assert "Remove the photo" in page
    assert client.get(address).status_code == 200  # the user sees their own photo

    # A new photo replaces the old one, which is deleted.
    save(client, user, photo=upload(jpeg_with_location(), "holiday.JPG"))
    [second] = images(db)
    second_id = second.id
    assert second_id != first_id and second.content_type == "image/jpeg"
    assert client.get(address).status_code == 404

    save(client, user, remove_photo="y")
    assert images(db) == []
    db.session.expire_all()
    assert db.session.get(User, user.id).photo_id is None
    changes = [entry.changes.get("photo_id") for entry in entries(db, user)]
    assert changes[-3:] == [[None, first_id], [first_id, second_id], [second_id, None]]


def test_a_photo_is_stored_without_its_location(client, db, signed_in):
    user = signed_in(Role.MEMBER)
    original = Image.open(io.BytesIO(jpeg_with_location()))
    assert original.getexif()  # the file as sent says where it was taken

    save(client, user, photo=upload(jpeg_with_location(), "holiday.jpg"))

    [stored] = images(db)
    kept = Image.open(io.BytesIO(stored.data))
    assert dict(kept.getexif()) == {}
    assert b"Camera maker" not in stored.data


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"just some words, not an image", "photo.png", "Upload a PNG, JPEG or WebP image."),
        (gif(), "animation.gif", "Upload a PNG, JPEG or WebP image."),
        (noisy_png(), "big.png", "The image is too large: at most 2 MB."),
        (huge_png(), "wide.png", "The image is too large: at most 4096 × 4096 pixels."),
        (b"", "empty.png", "The file is empty."),
        (b"", "", None),
    ],
    ids=["text named .png", "gif", "over 2 MB", "too many pixels", "empty file", "no file"],
)
def test_a_bad_photo_is_refused_and_nothing_is_saved(
    client, db, signed_in, content, filename, message
):
    user = signed_in(Role.MEMBER)
    before = len(entries(db, user))

    response = save(client, user, title="Changed too", photo=upload(content, filename))

    db.session.expire_all()
    if message is None:
        # An empty file part is what a browser sends when no file was chosen.
        assert response.status_code == 302
        assert db.session.get(User, user.id).title == "Changed too"
        assert images(db) == []
        return
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html
    assert 'id="photo-error"' in html
    assert images(db) == []
    stored = db.session.get(User, user.id)
    assert stored.title is None and stored.photo_id is None
    assert len(entries(db, user)) == before


def test_the_history_labels_read_as_the_form_does(app):
    with force_locale("en"):
        assert str(audit.field_label("users", "is_public_contact")) == "Public contact person"
        assert audit.display_value("users", "topics", ["diagnostics"]) == "Diagnostics"
        assert audit.display_value("users", "role", "admin") == "Administrator"
