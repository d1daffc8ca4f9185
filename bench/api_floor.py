"""A yardstick for the API's list: the least a token-authenticated page of organisations
can cost in this stack, served by gunicorn as the CRM is (`bench.api_floor:app`).

Flask and SQLAlchemy Core on the CRM's database, and nothing else: the bearer token's hash
looked up with its user (one query), the first 25 live organisations in name order (one
query), their columns as JSON. No rate limit, no collections (sectors, tags, domains,
memberships), no query arguments, no hooks, no audit. It is what the benchmark's API row
would cost if the API did no more than that, so the row can be read against it
(README, Benchmark).
"""

import hashlib
import os

import sqlalchemy as sa
from flask import Flask, request

app = Flask(__name__)
engine = sa.create_engine(os.environ["DATABASE_URL"])
metadata = sa.MetaData()
tokens = sa.Table("api_tokens", metadata, autoload_with=engine)
users = sa.Table("users", metadata, autoload_with=engine)
organisations = sa.Table("organisations", metadata, autoload_with=engine)

TOKEN = (
    sa.select(tokens.c.id, tokens.c.scope, tokens.c.revoked_at, tokens.c.expires_at, users.c.id)
    .join(users, users.c.id == tokens.c.user_id)
    .where(tokens.c.token_hash == sa.bindparam("hash"), users.c.active.is_(True))
)
COLUMNS = ("id", "kind", "name", "org_number", "website", "country", "city", "size_class")
PAGE = (
    sa.select(*[organisations.c[name] for name in COLUMNS])
    .where(organisations.c.deleted_at.is_(None))
    .order_by(organisations.c.name_key, organisations.c.id)
    .limit(26)
)


@app.route("/api/v1/organisations/")
def organisations_page():
    raw = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    with engine.connect() as connection:
        digest = hashlib.sha256(raw.encode()).hexdigest()
        token = connection.execute(TOKEN, {"hash": digest}).first()
        if token is None or token.revoked_at is not None:
            return {"status": 401}, 401
        rows = connection.execute(PAGE).all()
    items = [dict(zip(COLUMNS, row, strict=True)) for row in rows[:25]]
    return {"items": items, "next_cursor": "x" if len(rows) > 25 else None}
