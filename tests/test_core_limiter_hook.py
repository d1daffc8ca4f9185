"""The app takes Flask-Limiter's check off every request (register_extensions in
crm/__init__.py): each limit here is a decorator on its view, which checks it itself. That
reaches into Flask-Limiter's private `_check_request_limit`. When a new Flask-Limiter renames
or replaces it, these tests fail, rather than the app quietly paying for the check on every
request again. The limits themselves are tested where they are used (test_auth_login.py,
test_enquiries_form.py)."""

import pytest
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from crm.extensions import limiter


def _limiter_hooks(app, extension):
    return [
        hook
        for hook in app.before_request_funcs.get(None, [])
        if getattr(hook, "__self__", None) is extension
    ]


def test_flask_limiter_still_checks_every_request_through_the_hook_the_app_removes():
    bare = Flask(__name__)
    extension = Limiter(key_func=get_remote_address, app=bare, storage_uri="memory://")

    assert _limiter_hooks(bare, extension) == [extension._check_request_limit], (
        "Flask-Limiter's per-request hook changed: update register_extensions in crm/__init__.py"
    )


@pytest.mark.config(RATELIMIT_ENABLED=True)
def test_the_app_runs_no_flask_limiter_hook_before_a_request(app):
    assert _limiter_hooks(app, limiter) == []
