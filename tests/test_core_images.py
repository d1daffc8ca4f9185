"""Stored images served at /images/<id>-<digest>.<ext>: the logo to everyone, a photo to
everyone only while its user is an active public contact person, else to signed-in staff
only; nothing else at all. Cached for long where public, by nobody where not."""

import io

import pytest
from PIL import Image

from crm.auth.models import Role
from crm.core.images import EXTENSIONS, MAX_STORED_SIDE, store_image
from crm.settings import services as settings
from tests.images import image_bytes, png


def stored(db, content=None, *, purpose):
    image = store_image(io.BytesIO(content or png()), purpose=purpose)
    db.session.commit()
    return image


def address(image):
    return f"/images/{image.id}-{image.digest}.{EXTENSIONS[image.content_type]}"


@pytest.fixture
def logo(app, db):
    image = stored(db, purpose="logo")
    settings.put("logo_image_id", image.id)
    db.session.commit()
    return image


@pytest.fixture
def person_with_photo(db, make_user):
    def make(*, public, active=True):
        user = make_user(Role.MEMBER)
        image = stored(db, purpose="photo")
        user.photo_id = image.id
        user.is_public_contact = public
        user.active = active
        db.session.commit()
        return user, image

    return make


def test_the_logo_is_served_to_everyone_and_kept_for_long(client, logo):
    response = client.get(address(logo))

    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["ETag"] == f'"{logo.digest}"'
    assert Image.open(io.BytesIO(response.get_data())).size == (120, 80)
    again = client.get(address(logo), headers={"If-None-Match": f'"{logo.digest}"'})
    assert again.status_code == 304


def test_a_logo_no_longer_in_use_is_not_served(client, db, logo):
    settings.put("logo_image_id", None)
    db.session.commit()

    assert client.get(address(logo)).status_code == 404


@pytest.mark.parametrize(
    "wrong",
    [
        lambda image: f"/images/{image.id}-{'0' * 64}.png",
        lambda image: f"/images/{image.id}-{image.digest}.jpg",
        lambda image: f"/images/{image.id}-{image.digest}.svg",
        lambda image: f"/images/{image.id + 1}-{image.digest}.png",
        lambda image: f"/images/{image.id}-{image.digest[:10]}.png",
    ],
    ids=["digest", "extension", "svg", "id", "short digest"],
)
def test_a_wrong_address_is_404(client, logo, wrong):
    assert client.get(wrong(logo)).status_code == 404


def test_a_public_contacts_photo_is_public(client, person_with_photo):
    _user, photo = person_with_photo(public=True)

    response = client.get(address(photo))

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=86400"


@pytest.mark.parametrize(
    ("public", "active"), [(False, True), (True, False)], ids=["not public", "deactivated"]
)
def test_other_photos_are_for_signed_in_staff_only(
    client, login, person_with_photo, public, active
):
    _user, photo = person_with_photo(public=public, active=active)

    assert client.get(address(photo)).status_code == 404

    login(Role.VIEWER)
    response = client.get(address(photo))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_a_photo_nobody_uses_is_not_served_even_to_staff(client, db, login):
    orphan = stored(db, purpose="photo")
    login(Role.ADMIN)

    assert client.get(address(orphan)).status_code == 404


def test_a_photo_stops_being_public_when_its_user_does(client, db, person_with_photo):
    user, photo = person_with_photo(public=True)
    assert client.get(address(photo)).status_code == 200

    user.is_public_contact = False
    db.session.commit()

    assert client.get(address(photo)).status_code == 404


def test_large_images_are_scaled_down_and_webp_keeps_its_type(app, db):
    big = stored(db, image_bytes("PNG", (3000, 1500)), purpose="logo")
    webp = stored(db, image_bytes("WEBP", (50, 50)), purpose="photo")

    assert (big.width, big.height) == (MAX_STORED_SIDE, MAX_STORED_SIDE // 2)
    assert webp.content_type == "image/webp"
    assert address(webp).endswith(".webp")
