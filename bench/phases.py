"""Load phases over an open fleet: open loop at a fixed rate after a ramp, and closed loop for capacity."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import zip_longest

from bench.clients import Client, Fleet
from bench.server import machine_busy_seconds

TICK = 0.002
DRAIN_STALL = 10.0
DRAIN_LIMIT = 60.0
# The open loop stops adding to a backlog longer than this many seconds of sends (the skipped sends are
# reported as shed), so a server far below the offered rate cannot make the drain last for minutes.
SHED_AFTER_SECONDS = 5.0


@dataclass(frozen=True)
class PhaseResult:
    offered: float | None
    sends_per_s: float
    acks_per_s: float | None
    deliveries_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu: float
    generator_cpu: float
    other_cpu: float
    shed: int
    drain: str
    unanswered: int
    missing_deliveries: int


class CpuMeter:
    """CPU used over the measurement window, in cores: by the server process tree, by this load
    generator, and by everything else on the machine (other work sharing the cores skews the figures)."""

    def __init__(self, server_cpu_seconds: Callable[[], float]) -> None:
        self._server = server_cpu_seconds
        self._start = self._sample()
        self.server = 0.0
        self.generator = 0.0
        self.other = 0.0

    def _sample(self) -> tuple[float, float, float, float]:
        return time.monotonic(), self._server(), time.process_time(), machine_busy_seconds()

    def start(self) -> None:
        self._start = self._sample()

    def stop(self) -> None:
        wall, server, generator, machine = (end - start for end, start in zip(self._sample(), self._start, strict=True))
        self.server = server / wall
        self.generator = generator / wall
        self.other = max(0.0, machine - server - generator) / wall


async def open_loop(fleet: Fleet, *, rate: float, warmup: float, duration: float, cpu: CpuMeter) -> PhaseResult:
    """Send at `rate` sends/s in aggregate, ramping linearly from zero over `warmup` seconds.

    Open loop: the schedule does not wait for answers, so a slow server shows up as latency.
    """
    start = time.monotonic_ns()
    fleet.recorder.set_window(start + warmup * 1e9, start + (warmup + duration) * 1e9)
    shed_before = fleet.recorder.shed
    sender = asyncio.create_task(_send_on_schedule(fleet, rate, warmup, duration))
    await _measure(cpu, warmup, duration)
    await sender
    drain = await fleet.drain(stall=DRAIN_STALL, limit=DRAIN_LIMIT)
    return _result(fleet, cpu, duration, offered=rate, shed=fleet.recorder.shed - shed_before, drain=drain)


async def closed_loop(fleet: Fleet, *, window: int, warmup: float, duration: float, cpu: CpuMeter) -> PhaseResult:
    """Each connection keeps `window` messages in flight: it sends again when it sees its own echo.

    This finds the capacity of the server (and of the load generator sharing its cores).
    """
    start = time.monotonic_ns()
    fleet.recorder.set_window(start + warmup * 1e9, start + (warmup + duration) * 1e9)
    fleet.closed_loop = True
    for _ in range(window):
        for client in fleet.clients:
            await client.send()
    await _measure(cpu, warmup, duration)
    fleet.closed_loop = False
    drain = await fleet.drain(stall=DRAIN_STALL, limit=DRAIN_LIMIT)
    return _result(fleet, cpu, duration, offered=None, shed=0, drain=drain)


async def _measure(cpu: CpuMeter, warmup: float, duration: float) -> None:
    await asyncio.sleep(warmup)
    cpu.start()
    await asyncio.sleep(duration)
    cpu.stop()


async def _send_on_schedule(fleet: Fleet, rate: float, warmup: float, duration: float) -> None:
    order = _interleave_rooms(fleet.clients)
    if not order:
        return
    recorder = fleet.recorder
    max_outstanding = max(rate * SHED_AFTER_SECONDS, len(order))
    start = time.monotonic()
    scheduled = 0
    while (elapsed := time.monotonic() - start) < warmup + duration:
        due = int(_sends_due(elapsed, rate, warmup))
        while scheduled < due:
            if recorder.outstanding() < max_outstanding:
                await order[scheduled % len(order)].send()
            else:
                recorder.shed += 1
            scheduled += 1
        await asyncio.sleep(TICK)


def _interleave_rooms(clients: list[Client]) -> list[Client]:
    """Order clients so that consecutive sends go to different rooms rather than one room in a burst."""
    by_room: dict[str, list[Client]] = {}
    for client in clients:
        by_room.setdefault(client.endpoint.room_id, []).append(client)
    return [client for rank in zip_longest(*by_room.values()) for client in rank if client is not None]


def _sends_due(elapsed: float, rate: float, warmup: float) -> float:
    """Sends scheduled by `elapsed` seconds: the integral of a rate ramping 0 -> `rate`, then flat."""
    if elapsed < warmup:
        return rate * elapsed * elapsed / (2 * warmup)
    return rate * warmup / 2 + rate * (elapsed - warmup)


def _result(
    fleet: Fleet, cpu: CpuMeter, duration: float, *, offered: float | None, shed: int, drain: str
) -> PhaseResult:
    recorder = fleet.recorder
    p50, p99, most = recorder.latencies_ms(0.50, 0.99, 1.0)
    return PhaseResult(
        offered=offered,
        sends_per_s=recorder.window_sends / duration,
        acks_per_s=recorder.window_acks / duration if fleet.dialect.acks else None,
        deliveries_per_s=recorder.window_deliveries / duration,
        p50_ms=p50,
        p99_ms=p99,
        max_ms=most,
        server_cpu=cpu.server,
        generator_cpu=cpu.generator,
        other_cpu=cpu.other,
        shed=shed,
        drain=drain,
        unanswered=recorder.outstanding(),
        missing_deliveries=max(0, recorder.expected_deliveries - recorder.deliveries),
    )
