"""Schemathesis against the generated OpenAPI document: every operation, called with data
generated from its schema (valid, then invalid) and an admin's read-write token, never
answers 5xx and always answers as the document says (status, content type, body).

Schemathesis' own pytest integration (schemathesis.pytest.from_fixture) reads a private
attribute pytest 9 no longer has, so the operations are driven here with Hypothesis.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from crm.auth.models import Role
from crm.extensions import db
from tests.factories import make_organisation

EXAMPLES_PER_OPERATION = 25


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=lambda mode: mode.value)
def test_every_operation_answers_as_documented(app, api_client, mode):
    raw_token = api_client(Role.ADMIN).raw_token
    # Some records, so that reads by id and the lists' filters meet real rows too.
    make_organisation("Lif", kind="industry_association")
    make_organisation("Acme AB", city="Lund", tags=["onkologi"], sectors=["pharma"])
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)

    # The token through Schemathesis' own hook, so that a case it means to send without
    # one (to check that it is refused) is sent without one.
    @schema.auth()
    class BearerToken:
        def get(self, case, context):
            return raw_token

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    failures = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case):
            # Data the schema allows may still break a rule the forms hold (a check digit,
            # a unique number, a cursor this list gave out): a 4xx with problem details
            # is then the right answer, so that one check is left out.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        try:
            call()
        except Exception as error:  # noqa: BLE001 (each operation's failure is reported)
            failures[operation.label] = str(error)[:3000]
            # The requests share this test's session: an error the database raised must not
            # leave it aborted for the next operations (PostgreSQL), which would then all fail.
            db.session.rollback()
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
