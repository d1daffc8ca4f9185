"""Every page of the role matrix in a real browser, for every role (issue 19).

Each role signs in through the real form and opens every GET page of the role matrix
(tests/security/test_role_matrix.py) that it may open, with the ids of the demo data set. What
is a page is decided by the answer, not by a list: only an answer with an HTML content type is
opened (CSV exports, calendar feeds, images, style sheets, JSON and downloads are not pages),
and an answer that only redirects is left out, as the page it sends to is on the list itself.

- On a phone (390 × 844) no page of any role scrolls sideways: the page is no wider than the
  window. The report names, for each page too wide, the outermost elements that stick out
  and, below each, the innermost one: where the width comes from.
- axe-core, the accessibility checker, finds no serious or critical violation on any page.
  It runs on a desktop (1366 × 900) and on a phone for the admin (every staff page) and for
  a visitor (the public pages), and on a desktop for the member and the viewer, whose pages
  differ from the admin's by what they may do, not by layout. The coordinator's pages are the
  admin's less administration, so axe does not run them again. (Running axe for every role
  at both sizes took the module past three minutes.)

axe-core comes from the npm registry, installed by `make install` into the venv (never a
CDN, never committed). Without it a test that would run axe still checks the width, then
skips, except in CI (CRM_REQUIRE_BROWSER), where it fails. The pages are shown in Swedish,
the default language and the longer one.

Every test collects all the problems of its role and size before it fails, so one run lists
them all. The nine tests take under three minutes together (the admin's two about 40 s
each), under two minutes on two workers.
"""

import re
from collections import defaultdict
from pathlib import Path

import pytest

from crm import demo_data
from tests.browser.conftest import TIMEOUT_MS, _unavailable
from tests.security.conftest import staff_rules
from tests.security.test_role_matrix import ACCESS, RANK

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright").expect

pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True)

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".venv" / "node" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
SIZES = {"phone": PHONE, "desktop": DESKTOP}
# Where axe runs, by role. The sideways check runs for every role, on a phone.
AXE_SIZES = {
    "admin": ("desktop", "phone"),
    "member": ("desktop",),
    "viewer": ("desktop",),
    "anonymous": ("desktop", "phone"),
}
SERIOUS = ("serious", "critical")
# Not opened: a signed-in person is sent on from the sign-in page, the second step of signing
# in needs a first, and single sign-on needs a provider (as in the role matrix).
NOT_VISITED = {
    "auth.two_factor_login",
    "auth.oidc_login",
    "auth.oidc_callback",
    "auth.oidc_confirm",
}

# The admin's two, the longest, first: pytest-xdist hands them to the two workers at once.
CASES = [("admin", "phone"), ("admin", "desktop")]
CASES += [(role, "phone") for role in RANK if role != "admin"]
CASES += [(role, "desktop") for role in AXE_SIZES if role != "admin"]


# What makes a page too wide, outermost first: each element whose box sticks out of the
# window on the right while its parent's does not (or whose own text runs over), named after
# its parent, then the innermost elements inside it that still reach past the window, with
# the start of their text. What is in a box that scrolls or clips on its own is left alone.
STICKING_OUT = """
() => {
  const width = window.innerWidth + 0.5;
  const clips = (el) => getComputedStyle(el).overflowX !== "visible";
  const own = (el) => el.getBoundingClientRect().right;
  const reach = (el) => {
    const box = el.getBoundingClientRect();
    return clips(el) ? box.right : Math.max(box.right, box.left + el.clientLeft + el.scrollWidth);
  };
  const over = (el) => [...el.children].filter((child) => reach(child) > width);
  const tag = (el) => {
    const id = el.getAttribute("id");  // a form's el.id may be its field named "id"
    let label = el.tagName.toLowerCase() + (id ? "#" + id : "");
    for (const cls of el.classList) label += "." + cls;
    return label;
  };
  const name = (el, text) => {
    let label = tag(el);
    const words = text ? (el.textContent || "").trim().replace(/\\s+/g, " ") : "";
    if (words) label += ' "' + words.slice(0, 30) + (words.length > 30 ? "…" : "") + '"';
    return label + " (right " + Math.round(reach(el)) + ")";
  };
  const outermost = [];
  const walk = (el) => {
    const children = over(el);
    if (!children.length && el !== document.body) outermost.push(el);
    for (const child of children) {
      if (own(child) > width || clips(child)) outermost.push(child);
      else walk(child);
    }
  };
  walk(document.body);
  const innermost = (el) => {
    const children = clips(el) ? [] : over(el);
    return children.length ? children.flatMap(innermost) : [el];
  };
  return outermost.slice(0, 4).map((outer) => {
    const inner = innermost(outer).filter((el) => el !== outer).slice(0, 3);
    const text = inner.length ? " > … > " + inner.map((el) => name(el, true)).join(", ") : "";
    const parent = outer.parentElement === document.body ? "" : tag(outer.parentElement) + " > ";
    return parent + name(outer, !inner.length) + text;
  });
}
"""


