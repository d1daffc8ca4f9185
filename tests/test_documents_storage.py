"""The document store (crm/documents/storage.py): files in the database, read in slices, in
the request's transaction; the setting that chooses the store; and `flask crm
move-documents`, which moves files between the folder and the database."""

import hashlib
import io

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from config import TestingConfig
from crm import create_app
from crm.activities.models import ActivityKind
from crm.auth.models import Role
from crm.documents import services, storage
from crm.documents.models import StoredFile
from tests.factories import PDF_BYTES
from tests.helpers import count_queries


@pytest.fixture
def activity(make_activity):
    return make_activity("Data day", kind=ActivityKind.SEMINAR)


def folder_files(folder):
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def table_names(db):
    return list(db.session.scalars(sa.select(StoredFile.name).order_by(StoredFile.name)))


def big_text(size):
    """A text file of `size` bytes whose every slice is different."""
    line = b"".join(b"%07d lorem ipsum dolor sit amet\n" % n for n in range(size // 32 + 1))
    return line[:size]


@pytest.mark.config(DOCUMENT_STORE="database")
def test_a_large_file_is_kept_in_the_database_and_sent_in_slices(
    db, client, login, activity, upload_folder, make_document
):
    content = big_text(2 * storage.CHUNK_BYTES + 12345)
    document = make_document("Minutes", owner=activity, filename="minutes.txt", content=content)
    login(Role.VIEWER)

    assert table_names(db) == [document.stored_name]
    assert folder_files(upload_folder) == []
    with count_queries(db) as statements:
        response = client.get(f"/documents/{document.id}/download")
        data = response.get_data()

    assert response.status_code == 200
    assert data == content
    assert response.headers["Content-Length"] == str(len(content))
    assert response.headers["Content-Disposition"] == "attachment; filename=minutes.txt"
    assert response.headers["ETag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    # The first slice with the size, then one statement for each further slice.
    slices = [statement for statement in statements if "substr" in statement.lower()]
    assert len(slices) == 3


@pytest.mark.config(DOCUMENT_STORE="database")
def test_a_range_and_a_repeated_download_from_the_database(
    db, client, login, activity, make_document
):
    content = big_text(storage.CHUNK_BYTES + 100)
    document = make_document("Minutes", owner=activity, filename="minutes.txt", content=content)
    login(Role.VIEWER)
    url = f"/documents/{document.id}/download"
    start = storage.CHUNK_BYTES - 10

    part = client.get(url, headers={"Range": f"bytes={start}-{start + 29}"})
    again = client.get(url, headers={"If-None-Match": part.headers["ETag"]})

    assert part.status_code == 206
    assert part.get_data() == content[start : start + 30]
    assert part.headers["Content-Range"] == f"bytes {start}-{start + 29}/{len(content)}"
    assert again.status_code == 304
    assert again.get_data() == b""


@pytest.mark.config(DOCUMENT_STORE="database")
def test_the_file_goes_with_a_rolled_back_upload(db, activity):
    services.store_document(
        FileStorage(io.BytesIO(PDF_BYTES), filename="a.pdf"),
        title="A",
        description=None,
        is_public=False,
        owner=activity,
        actor=None,
    )
    assert len(table_names(db)) == 1

    db.session.rollback()

    assert table_names(db) == []


def test_the_store_follows_the_database_unless_set(app, db):
    on_postgresql = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")

    assert app.config["DOCUMENT_STORE"] is None
    assert storage.store_name() == ("database" if on_postgresql else "folder")
    assert storage.default_store("postgresql+psycopg://crm@db/crm") == "database"
    assert storage.default_store("sqlite:////srv/crm/crm.sqlite3") == "folder"
    app.config["DOCUMENT_STORE"] = "folder"
    assert isinstance(storage.current_store(), storage.FolderStore)


def test_an_unknown_store_is_refused_at_start():
    config = type("Config", (TestingConfig,), {"DOCUMENT_STORE": "s4"})

    with pytest.raises(RuntimeError, match="DOCUMENT_STORE must be one of folder, database"):
        create_app(config)


@pytest.mark.config(DOCUMENT_STORE="folder")
def test_move_documents_into_the_database_and_back(
    app, db, client, login, runner, activity, upload_folder, make_document
):
    document = make_document("Plan", owner=activity, filename="plan.pdf")
    services.replace_file(
        document, FileStorage(io.BytesIO(PDF_BYTES + b"%v2"), filename="plan.pdf"), actor=None
    )
    gone = make_document("Old", owner=activity, deleted=True)
    db.session.commit()
    names = sorted([document.stored_name, document.previous_versions[0].stored_name])
    names = sorted([*names, gone.stored_name])
    assert folder_files(upload_folder) == names

    # Switched to the database before moving: the files still come from the folder.
    app.config["DOCUMENT_STORE"] = "database"
    login(Role.VIEWER)
    assert client.get(f"/documents/{document.id}/download").data == PDF_BYTES + b"%v2"

    moved = runner.invoke(args=["crm", "move-documents", "--to", "database"])

    assert moved.exit_code == 0, moved.output
    assert moved.output == (
        "Moved 3 files from the folder into the database; 0 were there already; 0 are in neither.\n"
    )
    assert table_names(db) == names
    assert folder_files(upload_folder) == []
    assert client.get(f"/documents/{document.id}/download").data == PDF_BYTES + b"%v2"
    assert client.get(f"/documents/{document.id}/versions/1/download").data == PDF_BYTES

    again = runner.invoke(args=["crm", "move-documents", "--to", "database"])
    assert again.exit_code == 0, again.output
    assert again.output.startswith("Moved 0 files from the folder into the database; 3 were")
    assert table_names(db) == names

    back = runner.invoke(args=["crm", "move-documents", "--to", "folder"])
    assert back.exit_code == 0, back.output
    assert back.output == (
        "Moved 3 files from the database into the folder; 0 were there already; "
        "0 are in neither.\n"
        "The app reads documents from the database (DOCUMENT_STORE): set "
        "DOCUMENT_STORE=folder for it to read them from the folder.\n"
    )
    assert table_names(db) == []
    assert folder_files(upload_folder) == names
    app.config["DOCUMENT_STORE"] = "folder"
    assert client.get(f"/documents/{document.id}/versions/1/download").data == PDF_BYTES


@pytest.mark.config(DOCUMENT_STORE="database")
def test_move_documents_counts_a_file_that_is_nowhere(
    db, runner, activity, upload_folder, make_document
):
    document = make_document("Plan", owner=activity)
    storage.current_store().delete(document.stored_name)
    db.session.commit()

    result = runner.invoke(args=["crm", "move-documents", "--to", "database"])

    assert result.exit_code == 0, result.output
    assert "0 were there already; 1 are in neither." in result.output
