def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"<label" in response.data


def test_signed_in_user_sees_their_name(client, login):
    user = login("coordinator")
    response = client.get("/dashboard/")
    assert response.status_code == 200
    assert user.name in response.get_data(as_text=True)
