"""The cost of one send-rate check: `SendLimiter` on DynamoDB (moto in-process) against the same limiter in memory.

    .venv/bin/python -m bench.ratelimit_dynamodb [--checks 2000] [--users 50]

Each check is what a frame's `send` pays before the store is touched. On DynamoDB that is one conditional
`UpdateItem` (plus one `GetItem` per user and window for the window that just ended), here answered by moto
inside this process, so the figure is the client side's cost (botocore building, signing and parsing the
request, and moto's model) without a network. On Lambda add a round trip to DynamoDB in the same region,
typically a few milliseconds. Prints the median and 99th percentile of each, and their ratio."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Sequence

from app.ratelimit import SendLimiter
from app.ratelimit_dynamodb import DynamoDBStorage, create_ratelimit_table

TABLE_URL = "dynamodb://?region=us-east-1&table=parley-bench-ratelimit"


async def timings(limiter: SendLimiter, *, checks: int, users: int) -> list[float]:
    """Seconds per check, round-robin over `users` so no user runs out of budget."""
    spent: list[float] = []
    for n in range(checks):
        started = time.perf_counter()
        await limiter.check(f"user-{n % users}")
        spent.append(time.perf_counter() - started)
    return spent


def summary(name: str, spent: Sequence[float]) -> float:
    median = statistics.median(spent)
    p99 = statistics.quantiles(spent, n=100)[98]
    print(f"{name:<28} median {median * 1e6:9.1f} µs   p99 {p99 * 1e6:9.1f} µs   ({len(spent)} checks)")
    return median


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=2000, help="checks measured per limiter")
    parser.add_argument("--users", type=int, default=50, help="users the checks go round")
    args = parser.parse_args(argv)
    # The budget must never run out, or a check would measure the refusal path instead.
    burst = args.checks // args.users + 10

    from moto import mock_aws

    # moto accepts any credentials; these keep the caller's real ones out of every signed request.
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    with mock_aws():
        create_ratelimit_table(TABLE_URL)
        storage = DynamoDBStorage(TABLE_URL, wrap_exceptions=True)
        shared = SendLimiter(rate=1000.0, burst=burst, storage=storage)
        memory = SendLimiter(rate=1000.0, burst=burst)

        async def run() -> tuple[list[float], list[float]]:
            await timings(shared, checks=min(100, args.checks), users=args.users)  # warm: clients, models
            await timings(memory, checks=min(100, args.checks), users=args.users)
            await storage.reset()
            on_dynamodb = await timings(shared, checks=args.checks, users=args.users)
            in_memory = await timings(memory, checks=args.checks, users=args.users)
            await storage.close()
            return on_dynamodb, in_memory

        on_dynamodb, in_memory = asyncio.run(run())
    dynamodb_median = summary("DynamoDB (moto, in-process)", on_dynamodb)
    memory_median = summary("memory", in_memory)
    print(f"ratio of medians: {dynamodb_median / memory_median:.0f}x")


if __name__ == "__main__":
    main()
