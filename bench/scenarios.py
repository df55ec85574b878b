"""The benchmark's scenarios against one running server: messaging load, and idle connections."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass

from bench.clients import Dialect, Endpoint, Fleet
from bench.options import Options
from bench.phases import CpuMeter, PhaseResult, closed_loop, open_loop
from bench.server import ServerProcess

SETTLE = 1.0


@dataclass(frozen=True)
class LoadReport:
    name: str
    connections: int
    connect_seconds: float
    rss_per_connection_kb: float
    compressed: bool
    steady: PhaseResult
    capacity: PhaseResult | None
    sends: int
    acked_ids: dict[str, set[str]]
    errors: Counter[str]
    close_codes: Counter[int]
    failed_sends: int
    refused: int


@dataclass(frozen=True)
class IdleReport:
    name: str
    connections: int
    open_connections: int
    connect_seconds: float
    rss_before_kb: int
    rss_after_kb: int

    @property
    def rss_per_connection_kb(self) -> float:
        """Per connection still open when RSS was read (a server that dropped some is flagged apart)."""
        return (self.rss_after_kb - self.rss_before_kb) / max(self.open_connections, 1)


async def run_load(server: ServerProcess, endpoints: list[Endpoint], dialect: Dialect, options: Options) -> LoadReport:
    fleet = Fleet(dialect)
    rss_before = server.rss_kb()
    connect_seconds = await _open(fleet, endpoints, options)
    rss_after = server.rss_kb()
    cpu = CpuMeter(server.cpu_seconds)
    try:
        progress(f"{server.name}: open loop, {options.rate:.0f} sends/s")
        steady = await open_loop(fleet, rate=options.rate, warmup=options.warmup, duration=options.duration, cpu=cpu)
        capacity = None
        if not options.skip_capacity:
            progress(f"{server.name}: closed loop, window {options.window}")
            capacity = await closed_loop(
                fleet,
                window=options.window,
                warmup=min(options.warmup, 2.0),
                duration=options.duration,
                cpu=cpu,
            )
    finally:
        await fleet.close()
    recorder = fleet.recorder
    return LoadReport(
        name=server.name,
        connections=len(endpoints),
        connect_seconds=connect_seconds,
        rss_per_connection_kb=(rss_after - rss_before) / len(endpoints),
        compressed=fleet.compressed,
        steady=steady,
        capacity=capacity,
        sends=recorder.sends,
        acked_ids=dict(recorder.acked_ids),
        errors=recorder.errors,
        close_codes=recorder.close_codes,
        failed_sends=recorder.failed_sends,
        refused=fleet.refused,
    )


async def run_idle(server: ServerProcess, endpoints: list[Endpoint], dialect: Dialect, options: Options) -> IdleReport:
    fleet = Fleet(dialect)
    rss_before = server.rss_kb()
    try:
        connect_seconds = await _open(fleet, endpoints, options)
        rss_after = server.rss_kb()
        open_connections = fleet.open_connections()
    finally:
        await fleet.close()
    return IdleReport(
        name=server.name,
        connections=len(endpoints),
        open_connections=open_connections,
        connect_seconds=connect_seconds,
        rss_before_kb=rss_before,
        rss_after_kb=rss_after,
    )


async def _open(fleet: Fleet, endpoints: list[Endpoint], options: Options) -> float:
    progress(f"opening {len(endpoints)} connections")
    started = time.monotonic()
    await fleet.open(endpoints, compression=options.compression)
    elapsed = time.monotonic() - started
    # Let the server finish per-connection work (subscriptions, presence) before reading its RSS.
    await asyncio.sleep(SETTLE)
    return elapsed


def progress(line: str) -> None:
    print(f"... {line}", file=sys.stderr, flush=True)
