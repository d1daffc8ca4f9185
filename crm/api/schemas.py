"""What every API resource shares: list arguments, the list envelope, record timestamps."""

import marshmallow as ma
from flask import request

from crm.core.records import MAX_ID

MAX_LIMIT = 100
# A record id in a route: anything else is not found, and the document says so.
ID = f"int(min=1, max={MAX_ID})"


def location_of(record):
    """The Location header of a 201: the new record's address, under the list it was posted to."""
    return {"Location": request.path.rstrip("/") + f"/{record.id}"}


class StrictBoolean(ma.fields.Boolean):
    """JSON's true or false, as the document says: marshmallow's Boolean would also take 1,
    "yes" or "on", which a client sending them has likely mixed up with another field. (Query
    arguments are text, and keep marshmallow's reading of "true" and "false".)"""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class ListArgs(ma.Schema):
    """Arguments every list takes; each resource adds its own filters and sort keys."""

    cursor = ma.fields.String(
        validate=ma.validate.Length(max=2000),
        metadata={"description": "From the previous page's next_cursor."},
    )
    limit = ma.fields.Integer(
        load_default=25, validate=ma.validate.Range(1, MAX_LIMIT), metadata={"maximum": MAX_LIMIT}
    )
    updated_since = ma.fields.AwareDateTime(
        metadata={"description": "Only records changed at or after this moment (ISO 8601)."}
    )


def list_schema(item_schema, name):
    """The envelope of a list of `item_schema`: {"items": [...], "next_cursor": ...}."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "next_cursor": ma.fields.String(
                allow_none=True,
                required=True,
                metadata={"description": "Pass as ?cursor= for the next page; null on the last."},
            ),
        },
        name=name,
    )


class RecordSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    created_at = ma.fields.AwareDateTime(dump_only=True)
    updated_at = ma.fields.AwareDateTime(dump_only=True)


class SoftDeletedSchema(RecordSchema):
    deleted_at = ma.fields.AwareDateTime(dump_only=True, allow_none=True)
