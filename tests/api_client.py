"""A test client for the REST API: every request carries a real token of a real user."""

from crm.auth import api_tokens
from crm.auth.models import ApiScope
from crm.extensions import db


class ApiClient:
    def __init__(self, client, user, raw_token, token):
        self.client = client
        self.user = user
        self.raw_token = raw_token
        self.token = token

    @property
    def headers(self):
        return {"Authorization": f"Bearer {self.raw_token}"}

    def open(self, method, path, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.open("POST", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.open("PATCH", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.open("DELETE", path, **kwargs)

    def walk(self, path, query=""):
        """(every item of a list, the number of pages), page by page by next_cursor."""
        items, cursor, pages = [], None, 0
        while True:
            response = self.get(f"{path}?{query}" + (f"&cursor={cursor}" if cursor else ""))
            assert response.status_code == 200, response.get_data(as_text=True)
            items += response.json["items"]
            cursor = response.json["next_cursor"]
            pages += 1
            if cursor is None:
                return items, pages


def token_for(user, scope=ApiScope.WRITE, *, name="Test integration", days=30):
    token, raw = api_tokens.create_api_token(
        user, name=name, scope=ApiScope(scope), days=days, actor=user
    )
    db.session.commit()
    return token, raw
