"""The `Bus` interface: live events between the nodes of a deployment.

Contract:
- `publish` delivers an event to the `deliver` callback of every started node, this one included
  (locally before it returns). Delivery is best effort: the store is the truth and clients `sync` to close
  any gap, so a bus that loses an event loses no message.
- Events from one node reach each other node in the order that node published them.
- Presence is counted per node: `connected`/`disconnected` are called when a node's first connection for a
  user opens and its last one closes, and they say whether the user just came online or went offline
  across the whole deployment. A node that dies stops counting once its liveness lapses, and the users it
  held who are then offline everywhere are reported once, to one node, through `lapsed`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Event:
    """A frame, serialised once, for every connection of `user_ids` on every node."""

    user_ids: tuple[str, ...]
    frame: str
    origin: str = ""
    sent_at: float = field(default_factory=time.time)
    kind: str = ""


Deliver = Callable[[Event], None]
# Called with users who went offline everywhere because the node holding them died.
Lapsed = Callable[[list[str]], Awaitable[None]]


class Bus(Protocol):
    node_id: str

    async def start(self, deliver: Deliver, lapsed: Lapsed | None = None) -> None: ...

    async def publish(self, event: Event) -> None: ...

    async def connected(self, user_id: str) -> bool:
        """This node now has a connection for `user_id`; True if the user was offline everywhere."""

    async def disconnected(self, user_id: str) -> bool:
        """This node has no connection left for `user_id`; True if the user is now offline everywhere."""

    async def online(self, user_ids: Iterable[str]) -> set[str]: ...

    async def ping(self) -> None:
        """Raise `Unavailable` unless the bus answers now."""

    async def close(self) -> None: ...
