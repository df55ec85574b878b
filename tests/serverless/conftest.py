"""A serverless deployment on moto for each test: the store's table, the connections table, API Gateway's
management API; Lambda events as API Gateway sends them; what was posted to each connection."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pytest
from botocore.awsrequest import AWSResponse

from app.bus.apigateway import ApiGatewayBus, create_connections_table
from app.serverless.runtime import Runtime
from app.settings import Settings
from app.store.dynamodb import create_table, drop_table
from tests.support.moto import MotoServer

SECRET = "a-test-secret-key-of-at-least-32-characters-long"


@dataclass
class Deployment:
    moto: MotoServer
    store_url: str
    bus_url: str
    connections_table: str

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": self.store_url,
            "bus_url": self.bus_url,
            "secret_key": SECRET,
            "log_json": False,
            "log_level": "WARNING",
        }
        return Settings(**(values | overrides))

    def posted(self, connection_id: str) -> list[dict[str, Any]]:
        """Every frame posted to a connection, in order (moto keeps the bytes concatenated)."""
        text, decoder, found, at = self.moto.posted(connection_id).decode(), json.JSONDecoder(), [], 0
        while at < len(text):
            frame, at = decoder.raw_decode(text, at)
            found.append(frame)
        return found

    def types(self, connection_id: str) -> list[str]:
        return [frame["type"] for frame in self.posted(connection_id)]


@pytest.fixture
def deployment(moto: MotoServer) -> Iterator[Deployment]:
    prefix = f"parley-test-{uuid.uuid4().hex[:8]}-"
    store_url = f"dynamodb://?region=us-east-1&prefix={prefix}&endpoint={moto.endpoint}"
    host = moto.endpoint.removeprefix("http://")
    table = f"{prefix}connections"
    bus_url = f"apigateway://{host}?table={table}&region=us-east-1&tls=false&dynamodb_endpoint={moto.endpoint}"
    create_table(store_url)
    create_connections_table(bus_url)
    yield Deployment(moto=moto, store_url=store_url, bus_url=bus_url, connections_table=table)
    drop_table(store_url)
    drop_table(f"dynamodb://?region=us-east-1&table={table}&endpoint={moto.endpoint}")


@pytest.fixture
def runtime(deployment: Deployment) -> Iterator[Runtime]:
    """One Lambda container's runtime (the handlers' module keeps one per container)."""
    built = Runtime(deployment.settings())
    yield built
    close(built)


def close(runtime: Runtime) -> None:
    """Stop a runtime, and give this thread a fresh event loop policy: the runtime set its own loop as the
    thread's current one, as Lambda needs, and tests after this one must not find it closed there."""
    runtime.close()
    asyncio.set_event_loop_policy(None)


def answer_gone(bus: ApiGatewayBus, connection_id: str) -> None:
    """moto keeps every connection id forever (its connections are a defaultdict) and never answers 410, so
    this hook on the bus's management client answers `GoneException` for this one id, as API Gateway does
    once a client has left. Every other post still goes to moto."""

    def gone(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if not unquote(params["url_path"]).endswith(f"/@connections/{connection_id}"):
            return None
        body = {"Error": {"Code": "GoneException", "Message": ""}, "ResponseMetadata": {"HTTPStatusCode": 410}}
        return AWSResponse(params["url"], 410, {}, None), body

    bus._management.meta.events.register("before-call.apigatewaymanagementapi.PostToConnection", gone)


def new_connection_id() -> str:
    return f"conn-{uuid.uuid4().hex[:12]}="  # API Gateway's ids are base64-like and end in '='


def request_context(route: str, connection_id: str) -> dict[str, Any]:
    return {
        "routeKey": route,
        "eventType": {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE"),
        "connectionId": connection_id,
        "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
        "stage": "prod",
        "apiId": "abc123",
        "requestId": uuid.uuid4().hex,
    }


def connect_event(connection_id: str, token: str | None) -> dict[str, Any]:
    query = {"token": token} if token is not None else None
    return {"requestContext": request_context("$connect", connection_id), "queryStringParameters": query}


def disconnect_event(connection_id: str) -> dict[str, Any]:
    return {"requestContext": request_context("$disconnect", connection_id)}


def frame_event(connection_id: str, frame: dict[str, Any] | str, *, route: str = "$default") -> dict[str, Any]:
    body = frame if isinstance(frame, str) else json.dumps(frame)
    return {"requestContext": request_context(route, connection_id), "body": body, "isBase64Encoded": False}


def http_event(method: str, path: str, body: Any = None, token: str | None = None) -> dict[str, Any]:
    """An HTTP API (payload format 2.0) event."""
    headers = {"content-type": "application/json", "host": "api.example.org", "x-forwarded-proto": "https"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.7"},
            "stage": "$default",
            "requestId": uuid.uuid4().hex,
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }
