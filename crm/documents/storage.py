"""Where the bytes of documents' files are kept: a folder on the server's disk, or the database.

DOCUMENT_STORE chooses: "folder" keeps each file under UPLOAD_FOLDER, outside static/; this
suits one app server, and is the default on SQLite (one machine anyway). "database" keeps the
bytes in the `stored_files` table, so every app server on the same database sees every file;
the default on PostgreSQL. Each file is named by the random `stored_name` of the Document or
DocumentVersion it belongs to, so no two rows ever share a file and removing one row's file
can never take another's.

Both stores follow the transaction that names the file:

- put() writes the bytes. The folder writes them at once, and the caller removes them with
  discard() when its transaction rolls back; the database adds a row that the rollback takes
  with it.
- delete() removes the file as part of the transaction: the database deletes the row; the
  folder removes the file only once the transaction commits, so a rollback keeps every file
  its rows still name.

Uploads are at most MAX_UPLOAD_BYTES (10 MB), so put() takes the whole file as bytes (the
upload is checked whole anyway); open() streams, reading the database in slices.
"""

import io
import os
import re
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from crm.documents.models import StoredFile
from crm.extensions import db

STORES = ("folder", "database")
# What each download reads from the database at a time.
CHUNK_BYTES = 1024 * 1024

_NAME = re.compile(r"^[0-9a-f]{32}$")


def valid_name(name):
    """Whether `name` is one of ours (32 hex digits): anything else names no file of ours."""
    return bool(_NAME.match(name or ""))


def _checked(name):
    if not valid_name(name):
        raise ValueError(f"unexpected stored file name {name!r}")
    return name


def default_store(database_uri):
    """The store used when DOCUMENT_STORE is not set: the database on PostgreSQL, where
    several app servers may share it, the folder otherwise."""
    return "database" if database_uri.startswith("postgresql") else "folder"


def store_name(app=None):
    app = app or current_app
    return app.config.get("DOCUMENT_STORE") or default_store(app.config["SQLALCHEMY_DATABASE_URI"])


def check_setting(app):
    """Refuse to start with a DOCUMENT_STORE the app does not know."""
    name = store_name(app)
    if name not in STORES:
        raise RuntimeError(f"DOCUMENT_STORE must be one of {', '.join(STORES)}, not {name!r}")


def current_store():
    """The store the app's settings choose."""
    if store_name() == "database":
        # Files written to the folder before the switch stay readable until
        # `flask crm move-documents --to database` moves them in.
        return DatabaseStore(fallback=FolderStore())
    return FolderStore()


def get_store(name):
    """A store by its setting's name, on its own (no fallback): for moving files between
    stores."""
    return DatabaseStore() if name == "database" else FolderStore()


# ---------------------------------------------------------------- the folder


# Session.info key: files to remove from the folder when the transaction commits.
_FILES_TO_REMOVE = "crm_files_to_remove"


class FolderStore:
    """Files under UPLOAD_FOLDER, readable by the app's own account only."""

    name = "folder"

    @property
    def folder(self):
        return Path(current_app.config["UPLOAD_FOLDER"])

    def path(self, name):
        return self.folder / _checked(name)

    def put(self, name, data):
        folder = self.folder
        # Owner only, folder and files: documents can be confidential (agreements, NDAs), and
        # other accounts on the server have no business reading them.
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        with os.fdopen(os.open(self.path(name), flags, 0o600), "wb") as stream:
            stream.write(data)

    def open(self, name):
        """(binary stream, size) of the file, or None when there is none."""
        try:
            stream = self.path(name).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        return stream, os.fstat(stream.fileno()).st_size

    def exists(self, name):
        return self.path(name).is_file()

    def delete(self, name):
        db.session.info.setdefault(_FILES_TO_REMOVE, []).append(self.path(name))

    def discard(self, name):
        self.path(name).unlink(missing_ok=True)

    def names(self):
        """The names of the files in the folder."""
        folder = self.folder
        if not folder.is_dir():
            return []
        return sorted(path.name for path in folder.iterdir() if valid_name(path.name))


def _remove_files_after_commit(session):
    for path in session.info.pop(_FILES_TO_REMOVE, []):
        path.unlink(missing_ok=True)


def _keep_files_after_rollback(session):
    session.info.pop(_FILES_TO_REMOVE, None)


# after_commit fires for the outermost transaction only, once its rows are gone for good.
sa.event.listen(Session, "after_commit", _remove_files_after_commit)
sa.event.listen(Session, "after_rollback", _keep_files_after_rollback)


# ---------------------------------------------------------------- the database


class DatabaseStore:
    """Files as rows of `stored_files`, in the app's database and its transactions."""

    name = "database"

    def __init__(self, fallback=None):
        # A store to read (and remove) the files that are not in the table yet.
        self.fallback = fallback

    def put(self, name, data):
        db.session.add(StoredFile(name=_checked(name), size_bytes=len(data), content=data))
        db.session.flush()

    def open(self, name):
        """(binary stream, size) of the file, or None when there is none.

        The stream reads CHUNK_BYTES at a time, each slice on a connection of its own: the
        response is sent after the request's session is gone.
        """
        row = db.session.execute(
            sa.select(StoredFile.size_bytes, _slice(0, CHUNK_BYTES)).where(
                StoredFile.name == _checked(name)
            )
        ).first()
        if row is None:
            return self.fallback.open(name) if self.fallback else None
        size, first = row
        raw = _DatabaseReader(db.engine, name, size, first or b"")
        return io.BufferedReader(raw, buffer_size=CHUNK_BYTES), size

    def exists(self, name):
        found = db.session.scalar(
            sa.select(sa.literal(True)).where(StoredFile.name == _checked(name))
        )
        return bool(found) or bool(self.fallback and self.fallback.exists(name))

    def delete(self, name):
        db.session.execute(sa.delete(StoredFile).where(StoredFile.name == _checked(name)))
        if self.fallback:
            self.fallback.delete(name)

    def discard(self, name):
        """Nothing to do: the rollback that makes a put() unwanted took its row with it."""

    def names(self):
        return list(db.session.scalars(sa.select(StoredFile.name).order_by(StoredFile.name)))


def _slice(start, length):
    """The bytes of the content from `start` (0-based), at most `length` of them; substr
    counts bytes of a blob on SQLite and of a bytea on PostgreSQL alike."""
    return sa.func.substr(StoredFile.content, start + 1, length, type_=sa.LargeBinary)


class _DatabaseReader(io.RawIOBase):
    """A file's bytes read from the table a slice at a time, starting with the first slice
    (read with the size, when the file was opened)."""

    def __init__(self, engine, name, size, first):
        super().__init__()
        self._engine = engine
        self._name = name
        self._size = size
        self._position = 0
        self._slice_start = 0
        self._slice = first

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self._position

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer):
        if self._position >= self._size:
            return 0
        offset = self._position - self._slice_start
        if not 0 <= offset < len(self._slice):
            self._slice_start = self._position
            self._slice = self._read_slice(self._position, max(len(buffer), CHUNK_BYTES))
            offset = 0
        data = self._slice[offset : offset + len(buffer)]
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def _read_slice(self, start, length):
        with self._engine.connect() as connection:
            data = connection.scalar(
                sa.select(_slice(start, length)).where(StoredFile.name == self._name)
            )
        if not data:
            # The file went (its document was erased) while it was being sent.
            raise OSError(f"stored file {self._name} is gone")
        return data
