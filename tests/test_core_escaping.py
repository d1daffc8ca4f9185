"""What people type is escaped on every page, including inside translated messages."""

PAYLOAD = '<script>alert("x")</script>'


def test_a_typed_domain_in_an_error_message_is_escaped(client, login):
    login("member")
    response = client.post(
        "/organisations/new",
        data={"kind": "company", "name": "Escape AB", "country": "SE", "email_domains": PAYLOAD},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert PAYLOAD not in page
    assert "&lt;script&gt;" in page
