"""What one Parley node holds while it runs, built by the app's lifespan."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

from app.accounts import Accounts
from app.bus import Bus, open_bus
from app.chat import Chat
from app.hub import Hub
from app.metrics import Metrics
from app.ratelimit import SendLimiter
from app.settings import Settings
from app.store import Store, open_store


@dataclass
class Services:
    settings: Settings
    store: Store
    bus: Bus
    metrics: Metrics
    hub: Hub
    accounts: Accounts
    chat: Chat

    @classmethod
    async def start(cls, settings: Settings) -> Services:
        node_id = settings.node_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        metrics = Metrics()
        store = open_store(settings, on_replica_read=metrics.replica_read)
        bus = open_bus(settings, node_id=node_id)
        hub = Hub(metrics)
        limiter = SendLimiter.from_settings(settings)
        services = cls(
            settings=settings,
            store=store,
            bus=bus,
            metrics=metrics,
            hub=hub,
            accounts=Accounts(
                store=store, secret_key=settings.secret_key, token_ttl_seconds=settings.token_ttl_seconds
            ),
            chat=Chat(store=store, bus=bus, metrics=metrics, max_body_bytes=settings.max_body_bytes, limiter=limiter),
        )
        await bus.start(hub.deliver, services.chat.announce_offline)
        return services

    async def stop(self) -> None:
        await self.hub.close_all()
        await self.bus.close()
        await self.store.close()
        await self.chat.limiter.close()
