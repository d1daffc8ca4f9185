"""The API's messages about the input's shape, in the request's language."""

import marshmallow as ma
from marshmallow import fields, validate

from crm.api.messages import knows
from crm.auth.models import Role
from tests.factories import make_organisation


def test_every_message_of_the_libraries_the_api_meets_is_known():
    """marshmallow's and webargs' wording, read from the libraries: a change in a new
    version fails here, not silently in English."""
    used = (
        fields.Field,
        fields.String,
        fields.Integer,
        fields.Number,
        fields.Boolean,
        fields.List,
        fields.Dict,
        fields.Date,
        fields.Nested,
    )
    messages = [
        message
        for field_class in used
        for key, message in field_class.default_error_messages.items()
        if key not in ("format",)
    ]
    messages += [fields.AwareDateTime().error_messages["invalid"].format(obj_type="datetime")]
    messages += [
        fields.AwareDateTime()
        .error_messages["invalid_awareness"]
        .format(awareness="aware", obj_type="datetime")
    ]
    messages += list(ma.Schema._default_error_messages.values())
    messages += [
        validate.Length(1, 200)._format_error("", validate.Length.message_all),
        validate.Length(max=200)._format_error("", validate.Length.message_max),
        validate.Length(min=2)._format_error("", validate.Length.message_min),
        validate.Length(equal=2)._format_error("", validate.Length.message_equal),
        validate.Range(1, 100).message_all.format(min=1, max=100),
        validate.Range(min=1).message_min.format(min=1),
        validate.Range(max=9).message_max.format(max=9),
        validate.OneOf(["a", "b"]).default_message.format(choices="a, b"),
        validate.Regexp("x").default_message,
        "Invalid JSON body.",
    ]
    unknown = [message for message in messages if not knows(message)]
    assert unknown == []


def test_a_refused_input_is_explained_in_the_language_asked_for(api_client):
    api = api_client(Role.MEMBER)
    make_organisation("Acme AB")
    body = {"kind": "bank", "name": "", "tags": "onkologi", "is_partner": "yes", "extra": 1}

    swedish = api.post("/api/v1/organisations/", json=body, headers={"Accept-Language": "sv"})
    english = api.post("/api/v1/organisations/", json=body, headers={"Accept-Language": "en"})

    assert swedish.status_code == english.status_code == 422
    in_swedish = {error["field"]: error["detail"] for error in swedish.json["errors"]}
    in_english = {error["field"]: error["detail"] for error in english.json["errors"]}
    assert set(in_swedish) == set(in_english) == {"kind", "name", "tags", "is_partner", "extra"}
    assert in_english["name"] == "Length must be between 1 and 200."
    assert in_english["extra"] == "Unknown field."
    for field in in_swedish:
        assert in_swedish[field] != in_english[field], field
    assert "1" in in_swedish["name"] and "200" in in_swedish["name"]
    assert swedish.json["title"] != english.json["title"]
    query = api.get("/api/v1/organisations/?limit=0", headers={"Accept-Language": "sv"})
    assert (
        query.json["errors"][0]["detail"]
        != "Must be greater than or equal to 1 and less than or equal to 100."
    )
