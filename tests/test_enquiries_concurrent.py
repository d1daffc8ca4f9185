"""First enquiries at once on SQLite: every one is received, none is refused as "locked".

The real app on a fresh SQLite database file, served by a threaded server; a dozen visitors
each open the form (with CSRF on, as in production) and then all send it at the same moment,
before any privacy notice version is stored, so they race to store version 1 while each
stores its enquiry. SQLite has one writer at a time: a submission must wait for the write
lock, not answer 503.
"""

import html
import re
import threading

import pytest
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

from crm.enquiries.models import Enquiry
from crm.extensions import db as _db
from crm.privacy.models import PrivacyNotice
from tests.conftest import build_app

CLIENTS = 12
VALID = {
    "name": "Anna Andersson",
    "email": "anna@kvarnbo.example",
    "organisation_name": "Kvarnbo Genomik AB",
    "organisation_type": "company",
    "topic": "clinical_studies",
    "message": "We would like to discuss a clinical study on hereditary cancer.",
    "acknowledgement": "y",
}
HIDDEN = ("csrf_token", "form_token", "consent_text_id")


@pytest.fixture
def sqlite_server(tmp_path):
    """(base URL, app) for the app on a new SQLite file, with CSRF on, behind a real server."""
    app = build_app(f"sqlite:///{tmp_path / 'load.sqlite3'}", WTF_CSRF_ENABLED=True)
    with app.app_context():
        _db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="load-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    with app.app_context():
        _db.engine.dispose()


def _hidden_fields(page):
    fields = {}
    for name in HIDDEN:
        match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page)
        assert match, f"no hidden field {name}"
        fields[name] = html.unescape(match.group(1))
    return fields


def test_first_enquiries_sent_at_once_are_all_received(sqlite_server):
    base, app = sqlite_server
    visitors = [requests.Session() for _ in range(CLIENTS)]
    forms = []
    for number, visitor in enumerate(visitors):
        page = visitor.get(f"{base}/contact?lang=en", timeout=10)
        assert page.status_code == 200
        forms.append({**VALID, **_hidden_fields(page.text), "name": f"Visitor {number}"})
    with app.app_context():
        assert _db.session.scalar(sa.select(sa.func.count(PrivacyNotice.id))) == 0

    start = threading.Barrier(CLIENTS)
    answers = [None] * CLIENTS

    def send(number):
        start.wait()
        answers[number] = visitors[number].post(
            f"{base}/contact?lang=en", data=forms[number], allow_redirects=False, timeout=30
        )

    threads = [threading.Thread(target=send, args=(number,)) for number in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = [answer.status_code if answer is not None else None for answer in answers]
    assert statuses == [303] * CLIENTS
    assert all("/contact/thanks" in answer.headers["Location"] for answer in answers)
    thanks = visitors[0].get(base + answers[0].headers["Location"], timeout=10)
    assert re.search(r"ENQ-\d{4}-\d{5}", thanks.text)
    with app.app_context():
        names = _db.session.scalars(sa.select(Enquiry.name)).all()
        assert sorted(names) == sorted(f"Visitor {number}" for number in range(CLIENTS))
        notices = _db.session.scalars(sa.select(PrivacyNotice)).all()
        assert [notice.version for notice in notices] == [1]
        notice_ids = set(_db.session.scalars(sa.select(Enquiry.privacy_notice_id)))
        assert notice_ids == {notices[0].id}
