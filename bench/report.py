"""Prints a run's figures as plain-text tables, with the issue's targets beside them."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from bench.phases import PhaseResult
from bench.results import ParleyRun, Results
from bench.scenarios import IdleReport, LoadReport

TARGET_DELIVERIES = 20_000
TARGET_P99_MS = 100.0
TARGET_SHARE_OF_BARE = 0.5
TARGET_IDLE_KB = 30.0
TARGET_CONNECTIONS = 1000
TARGET_IDLE_CONNECTIONS = 5000

PHASE_HEADER = f"{'server':<16}{'sends/s':>9}{'acks/s':>9}{'deliv/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>9}"
PHASE_HEADER += f"{'srv CPU':>8}{'gen CPU':>8}{'other':>7}{'vs bare':>8}"


def print_results(results: Results) -> None:
    options = results.options
    print(
        f"Parley benchmark: {options.connections} connections in rooms of {options.room_size}; "
        f"ramp {options.warmup:g} s, then {options.duration:g} s measured per phase"
    )
    print(
        "load generator: one asyncio process, websockets client, "
        f"permessage-deflate {'offered' if options.compression else 'not offered'}, "
        f"fd limit {results.fd_limit}"
    )
    _print_setup(results.parley)
    _print_phase(results, f"open loop at {options.rate:g} sends/s", lambda load: load.steady)
    if not options.skip_capacity:
        _print_phase(results, f"closed loop (capacity), {options.window} in flight per connection", _capacity)
    _print_memory(results.loads(), results.idles)
    _print_store(results.parley)
    _print_problems(results.loads())
    _print_targets(results)


def _capacity(load: LoadReport) -> PhaseResult | None:
    return load.capacity


def _print_setup(runs: list[ParleyRun]) -> None:
    print("\nset-up through REST (excluded from figures)")
    for run in runs:
        journal = f", journal_mode={run.journal_mode}" if run.journal_mode else ""
        print(
            f"  {run.kind:<10} register {len(run.accounts)} users {run.register_seconds:.1f} s, "
            f"create rooms {run.rooms_seconds:.1f} s{journal}"
        )


def _print_phase(results: Results, title: str, phase_of: Callable[[LoadReport], PhaseResult | None]) -> None:
    print(f"\n{title}")
    print(f"  {PHASE_HEADER}")
    bare_phase = phase_of(results.bare) if results.bare else None
    for load in results.loads():
        phase = phase_of(load)
        if phase is None:
            continue
        share = phase.deliveries_per_s / bare_phase.deliveries_per_s if bare_phase else math.nan
        acks = "-" if phase.acks_per_s is None else f"{phase.acks_per_s:.0f}"
        print(
            f"  {load.name:<16}{phase.sends_per_s:>9.0f}{acks:>9}{phase.deliveries_per_s:>9.0f}"
            f"{phase.p50_ms:>8.1f}{phase.p99_ms:>8.1f}{phase.max_ms:>9.1f}"
            f"{phase.server_cpu:>8.0%}{phase.generator_cpu:>8.0%}{phase.other_cpu:>7.0%}{_percent(share):>8}"
        )


def _print_memory(loads: list[LoadReport], idles: list[IdleReport]) -> None:
    print("\nserver memory (VmRSS of the server process tree, after minus before opening connections)")
    print(f"  {'server':<16}{'connections':>12}{'connect s':>10}{'KB/conn':>9}  deflate")
    for load in loads:
        deflate = "yes" if load.compressed else "no"
        print(
            f"  {load.name:<16}{load.connections:>12}{load.connect_seconds:>10.1f}"
            f"{load.rss_per_connection_kb:>9.1f}  {deflate}"
        )
    for idle in idles:
        dropped = idle.connections - idle.open_connections
        note = f"  ({dropped} closed by the server before RSS was read; KB/conn is per open one)" if dropped else ""
        print(
            f"  {idle.name:<16}{idle.connections:>12}{idle.connect_seconds:>10.1f}"
            f"{idle.rss_per_connection_kb:>9.1f}{note}"
        )


def _print_store(runs: list[ParleyRun]) -> None:
    print("\nstore check (REST GET /api/v1/rooms/{id}/messages against acks)")
    for run in runs:
        store = run.store
        verdict = "ok" if store.ok else "MESSAGES LOST"
        print(
            f"  {run.kind:<10} sends {store.sends}, acks {store.acks}, stored {store.stored} "
            f"in {store.rooms} rooms; acked but not stored {store.lost}, "
            f"rooms with a seq gap {store.gapped_rooms}: {verdict}"
        )


def _print_problems(loads: list[LoadReport]) -> None:
    lines = [f"  {load.name}: {problem}" for load in loads for problem in _problems(load)]
    if lines:
        print("\nproblems seen by the clients")
        print("\n".join(lines))


def _problems(load: LoadReport) -> list[str]:
    problems = []
    if load.errors:
        problems.append(f"error frames {dict(load.errors)}")
    if load.close_codes:
        problems.append(f"connections closed by the server, by close code {dict(load.close_codes)}")
    if load.refused:
        problems.append(f"{load.refused} connections refused at the handshake")
    if load.failed_sends:
        problems.append(f"{load.failed_sends} sends not made: their connection was already closed")
    phases = [("open loop", load.steady), ("closed loop", load.capacity)]
    for name, phase in phases:
        if phase is None:
            continue
        if phase.shed:
            problems.append(f"{name}: {phase.shed} sends shed (more than 5 s of sends outstanding)")
        if phase.drain != "settled" or phase.missing_deliveries:
            problems.append(
                f"{name}: drain {phase.drain}, {phase.unanswered} sends unanswered, "
                f"{phase.missing_deliveries} live deliveries missing"
            )
    return problems


@dataclass(frozen=True)
class Target:
    label: str
    goal: float
    at_least: bool
    shown: Callable[[float], str]

    def cell(self, name: str, value: float) -> str:
        met = value >= self.goal if self.at_least else value <= self.goal
        return f"{name} {self.shown(value)} {'met' if met else 'MISSED'}"


DELIVERIES = Target(f"deliveries/s >= {TARGET_DELIVERIES:,}, best phase", TARGET_DELIVERIES, True, "{:,.0f}".format)
P99 = Target(f"p99 <= {TARGET_P99_MS:g} ms at the open-loop rate", TARGET_P99_MS, False, "{:,.1f} ms".format)
SHARE = Target(
    f">= {TARGET_SHARE_OF_BARE:.0%} of bare deliveries/s, best phase", TARGET_SHARE_OF_BARE, True, "{:.0%}".format
)
IDLE = Target(f"<= {TARGET_IDLE_KB:g} KB RSS per idle connection", TARGET_IDLE_KB, False, "{:.1f} KB".format)


def _print_targets(results: Results) -> None:
    options = results.options
    print("\ntargets (from the issue)")
    if options.connections != TARGET_CONNECTIONS or options.idle_connections != TARGET_IDLE_CONNECTIONS:
        print(f"  (set for {TARGET_CONNECTIONS} connections and {TARGET_IDLE_CONNECTIONS} idle; this run differs)")
    runs = results.parley
    _row(DELIVERIES, [(run.kind, _best_deliveries(run.load)) for run in runs])
    _row(P99, [(run.kind, run.load.steady.p99_ms) for run in runs])
    if results.bare:
        bare = _best_deliveries(results.bare)
        _row(SHARE, [(run.kind, _best_deliveries(run.load) / bare) for run in runs])
    idles = [idle for idle in results.idles if idle.name.startswith("parley")]
    _row(IDLE, [(f"{idle.connections} idle", idle.rss_per_connection_kb) for idle in idles])


def _row(target: Target, values: list[tuple[str, float]]) -> None:
    cells = "   ".join(target.cell(name, value) for name, value in values)
    print(f"  {target.label:<48}{cells}")


def _best_deliveries(load: LoadReport) -> float:
    return max(load.steady.deliveries_per_s, load.capacity.deliveries_per_s if load.capacity else 0.0)


def _percent(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0%}"
