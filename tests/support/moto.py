"""moto's model of AWS served over HTTP on a spare loopback port, for the DynamoDB store and the serverless tier.

Server mode, not the in-process `mock_aws`: the store talks to it through a real endpoint URL, as it talks to
DynamoDB, from its worker threads. moto's model is not thread-safe (`transact_write_items` snapshots whole
tables and restores them when a transaction is cancelled, wiping writes other threads made meanwhile), so
requests run one at a time here, as DynamoDB itself serialises conflicting transactions. The store's
concurrency is unchanged: many requests in flight, queued at this server.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

REGION = "us-east-1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


class _OneAtATime:
    """WSGI middleware: one request inside moto at a time, its whole response built under the lock."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self.lock:
            return list(self.app(environ, start_response))


class _QuietHandler(MotoRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log line per request on stderr."""


class MotoServer:
    def __init__(self) -> None:
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> MotoServer:
        app = _OneAtATime(DomainDispatcherApplication(create_backend_app))
        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def posted(self, connection_id: str, region: str = REGION) -> bytes:
        """What `post_to_connection` sent to one connection, all of it, concatenated (moto keeps it so, under
        the id as it appears in the URL path)."""
        connections = apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID][region].connections
        connection = connections.get(quote(connection_id, safe=""))
        return b"" if connection is None else connection.data


@contextmanager
def fake_credentials() -> Iterator[None]:
    """botocore signs every request; moto accepts any credentials, so never the caller's real ones."""
    saved = {name: os.environ.get(name) for name in FAKE_CREDENTIALS}
    os.environ.update(FAKE_CREDENTIALS)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def moto_server() -> Iterator[MotoServer]:
    with fake_credentials():
        server = MotoServer().start()
        try:
            yield server
        finally:
            server.stop()
