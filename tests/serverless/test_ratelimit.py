"""One send budget per user across Lambda containers (app/ratelimit_dynamodb.py) on moto's DynamoDB: two
runtimes, each a container with its own boto3 client and limiter, draw on one counter; windows slide and
reset; a throttled or unreachable table lets sends through (fails open); the storage serves `limits`' other
strategy too, and counts exactly under concurrent hits."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from limits import RateLimitItemPerSecond
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string
from pydantic import ValidationError

from app.domain import Room, RoomKind, User
from app.ratelimit_dynamodb import DynamoDBStorage, create_ratelimit_table
from app.serverless.runtime import Runtime
from app.settings import Settings
from app.store.dynamodb import drop_table
from tests.serverless.conftest import Deployment, close, connect_event, frame_event, new_connection_id

BURST = 3
RATE = 0.1  # 3 sends per 30 s window: no test outlasts a window unless it moves the clock
WINDOW = 30
START = 1_800_000_000.0 + 1  # a second into a window (1_800_000_000 is a multiple of WINDOW)


class Clock:
    """The limiters' time, shared by every container of a test and moved by it."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ratelimit_url(deployment: Deployment) -> Iterator[str]:
    url = f"dynamodb://?region=us-east-1&table=parley-test-{uuid.uuid4().hex[:8]}-ratelimit&endpoint={deployment.moto.endpoint}"
    create_ratelimit_table(url)
    yield url
    drop_table(url)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def containers(deployment: Deployment, ratelimit_url: str, clock: Clock) -> Iterator[list[Runtime]]:
    """Two Lambda containers of one region: two runtimes on the same tables, nothing else shared."""
    settings = deployment.settings(ratelimit_url=ratelimit_url, message_burst=BURST, messages_per_second=RATE)
    built = [Runtime(settings), Runtime(settings)]
    for runtime in built:
        storage = runtime.services().chat.limiter.storage
        assert isinstance(storage, DynamoDBStorage)
        storage.clock = clock
    yield built
    for runtime in built:
        close(runtime)


def register(runtime: Runtime, username: str) -> tuple[User, str]:
    accounts = runtime.services().accounts
    return runtime.run(accounts.register(username=username, password="correct-horse", display_name=None))


def a_room(runtime: Runtime) -> tuple[Room, str]:
    """A room of alice's, and her token."""
    alice, token = register(runtime, "alice")
    chat = runtime.services().chat
    room, _ = runtime.run(chat.create_room(alice, kind=RoomKind.GROUP, name="team", members=[]))
    return room, token


def connect(runtime: Runtime, token: str) -> str:
    connection_id = new_connection_id()
    assert runtime.websocket(connect_event(connection_id, token)) == {"statusCode": 200}
    return connection_id


def send(runtime: Runtime, deployment: Deployment, connection: str, room: Room, n: int) -> dict[str, Any]:
    """Send message `n` through one container; the answer it posted (`ack` or `error`)."""
    frame = {"type": "send", "id": n, "room_id": room.id, "client_msg_id": f"m{n}", "body": f"message {n}"}
    assert runtime.websocket(frame_event(connection, frame)) == {"statusCode": 200}
    (answer,) = [f for f in deployment.posted(connection) if f.get("id") == n]
    return answer


def test_two_containers_share_one_budget_per_user(
    containers: list[Runtime], deployment: Deployment, clock: Clock
) -> None:
    first, second = containers
    assert first.services().chat.limiter is not second.services().chat.limiter
    room, token = a_room(first)
    on_first, on_second = connect(first, token), connect(second, token)
    answers = [
        send(runtime, deployment, connection, room, n)
        for n, (runtime, connection) in enumerate([(first, on_first), (second, on_second)] * 2)
    ]
    # Each container alone has spent at most 2 of 3 sends: only a shared counter refuses the fourth.
    assert [a["type"] for a in answers] == ["ack", "ack", "ack", "error"]
    assert answers[3]["code"] == "rate_limited"
    assert send(first, deployment, on_first, room, 4)["code"] == "rate_limited"

    # Half a window on, the last window still weighs half (3 x 0.5, rounded down: 1): 2 sends fit.
    clock.now += WINDOW
    clock.now += WINDOW / 2 - (clock.now % WINDOW)
    later = [
        send(r, deployment, c, room, n) for n, (r, c) in enumerate([(second, on_second), (first, on_first)] * 2, 5)
    ]
    assert [a["type"] for a in later] == ["ack", "ack", "error", "error"]

    # Two windows after the last send nothing weighs any more: the whole burst again.
    clock.now += 2 * WINDOW
    fresh = [
        send(r, deployment, c, room, n) for n, (r, c) in enumerate([(first, on_first), (second, on_second)] * 2, 9)
    ]
    assert [a["type"] for a in fresh] == ["ack", "ack", "ack", "error"]


@pytest.mark.parametrize("failure", ["throttled", "unreachable"])
def test_a_throttled_or_unreachable_table_lets_sends_through(
    deployment: Deployment, ratelimit_url: str, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    if failure == "unreachable":
        ratelimit_url = ratelimit_url.replace(deployment.moto.endpoint, "http://127.0.0.1:1")
    settings = deployment.settings(ratelimit_url=ratelimit_url, message_burst=1, messages_per_second=RATE)
    runtime = Runtime(settings)
    try:
        storage = runtime.services().chat.limiter.storage
        assert isinstance(storage, DynamoDBStorage)
        if failure == "throttled":
            storage._client.meta.events.register("before-call.dynamodb.UpdateItem", _throttled)
            storage._client.meta.events.register("before-call.dynamodb.GetItem", _throttled)
        room, token = a_room(runtime)
        connection = connect(runtime, token)
        with caplog.at_level(logging.WARNING, logger="app.ratelimit"):
            answers = [send(runtime, deployment, connection, room, n)["type"] for n in range(3)]
        assert answers == ["ack", "ack", "ack"]  # a burst of 1, yet nothing refused: the limiter failed open
        assert "rate limiter unavailable, letting the send through" in caplog.text
    finally:
        close(runtime)


def _throttled(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
    """DynamoDB's answer when a partition or the account's throughput is exhausted."""
    error = {"Code": "ThrottlingException", "Message": "Rate of requests exceeds the allowed throughput."}
    body = {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}
    return AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", 400, {}, None), body


def test_concurrent_hits_from_two_containers_take_exactly_the_limit(ratelimit_url: str) -> None:
    async def scenario() -> list[bool]:
        storages = [DynamoDBStorage(ratelimit_url, clock=Clock()) for _ in range(2)]
        try:
            hits = [storages[n % 2].acquire_sliding_window_entry("user", 10, WINDOW) for n in range(30)]
            return list(await asyncio.gather(*hits))
        finally:
            for storage in storages:
                await storage.close()

    assert sum(asyncio.run(scenario())) == 10


def test_limits_finds_the_storage_by_its_scheme_and_runs_a_fixed_window_on_it(ratelimit_url: str) -> None:
    """The base storage's counters: a window starts at its first hit and ends `expiry` later, even while
    DynamoDB's TTL (which deletes late) has not removed the item yet."""
    clock = Clock()
    storage = storage_from_string(f"async+{ratelimit_url}", clock=clock)
    assert isinstance(storage, DynamoDBStorage)
    limiter, item = FixedWindowRateLimiter(storage), RateLimitItemPerSecond(2, 10)

    async def scenario() -> list[object]:
        seen: list[object] = [await limiter.hit(item, "bob") for _ in range(3)]
        seen.append(await storage.get_expiry(item.key_for("bob")) - clock.now)
        clock.now += 10  # expired, and still in the table
        seen += [await limiter.hit(item, "bob"), await storage.get(item.key_for("bob"))]
        await limiter.clear(item, "bob")
        seen += [await storage.get(item.key_for("bob")), await storage.check()]
        await storage.close()
        return seen

    assert asyncio.run(scenario()) == [True, True, False, 10, True, 1, 0, True]


def test_the_ratelimit_url_must_be_a_dynamodb_table() -> None:
    with pytest.raises(ValidationError, match="ratelimit_url"):
        Settings(ratelimit_url="redis://127.0.0.1:6379/0")
    with pytest.raises(ValueError, match=r"dynamodb://\?region=<region>&table=<table>"):
        DynamoDBStorage("dynamodb://?region=us-east-1")
