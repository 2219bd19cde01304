"""Schemathesis against the API as it is served: the schema read from a live server's
/api/v1/schema/, every operation called over HTTP with generated requests, as the owner (a
JWT), on the owner's real objects. Any 5xx, any status the schema does not list, any body
or content type that contradicts it, is a failure. The run's figures are printed in the
terminal summary (tests/conftest.py, `pytest_terminal_summary`)."""

import re
import time

import hypothesis
import pytest
import responses
import schemathesis
from hypothesis import HealthCheck, Phase
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .api_world import build_world
from .templates_app import meta_shapes

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db(transaction=True)]

EXAMPLES_PER_OPERATION = 6
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _path_parameters(operation, world) -> dict:
    """Real ids, so the calls reach the views' work instead of their 404s."""
    path = operation.path
    resource = world.campaign
    if path.startswith("/api/v1/whatsapp-accounts/"):
        resource = world.account
    elif path.startswith("/api/v1/templates/"):
        resource = world.template
    elif path.startswith("/api/v1/opt-outs/"):
        resource = world.opt_out
    ids = {"id": str(resource.pk), "report_id": str(world.report.pk)}
    return {k: v for k, v in ids.items() if "{" + k + "}" in path}


def _order(operation) -> tuple:
    # Deletions last (the campaign before its account), so that they do not take the other
    # operations' objects away.
    if operation.method.upper() != "DELETE":
        return (0, operation.path, operation.method)
    return (1 if "/campaigns/" in operation.path else 2, operation.path, operation.method)


def _fuzz(operation, *, world, base_url, headers, tally) -> None:
    strategy = operation.as_strategy(path_parameters=_path_parameters(operation, world) or None)

    @hypothesis.given(case=strategy)
    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases on every CI run
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        tally["examples"] += 1
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        tally["statuses"][response.status_code] = tally["statuses"].get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS)

    run()


def test_the_served_api_conforms_to_its_schema_under_generated_requests(
    live_server, workspace_a, owner, record_property
):
    # given: the owner's workspace with an object of each kind, and the owner's token
    world = build_world(workspace_a)
    headers = {"Authorization": f"Bearer {RefreshToken.for_user(owner).access_token}"}
    started = time.monotonic()

    # when: the schema is read from the server, and every operation fuzzed
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema/")
    operations = sorted((r.ok() for r in schema.get_all_operations()), key=_order)
    tally = {"examples": 0, "statuses": {}}
    failures = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as meta:
        # The server's calls to Meta (sync-templates) are answered here; ours pass through.
        meta.add_passthru(live_server.url)
        # Any WABA id: the fuzzed PUT and PATCH change the account's.
        meta.add(
            responses.GET,
            re.compile(r".*/message_templates.*"),
            json={"data": meta_shapes.ALL, "paging": {"cursors": {}}},
        )
        for operation in operations:
            try:
                _fuzz(
                    operation, world=world, base_url=live_server.url, headers=headers, tally=tally
                )
            except (Exception, BaseExceptionGroup) as exc:  # every operation is reported
                first = str(exc).strip().splitlines()[:6]
                failures.append(
                    f"{operation.method.upper()} {operation.path}: " + " | ".join(first)
                )

    # then
    seconds = time.monotonic() - started
    statuses = ", ".join(f"{code}×{n}" for code, n in sorted(tally["statuses"].items()))
    summary = [
        f"Schemathesis {schemathesis.SCHEMATHESIS_VERSION}, schema served by {live_server.url}",
        f"operations tested: {len(operations)}; examples: {tally['examples']} "
        f"(up to {EXAMPLES_PER_OPERATION} each); failures: {len(failures)}; {seconds:.1f} s",
        f"responses: {statuses}",
        *failures,
    ]
    record_property("summary", "\n".join(summary))
    assert len(operations) >= 30  # the whole API, not a schema that failed to load
    assert tally["examples"] >= len(operations)
    assert failures == []
