"""The route Route 53's health checks call in each region (infra/aws/serverless.py): the HTTP function's
`/readyz`, which reads the region's store and connections tables, so a region whose DynamoDB cannot answer
is reported down and its host names fail over; `/healthz` stays up (the function itself runs)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.serverless.runtime import Runtime
from tests.serverless.conftest import Deployment, close, http_event


def get(runtime: Runtime, path: str) -> tuple[int, dict[str, Any]]:
    response = runtime.http(http_event("GET", path), None)
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize("broken", [None, "store", "connections"])
def test_readyz_fails_while_a_table_of_the_region_cannot_answer(deployment: Deployment, broken: str | None) -> None:
    overrides: dict[str, str] = {}
    if broken == "store":
        overrides["database_url"] = deployment.store_url.replace("prefix=", "prefix=missing-")
    if broken == "connections":
        overrides["bus_url"] = deployment.bus_url.replace("table=", "table=missing-")
    runtime = Runtime(deployment.settings(**overrides))
    try:
        status, body = get(runtime, "/readyz")
        if broken is None:
            assert (status, body["checks"]) == (200, {"store": "ok", "bus": "ok"})
        else:
            assert status == 503 and body["error"]["code"] == "unavailable"
            failed = {name for name, result in body["checks"].items() if result != "ok"}
            assert failed == {"store" if broken == "store" else "bus"}
        assert get(runtime, "/healthz") == (200, {"status": "ok"})
    finally:
        close(runtime)
