"""What one Lambda container keeps between invocations: its event loop, its settings and, from the first
event on (the cold start), the started services and the REST app.

Mangum would run the app's lifespan around every invocation (start and stop the services each time), so it
runs with `lifespan="off"` and the lifespan is entered here once, on the loop every invocation then uses.

With `PARLEY_RATELIMIT_URL` set (the stack sets it) both the WebSocket and the REST services count sends in
the region's DynamoDB table, so a user spread over many containers still has one budget."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from app import logs
from app.aws import make_client
from app.serverless import websocket
from app.services import Services
from app.settings import Settings

if TYPE_CHECKING:
    from mangum import Mangum

T = TypeVar("T")
SECRET_ARN_VARIABLE = "PARLEY_SECRET_KEY_ARN"


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    """`PARLEY_*` from the function's environment; the JWT secret from Secrets Manager when
    `PARLEY_SECRET_KEY_ARN` names one (so it is in no environment variable), else `PARLEY_SECRET_KEY`."""
    arn = environ.get(SECRET_ARN_VARIABLE)
    if not arn:
        return Settings()
    region = arn.split(":")[3]  # arn:aws:secretsmanager:<region>:<account>:secret:<name>
    client = make_client("secretsmanager", region=region, pool_size=1)
    secret = client.get_secret_value(SecretId=arn)["SecretString"]
    return Settings(secret_key=secret)


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)  # Mangum runs the app on the current thread's loop: this one
        self._services: Services | None = None
        self._http: Mangum | None = None
        self._lifespan: AbstractAsyncContextManager[Any] | None = None

    @classmethod
    def from_environment(cls) -> Runtime:
        settings = load_settings()
        logs.configure(level=settings.log_level, json=settings.log_json)
        return cls(settings)

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def services(self) -> Services:
        """The services of the WebSocket routes, started on first use."""
        if self._services is None:
            self._services = self.run(Services.start(self.settings))
        return self._services

    def websocket(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.run(websocket.handle(self.services(), event))

    def http(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if self._http is None:
            from mangum import Mangum

            from app.main import create_app

            app = create_app(self.settings)
            lifespan = app.router.lifespan_context(app)
            self.run(lifespan.__aenter__())
            self._lifespan = lifespan
            self._http = Mangum(app, lifespan="off")
        return self._http(event, context)

    def close(self) -> None:
        """Stop what was started (tests; Lambda just freezes and ends the container)."""
        if self._services is not None:
            self.run(self._services.stop())
        if self._lifespan is not None:
            self.run(self._lifespan.__aexit__(None, None, None))
        self.loop.close()
