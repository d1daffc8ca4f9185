"""Small images the office shows: its logo and the photos of its public contact people.

They are kept in the database rather than on disk, so every app server sees them and a backup
of the database holds them. An upload is accepted only when Pillow can read it as a PNG,
JPEG or WebP image of a sensible size; it is then stored re-encoded, which drops whatever
else the file carried (a photo's EXIF data can hold the place it was taken, and a crafted
file cannot reach a browser as it was sent).
"""

import hashlib
import io
from datetime import datetime

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.types import UTCDateTime, utcnow
from crm.extensions import db

# What a browser shows everywhere: Pillow's format name -> (stored format, content type).
ACCEPTED_FORMATS = {
    "PNG": ("PNG", "image/png"),
    "JPEG": ("JPEG", "image/jpeg"),
    "WEBP": ("WEBP", "image/webp"),
}
# The file name ending of each stored content type, in the image's address.
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
MAX_IMAGE_BYTES = 2 * 1024 * 1024
# Decoding is what costs memory: refuse anything larger before decoding it.
MAX_IMAGE_PIXELS = 4096 * 4096
# Stored at most this wide or high; larger images are scaled down.
MAX_STORED_SIDE = 1024


class ImageError(ValueError):
    """An upload that is not an acceptable image; the message says why, for the person."""


class StoredImage(db.Model):
    __tablename__ = "stored_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What it is for, e.g. "logo" or "photo": the view that serves it decides who may see it.
    purpose: Mapped[str] = mapped_column(sa.String(20))
    content_type: Mapped[str] = mapped_column(sa.String(40))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    width: Mapped[int]
    height: Mapped[int]
    # SHA-256 of data, hex: part of the image's URL, so a new image gets a new address and
    # the old one can be cached for long.
    digest: Mapped[str] = mapped_column(sa.String(64))
    # No created_by: users point at their photo, and a key back would make the two tables
    # depend on each other. Who changed a photo or the logo is in the audit history.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def store_image(stream, *, purpose, max_bytes=MAX_IMAGE_BYTES):
    """A new StoredImage from an uploaded file (added and flushed, not committed), or
    ImageError with a message for the person."""
    data = stream.read(max_bytes + 1)
    if not data:
        raise ImageError(_("The file is empty."))
    if len(data) > max_bytes:
        raise ImageError(
            _("The image is too large: at most %(size)d MB.", size=max_bytes // (1024 * 1024))
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ACCEPTED_FORMATS:
                raise ImageError(_("Upload a PNG, JPEG or WebP image."))
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise ImageError(
                    _("The image is too large: at most %(side)d × %(side)d pixels.", side=4096)
                )
            image.load()
            stored_format, content_type = ACCEPTED_FORMATS[image.format]
            encoded, size = _reencode(image, stored_format)
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ImageError(_("Upload a PNG, JPEG or WebP image.")) from None
    stored = StoredImage(
        purpose=purpose,
        content_type=content_type,
        data=encoded,
        width=size[0],
        height=size[1],
        digest=hashlib.sha256(encoded).hexdigest(),
    )
    db.session.add(stored)
    db.session.flush()
    return stored


def _reencode(image, stored_format):
    image.thumbnail((MAX_STORED_SIDE, MAX_STORED_SIDE))
    if stored_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA")
    out = io.BytesIO()
    # No metadata is passed on: exif, icc and text chunks stay behind.
    image.save(out, format=stored_format)
    return out.getvalue(), image.size


def delete_image(image_id):
    """Remove a stored image no longer used (flushes)."""
    if image_id is not None:
        db.session.execute(sa.delete(StoredImage).where(StoredImage.id == image_id))


def image_url(image_id, digest, content_type):
    """The address an image is served at (crm/public/views.py decides who may see it). The
    digest makes it a new address for every new image, so browsers may keep it for long."""
    return url_for("public.image", image_id=image_id, digest=digest, ext=EXTENSIONS[content_type])
