"""Saved views: saving a list's filters under a name, sharing, the default that opens the
list, deleting; other people's private views stay private."""

import sqlalchemy as sa

from crm.enquiries.models import Topic
from crm.saved_views import services
from crm.saved_views.models import SavedView, SavedViewDefault


def save(client, list_name, query, name, **flags):
    data = {"view-list_name": list_name, "view-query": query, "view-name": name}
    data.update({f"view-{key}": "y" for key, on in flags.items() if on})
    return client.post("/saved-views/", data=data)


def view_named(db, name):
    return db.session.scalar(sa.select(SavedView).where(SavedView.name == name))


def test_save_a_view_and_open_it_from_the_bar(client, db, signed_in, make_organisation):
    signed_in("member")
    make_organisation("Alpha AB", kind="university")
    make_organisation("Beta AB")

    html = client.get("/organisations/?kind=university&sort=-updated&page=2").get_data(as_text=True)
    assert "Save these filters as a view" in html
    assert 'value="kind=university&amp;sort=-updated"' in html  # paging is not kept

    response = save(client, "organisations", "kind=university&sort=-updated&page=2", "Universities")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/organisations/?kind=university&sort=-updated")
    view = view_named(db, "Universities")
    assert view.query == "kind=university&sort=-updated"
    assert not view.is_shared

    html = client.get("/organisations/").get_data(as_text=True)
    assert '<a href="/organisations/?kind=university&amp;sort=-updated">Universities</a>' in html
    html = client.get("/organisations/?kind=university&sort=-updated").get_data(as_text=True)
    assert 'aria-current="page">Universities</a>' in html
    assert "Alpha AB" in html and "Beta AB" not in html


def test_saving_again_under_the_same_name_updates_the_view(client, db, signed_in):
    signed_in("member")
    save(client, "activities", "status=planned", "Mine")
    save(client, "activities", "status=completed", "Mine")
    views = db.session.scalars(sa.select(SavedView)).all()
    assert [(v.name, v.query) for v in views] == [("Mine", "status=completed")]


def test_default_view_opens_the_list_and_can_be_left(client, db, signed_in, make_enquiry):
    user = signed_in("coordinator")
    make_enquiry(topic=Topic.OTHER)
    save(client, "enquiries", "status=all&topic=other", "Other topics", make_default=True)
    view = view_named(db, "Other topics")
    assert services.default_view(user, "enquiries").id == view.id

    response = client.get("/enquiries/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/enquiries/?status=all&topic=other")
    html = client.get("/enquiries/?status=all&topic=other").get_data(as_text=True)
    assert "your default" in html

    # A query (or ?view=none) shows the list as asked.
    assert client.get("/enquiries/?view=none").status_code == 200
    assert client.get("/enquiries/?status=open").status_code == 200

    client.post("/saved-views/default/enquiries/clear")
    assert client.get("/enquiries/").status_code == 200
    assert db.session.scalars(sa.select(SavedViewDefault)).all() == []

    client.post(f"/saved-views/{view.id}/default")
    assert client.get("/enquiries/").status_code == 302


def test_shared_views_are_listed_for_everyone_private_ones_are_not(
    client, db, auth, signed_in, make_user
):
    owner = make_user("member", name="Sara Sharer")
    signed_in(owner)
    save(client, "contacts", "do_not_contact=yes", "Do not contact", shared=True)
    save(client, "contacts", "q=anna", "My private one")
    shared = view_named(db, "Do not contact")
    private = view_named(db, "My private one")
    auth.logout()

    other = signed_in("member")
    html = client.get("/contacts/").get_data(as_text=True)
    assert "Do not contact" in html
    assert "shared by Sara Sharer" in html
    assert "My private one" not in html
    # Another's private view cannot be made a default or deleted; a shared one cannot be
    # deleted by someone else.
    assert client.post(f"/saved-views/{private.id}/default").status_code == 404
    assert client.get(f"/saved-views/{shared.id}/delete").status_code == 404
    assert client.post(f"/saved-views/{private.id}/delete").status_code == 404
    # A shared view may be another user's default.
    client.post(f"/saved-views/{shared.id}/default")
    assert services.default_view(other, "contacts").id == shared.id
    assert client.get("/contacts/").headers["Location"].endswith("/contacts/?do_not_contact=yes")


def test_delete_asks_first_and_removes_the_defaults(client, db, signed_in):
    signed_in("member")
    save(client, "organisations", "kind=company", "Companies", make_default=True)
    view = view_named(db, "Companies")
    html = client.get(f"/saved-views/{view.id}/delete").get_data(as_text=True)
    assert "Delete the view Companies?" in html
    assert view_named(db, "Companies") is not None
    response = client.post(f"/saved-views/{view.id}/delete")
    assert response.status_code == 302
    db.session.expire_all()
    assert view_named(db, "Companies") is None
    assert db.session.scalars(sa.select(SavedViewDefault)).all() == []
    assert client.get("/organisations/").status_code == 200


def test_bad_input_saves_nothing(client, db, signed_in):
    signed_in("member")
    assert save(client, "nonsense", "q=x", "Name").status_code == 400
    response = save(client, "contacts", "q=x", "")
    assert response.status_code == 302
    response = save(client, "contacts", "q=x", "x" * 200)
    assert response.status_code == 302
    response = save(client, "contacts", "q=" + "x" * 3000, "Too long")
    assert response.status_code == 302
    assert db.session.scalars(sa.select(SavedView)).all() == []
    assert client.post("/saved-views/default/nonsense/clear").status_code == 404
    assert client.post("/saved-views/99999/default").status_code == 404


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.post("/saved-views/", data={"view-list_name": "contacts"})
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
