"""Entry point of the benchmark: `python -m bench.run [--quick] [...]`; see README.md.

Exit status: 0 with figures (time never fails it), 1 if messages were lost, 2 if a server could not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from bench import database, report, targets
from bench.accounts import (
    Account,
    Room,
    SetupError,
    create_rooms,
    register_users,
    rest_client,
    stored_messages,
)
from bench.clients import BARE, PARLEY, Endpoint
from bench.options import Options, parse_args
from bench.results import ParleyRun, Results, StoreCheck
from bench.scenarios import IdleReport, LoadReport, progress, run_idle, run_load
from bench.server import ServerProcess, ServerStartError, raise_fd_limit

LOG_LINES = 15
LOG_LINE_CHARS = 400


T = TypeVar("T")


@dataclass(frozen=True)
class ParleyDeployment:
    """What an idle run needs to start Parley again on a database a load run filled."""

    env: dict[str, str]
    accounts: list[Account]


@dataclass(frozen=True)
class SetUp:
    accounts: list[Account]
    rooms: list[Room]
    register_seconds: float
    rooms_seconds: float


async def bench(options: Options, workdir: Path) -> Results:
    results = Results(options=options, fd_limit=raise_fd_limit())
    if not options.skip_bare:
        results.bare = await _bare_load(options, workdir)
    deployments = []
    for kind in options.databases:
        run, deployment = await _parley_load(kind, options, workdir)
        results.parley.append(run)
        deployments.append(deployment)
    if options.idle_connections:
        results.idles.extend(await _idle(options, workdir, deployments[0]))
    return results


async def _bare_load(options: Options, workdir: Path) -> LoadReport:
    server = await targets.start_bare(name="bare", workdir=workdir)
    endpoints = _bare_endpoints(server, options.connections, options)
    return await _with_server(server, run_load(server, endpoints, BARE, options))


async def _parley_load(kind: str, options: Options, workdir: Path) -> tuple[ParleyRun, ParleyDeployment]:
    progress(f"preparing {kind}")
    env = targets.parley_env(database.database_url(kind, workdir), targets.new_secret_key())
    targets.migrate(env)
    server = await targets.start_parley(name=f"parley {kind}", env=env, workdir=workdir)
    try:
        run = await _parley_run(kind, server, options, workdir)
    finally:
        server.stop()
    return run, ParleyDeployment(env=env, accounts=run.accounts)


async def _parley_run(kind: str, server: ServerProcess, options: Options, workdir: Path) -> ParleyRun:
    async with rest_client(server.http_url) as client:
        setup = await _set_up(client, options)
        load = await run_load(server, _parley_endpoints(server, setup.rooms), PARLEY, options)
        progress(f"{server.name}: checking the store through REST")
        stored = await stored_messages(client, setup.rooms)
    return ParleyRun(
        kind=kind,
        register_seconds=setup.register_seconds,
        rooms_seconds=setup.rooms_seconds,
        journal_mode=database.sqlite_journal_mode(workdir) if kind == "sqlite" else None,
        load=load,
        store=StoreCheck.compare(sends=load.sends, acked_ids=load.acked_ids, stored=stored),
        accounts=setup.accounts,
    )


async def _set_up(client: httpx.AsyncClient, options: Options) -> SetUp:
    progress(f"registering {options.connections} users (set-up, excluded from figures)")
    started = time.monotonic()
    accounts = await register_users(client, options.connections)
    registered = time.monotonic()
    rooms = await create_rooms(client, accounts, options.room_size)
    return SetUp(accounts, rooms, registered - started, time.monotonic() - registered)


async def _idle(options: Options, workdir: Path, deployment: ParleyDeployment) -> list[IdleReport]:
    count = options.idle_connections
    reports = []
    if not options.skip_bare:
        bare = await targets.start_bare(name="bare idle", workdir=workdir)
        reports.append(await _with_server(bare, run_idle(bare, _bare_endpoints(bare, count, options), BARE, options)))
    parley = await targets.start_parley(name="parley idle", env=deployment.env, workdir=workdir)
    endpoints = _idle_parley_endpoints(parley, deployment.accounts, count)
    reports.append(await _with_server(parley, run_idle(parley, endpoints, PARLEY, options)))
    return reports


async def _with_server(server: ServerProcess, scenario: Coroutine[Any, Any, T]) -> T:
    try:
        return await scenario
    finally:
        server.stop()


def _bare_endpoints(server: ServerProcess, count: int, options: Options) -> list[Endpoint]:
    size = options.room_size
    return [
        Endpoint(
            index=i,
            url=f"{server.ws_url}/ws?room={i // size}",
            room_id=str(i // size),
            fanout=min(size, count - (i // size) * size),
        )
        for i in range(count)
    ]


def _parley_endpoints(server: ServerProcess, rooms: list[Room]) -> list[Endpoint]:
    members = [(room, account) for room in rooms for account in room.members]
    return [
        Endpoint(
            index=i,
            url=f"{server.ws_url}/ws?token={account.token}",
            room_id=room.id,
            fanout=len(room.members),
        )
        for i, (room, account) in enumerate(members)
    ]


def _idle_parley_endpoints(server: ServerProcess, accounts: list[Account], count: int) -> list[Endpoint]:
    # Fewer users than connections: users open several connections each, as with several devices.
    return [
        Endpoint(index=i, url=f"{server.ws_url}/ws?token={accounts[i % len(accounts)].token}", room_id="", fanout=0)
        for i in range(count)
    ]


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    with _workdir(options) as workdir:
        try:
            results = _run_event_loop(bench(options, workdir))
        except (ServerStartError, SetupError, database.DatabaseError) as error:
            print(f"bench: {error}", file=sys.stderr)
            _print_logs(workdir)
            return 2
    report.print_results(results)
    return 0 if results.store_ok() else 1


@contextlib.contextmanager
def _workdir(options: Options) -> Iterator[Path]:
    if options.workdir is not None:
        options.workdir.mkdir(parents=True, exist_ok=True)
        yield options.workdir
        return
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
        yield Path(tmp)


def _run_event_loop(coroutine: Coroutine[Any, Any, Results]) -> Results:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def _print_logs(workdir: Path) -> None:
    for log in sorted(workdir.glob("*.log")):
        tail = [line[:LOG_LINE_CHARS] for line in log.read_text(errors="replace").splitlines()[-LOG_LINES:]]
        print(f"--- {log.name} (last lines)", *tail, sep="\n", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
