"""Browser fixtures: the test's app served on a free port, driven by Debian's Chromium.

The tests skip when Chromium or Playwright is missing, unless CRM_REQUIRE_BROWSER is set
(as in CI), where a missing browser must fail the run instead of passing it quietly.
"""

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

# The demo data set with the ids that fill the URL map (shared with tests/security).
from tests.demo_pages import demo  # noqa: F401

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TIMEOUT_MS = 10_000
HERE = Path(__file__).resolve().parent

if os.environ.get("CRM_REQUIRE_BROWSER"):
    # Test modules skip when Playwright is missing; in CI that must be an error instead.
    import playwright.sync_api  # noqa: F401


def pytest_collection_modifyitems(items):
    # This hook sees every collected test, not only those below this folder.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


def _unavailable(reason):
    if os.environ.get("CRM_REQUIRE_BROWSER"):
        pytest.fail(f"{reason} (CRM_REQUIRE_BROWSER is set)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def live_server(app):
    """The test's app on http://127.0.0.1:<free port>; each request gets its own app context."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"browser tests need Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _unavailable("browser tests need Playwright for Python (pip install -e '.[test]')")
    expect.set_options(timeout=TIMEOUT_MS)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
    except Exception:
        playwright.stop()
        raise
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context and page per test; relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()