def pages_for(app, demo, role):
    """The URLs of the GET pages of the role matrix that the role may open."""
    rank = RANK[role]
    urls = []
    for rule in staff_rules(app, methods=("GET",)):
        level = ACCESS[rule.endpoint][0]
        if level is None or rank < level or rule.endpoint in NOT_VISITED:
            continue
        if rule.endpoint == "auth.login" and role != "anonymous":
            continue
        urls.append(demo.url_for_endpoint(rule))
    return urls


def sign_in(page, demo, role):
    page.goto("/login?lang=sv")
    if role == "anonymous":
        return
    page.get_by_label("E-post").fill(demo.users[role].email)
    page.get_by_label("Lösenord", exact=True).fill(demo_data.DEMO_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


def is_html_page(page, url):
    """Whether the URL answers with an HTML page of its own (asked without opening it)."""
    answer = page.request.get(url, max_redirects=0)
    kind = answer.headers.get("content-type", "")
    return not 300 <= answer.status < 400 and kind.startswith("text/html")


@pytest.mark.parametrize(("role", "size"), CASES, ids=[f"{r}-{s}" for r, s in CASES])
def test_every_page_fits_a_phone_and_has_no_serious_accessibility_violation(
    app, browser, live_server, demo, role, size
):
    # Without axe-core the sideways check still runs; the test then skips (fails in CI).
    axe_missing = size in AXE_SIZES.get(role, ()) and not AXE.is_file()
    run_axe = size in AXE_SIZES.get(role, ()) and not axe_missing
    context = browser.new_context(base_url=live_server, viewport=SIZES[size], locale="sv-SE")
    context.set_default_timeout(TIMEOUT_MS)
    if run_axe:
        # As a script of the browser's own, which the page's Content-Security-Policy allows.
        context.add_init_script(path=AXE)
    page = context.new_page()
    too_wide = []
    violations = defaultdict(list)  # (rule, impact, help): ["url: targets"]
    visited = 0
    try:
        sign_in(page, demo, role)
        for url in pages_for(app, demo, role):
            if not is_html_page(page, url):
                continue
            answer = page.goto(url)
            assert answer.status < 500, f"{url}: {answer.status}"
            visited += 1
            if size == "phone":
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > page.evaluate("window.innerWidth"):
                    culprits = "; ".join(page.evaluate(STICKING_OUT))
                    too_wide.append(f"{url} is {width} px wide: {culprits}")
            if run_axe:
                result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
                for violation in result["violations"]:
                    if violation["impact"] not in SERIOUS:
                        continue
                    key = (violation["id"], violation["impact"], violation["help"])
                    targets = [" ".join(node["target"]) for node in violation["nodes"][:3]]
                    more = len(violation["nodes"]) - len(targets)
                    violations[key].append(
                        f"{url}: {', '.join(targets)}" + (f" (and {more} more)" if more else "")
                    )
    finally:
        context.close()

    assert visited > 0
    report = [f"{role} on a {size}, {visited} pages"]
    if too_wide:
        report.append(f"scrolls sideways ({len(too_wide)} pages):")
        report += [f"  {line}" for line in too_wide]
    for (rule, impact, help_text), where in sorted(violations.items()):
        report.append(f"axe {rule} ({impact}: {help_text}), {len(where)} pages:")
        report += [f"  {line}" for line in where]
    assert not too_wide and not violations, "\n".join(report)
    if axe_missing:
        _unavailable(f"the accessibility check needs axe-core at {AXE} (make install, with npm)")
