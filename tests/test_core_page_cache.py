"""The page cache: served again only to the same user, and never once the data has changed."""

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.core import page_cache
from crm.extensions import db as _db
from crm.organisations.models import Organisation
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.config(PAGE_CACHE_SECONDS=60)


@pytest.fixture(autouse=True)
def empty_cache():
    page_cache.clear()
    yield
    page_cache.clear()


def sign_in(login, client, role):
    """Sign in and read the first page, which shows (and so uses up) the welcome message."""
    user = login(role)
    client.get("/tasks/")
    return user


@pytest.fixture
def organisation(make_organisation):
    return make_organisation("Kvarnbo Genomik AB")


def count_statements(client, path):
    statements = []

    def count(*_args):
        statements.append(1)

    read_version = page_cache.current_data_version

    def counted_version_read():
        count()
        return read_version()

    # Every engine, and the version read, which goes to the driver directly.
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
    page_cache.current_data_version = counted_version_read
    try:
        response = client.get(path)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)
        page_cache.current_data_version = read_version
    return response, len(statements)


def test_a_page_read_twice_is_served_from_the_cache_with_two_queries(login, client, organisation):
    sign_in(login, client, Role.MEMBER)
    first = client.get("/organisations/")
    second, queries = count_statements(client, "/organisations/")

    assert "X-Page-Cache" not in first.headers
    assert second.headers["X-Page-Cache"] == "hit"
    assert second.get_data() == first.get_data()
    # Only the data version: the login is proven by it (see crm/core/page_cache.py).
    assert queries == 1
    # The security headers are on cached pages too.
    assert "Content-Security-Policy" in second.headers


def test_a_change_through_the_pages_shows_at_once(login, client, organisation):
    sign_in(login, client, Role.MEMBER)
    client.get(f"/organisations/{organisation.id}")
    client.get(f"/organisations/{organisation.id}")

    edit = client.get(f"/organisations/{organisation.id}/edit")
    assert edit.status_code == 200
    organisation.name = "Kvarnbo Genomics AB"
    _db.session.commit()

    page = client.get(f"/organisations/{organisation.id}")
    assert "X-Page-Cache" not in page.headers
    assert "Kvarnbo Genomics AB" in page.get_data(as_text=True)


def test_a_change_by_another_process_clears_the_page(login, client, organisation, db):
    sign_in(login, client, Role.MEMBER)
    client.get("/organisations/")
    assert client.get("/organisations/").headers.get("X-Page-Cache") == "hit"

    # A job or another app process commits a change through its own session.
    with db.engine.connect() as connection:
        other = sa.orm.Session(bind=connection)
        other.get(Organisation, organisation.id).name = "Renamed elsewhere AB"
        other.commit()
        connection.commit()

    page = client.get("/organisations/")
    assert "X-Page-Cache" not in page.headers
    assert "Renamed elsewhere AB" in page.get_data(as_text=True)


def test_a_read_only_commit_keeps_the_version(db, organisation):
    before = page_cache.current_data_version()
    db.session.get(Organisation, organisation.id)
    db.session.commit()
    assert page_cache.current_data_version() == before

    organisation.city = "Lund"
    db.session.commit()
    assert page_cache.current_data_version() == before + 1


def test_another_user_never_gets_someone_elses_page(app, make_user, organisation):
    first, second = make_user(Role.MEMBER), make_user(Role.MEMBER)
    one, two = app.test_client(), app.test_client()
    for client, user in ((one, first), (two, second)):
        client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
        client.get("/tasks/")
    one.get("/organisations/")
    assert one.get("/organisations/").headers.get("X-Page-Cache") == "hit"

    page = two.get("/organisations/")
    assert "X-Page-Cache" not in page.headers
    assert f"<strong>{second.name}</strong>" in page.get_data(as_text=True)
    assert f"<strong>{first.name}</strong>" not in page.get_data(as_text=True)


def test_a_signed_out_visitor_is_sent_to_sign_in_not_served_the_page(auth, client, organisation):
    auth.login(Role.MEMBER)
    client.get("/tasks/")
    client.get("/organisations/")
    assert client.get("/organisations/").headers.get("X-Page-Cache") == "hit"
    auth.logout()

    response = client.get("/organisations/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_flashed_message_is_shown_once(login, client, organisation):
    sign_in(login, client, Role.COORDINATOR)
    client.post("/language/en?next=/")
    response = client.post(
        f"/organisations/{organisation.id}/delete", data={}, follow_redirects=False
    )
    assert response.status_code == 302
    first = client.get("/organisations/").get_data(as_text=True)
    second = client.get("/organisations/").get_data(as_text=True)

    assert "deleted" in first
    assert "A coordinator can restore it" not in second


def test_forms_and_exports_are_never_cached(login, client, organisation):
    sign_in(login, client, Role.MEMBER)
    for path in ("/organisations/new", "/organisations/export.csv", "/contact"):
        client.get(path)
        assert "X-Page-Cache" not in client.get(path).headers, path


@pytest.mark.config(PAGE_CACHE_SECONDS=0)
def test_the_cache_can_be_turned_off(login, client, organisation):
    sign_in(login, client, Role.MEMBER)
    client.get("/organisations/")
    assert "X-Page-Cache" not in client.get("/organisations/").headers


def test_a_deactivated_user_is_not_served_their_cached_page(login, client, organisation, db):
    user = sign_in(login, client, Role.MEMBER)
    client.get("/organisations/")
    assert client.get("/organisations/").headers.get("X-Page-Cache") == "hit"

    user.active = False
    db.session.commit()

    response = client.get("/organisations/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_public_page_is_cached_for_anonymous_visitors_too(client, db):
    client.get("/")
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers.get("X-Page-Cache") == "hit"
    assert "/contact" in response.get_data(as_text=True)


def test_a_version_that_cannot_be_read_means_a_fresh_page(login, client, organisation, monkeypatch):
    sign_in(login, client, Role.MEMBER)
    client.get("/organisations/")
    assert client.get("/organisations/").headers.get("X-Page-Cache") == "hit"

    monkeypatch.setattr(page_cache, "current_data_version", lambda: None)
    page = client.get("/organisations/")
    assert page.status_code == 200
    assert "X-Page-Cache" not in page.headers


@pytest.mark.config(PAGE_CACHE_SECONDS=60, PAGE_CACHE_BYTES=100_000)
def test_unique_query_strings_cannot_fill_memory(login, client, organisation):
    """Every query string is a page of its own: the cache stays within its bytes."""
    sign_in(login, client, Role.MEMBER)
    first = client.get("/organisations/?q=0")
    page_bytes = len(first.get_data())
    urls = [f"/organisations/?q={number}" for number in range(1, 3 * 100_000 // page_bytes + 2)]
    for url in urls:
        client.get(url)

    assert page_cache.size_bytes() <= 100_000
    # The least recently used pages made room; the newest is served from the cache.
    assert "X-Page-Cache" not in client.get("/organisations/?q=0").headers
    assert client.get(urls[-1]).headers["X-Page-Cache"] == "hit"
