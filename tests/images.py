"""Image files for upload tests, made with Pillow: good ones, and the kinds a form must refuse."""

import io
import os

from PIL import Image


def image_bytes(format="PNG", size=(120, 80), colour=(11, 85, 99), mode="RGB", **options):
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, format=format, **options)
    return out.getvalue()


def png(size=(120, 80), colour=(11, 85, 99)):
    return image_bytes("PNG", size, colour)


def jpeg_with_location():
    """A JPEG whose EXIF data says where it was taken (GPS) and with what camera."""
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    exif[0x8825] = {1: "N", 2: (57.0, 42.0, 0.0)}  # GPSInfo: latitude
    return image_bytes("JPEG", (200, 300), (200, 150, 100), exif=exif.tobytes())


def gif():
    return image_bytes("GIF", mode="P", colour=1)


def noisy_png(side=1000):
    """A PNG over 2 MB: noise does not compress."""
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=0)
    return out.getvalue()


def huge_png():
    """Few bytes, too many pixels (5000 × 5000)."""
    return image_bytes("PNG", (5000, 5000), 0, mode="L")


def upload(content, filename):
    """A file as a form sends it (the test client takes this tuple in `data`)."""
    return (io.BytesIO(content), filename)
