"""Profiles and the office in a real browser: an admin gives the office a logo and a colour,
which every page then wears (with no inline style for the CSP to block); a member puts
themselves on the public page with a photo; the pages fit a 390 px wide phone."""

import re

import pytest

from crm.auth.models import Role
from tests.browser.helpers import sign_in
from tests.images import png

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright").expect

pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True)

PHONE = {"width": 390, "height": 844}
# An image's width once the browser has it: visible is not loaded (on a busy machine the
# width read at once was 0).
LOADED_WIDTH = "image => image.decode().then(() => image.naturalWidth)"


def watch_csp(page):
    """Messages of what the page's Content Security Policy refused."""
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return refused


def fits(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_an_admin_gives_the_office_a_logo_and_colour_that_every_page_wears(
    page, make_user, tmp_path
):
    admin = make_user(Role.ADMIN, name="Astrid Admin")
    refused = watch_csp(page)
    logo = tmp_path / "logo.png"
    logo.write_bytes(png((320, 80), (200, 30, 30)))
    sign_in(page, admin)

    page.goto("/admin/settings")
    page.get_by_label("Office name in Swedish").fill("Innovation- och företagssamverkan")
    page.get_by_label("Office name in English").fill("Innovation and industry collaboration")
    page.get_by_label("Logo").set_input_files(str(logo))
    page.get_by_label("Accent colour").fill("#5a2d82")
    page.get_by_role("button", name="Save settings").click()

    expect(page.get_by_text("Settings saved.")).to_be_visible()
    header = page.locator(".site-header")
    expect(header).to_have_css("background-color", "rgb(90, 45, 130)")
    expect(header.locator(".brand-name")).to_have_text("Innovation and industry collaboration")
    logo_image = header.locator("img.brand-logo")
    expect(logo_image).to_be_visible()
    assert logo_image.evaluate(LOADED_WIDTH) == 320

    visitor = page.context.browser.new_context(base_url=page.url.split("/admin")[0])
    public = visitor.new_page()
    public.goto("/?lang=sv")
    expect(public.get_by_role("heading", level=1)).to_have_text("Innovation- och företagssamverkan")
    expect(public.locator(".site-header")).to_have_css("background-color", "rgb(90, 45, 130)")
    assert public.locator("img.brand-logo").evaluate(LOADED_WIDTH) == 320
    visitor.close()
    assert refused == []


def test_a_member_becomes_a_public_contact_with_a_photo(page, make_user, tmp_path):
    member = make_user(Role.MEMBER, name="Maja Lind", email="maja.lind@example.org")
    photo = tmp_path / "maja.jpg"
    photo.write_bytes(png((400, 400), (30, 120, 60)))
    refused = watch_csp(page)
    sign_in(page, member)

    page.get_by_role("banner").get_by_role("link", name=re.compile("Maja Lind")).click()
    expect(page).to_have_url(re.compile(r"/account/$"))
    page.get_by_label("Title").fill("Innovation advisor")
    page.get_by_label("Phone").fill("+46 31 123 45 67")
    page.get_by_label("Diagnostics").check()
    page.get_by_label("Photo").set_input_files(str(photo))
    page.get_by_label("Show me as a contact person on the public page").check()
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Your profile has been saved.")).to_be_visible()
    expect(page.get_by_alt_text("Photo of Maja Lind")).to_be_visible()
    page.goto("/?lang=en")
    person = page.locator(".public-contact", has_text="Maja Lind")
    expect(person).to_contain_text("Innovation advisor")
    expect(person.get_by_role("link", name="+46 31 123 45 67")).to_be_visible()
    assert person.locator("img").evaluate(LOADED_WIDTH) == 400
    assert refused == []


def test_the_pages_fit_a_phone(browser, live_server, make_user, db):
    admin = make_user(Role.ADMIN, name="Astrid Administratörsdotter-Lindqvist")
    member = make_user(Role.MEMBER, name="Maja Member")
    member.is_public_contact = True
    member.title = "Innovationsrådgivare med ansvar för kliniska studier och diagnostik"
    db.session.commit()
    context = browser.new_context(base_url=live_server, viewport=PHONE)
    page = context.new_page()
    sign_in(page, admin)

    for path in (
        "/account/",
        "/admin/users",
        f"/admin/users/{member.id}",
        "/admin/settings",
        "/?lang=sv",
    ):
        page.goto(path)
        assert fits(page), path
    context.close()
