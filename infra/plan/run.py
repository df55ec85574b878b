"""`run_stack`: run the real Pulumi program for one stack with mocks standing in for the engine and the clouds,
and return what it asked for as a `Plan`.

Every run starts from a fresh runtime. Pulumi keeps its state in context variables (settings with the monitor
and the outstanding RPCs and outputs, the configuration and which keys are secret, the root Stack resource,
whose outputs collect every `pulumi.export`) and in the thread's event loop. A run therefore happens on a
thread of its own, with its own event loop, which is closed afterwards; and there it resets the settings, the
root resource, the configuration and the secret keys before the program starts. The caller's Pulumi state is
never touched, so stacks can be planned one after another in one process, after a failed run too.
"""

from __future__ import annotations

import asyncio
import heapq
import runpy
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import rpc, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from infra.plan.config import Project, load_project, stack_config
from infra.plan.mocks import DEFAULT_REGION, PlanMocks
from infra.plan.model import Plan, PlanError, Resource, Secret
from infra.plan.monitor import RecordingMonitor, plain
from infra.plan.values import from_wire

# A program stops at the first missing secret, so each stand-in costs a run; this bounds a runaway loop.
MAX_STAND_INS = 20


@dataclass(frozen=True)
class _Run:
    project: Project
    stack: str
    config: dict[str, str]
    secret_keys: frozenset[str]


def run_stack(
    stack: str,
    *,
    config_overrides: Mapping[str, str | Secret] | None = None,
    stand_in_secrets: bool = True,
    project: Project | None = None,
) -> Plan:
    """Plan `stacks/Pulumi.<stack>.yaml`. `config_overrides` sets or replaces configuration (full keys such as
    `parley:replicas`; a `Secret` value is set as a secret). Secrets the stack file cannot give offline (its
    `secure:` values, and those set only in a secrets store) get placeholder values the plan names in
    `stand_ins`, unless `stand_in_secrets` is false. Raises `PlanError` for an unknown stack or when the program
    fails, with the program's message."""
    project = project or load_project()
    given = stack_config(project, stack)
    config = dict(given.values)
    secret_keys = set(given.encrypted) if stand_in_secrets else set()
    stand_ins = set(secret_keys)
    config |= {key: _stand_in(key) for key in stand_ins}
    for key, value in (config_overrides or {}).items():
        config[key] = str(value.value) if isinstance(value, Secret) else value
        stand_ins.discard(key)
        if isinstance(value, Secret):
            secret_keys.add(key)
    for _ in range(MAX_STAND_INS):
        try:
            plan = _in_own_thread(_Run(project, stack, dict(config), frozenset(secret_keys)))
        except pulumi.ConfigMissingError as missing:
            if not (stand_in_secrets and missing.secret):
                raise PlanError(f"the program of stack {stack!r} failed: {missing}") from missing
            config[missing.key] = _stand_in(missing.key)
            secret_keys.add(missing.key)
            stand_ins.add(missing.key)
            continue
        except Exception as error:
            raise PlanError(f"the program of stack {stack!r} failed: {error}") from error
        plan.stand_ins = sorted(stand_ins)
        return plan
    raise PlanError(f"the program of stack {stack!r} asks for more than {MAX_STAND_INS} missing secrets")


def _stand_in(key: str) -> str:
    # Long enough for programs that check a secret's length (the app wants 32 characters for its key).
    return f"offline-plan-stand-in-for-{key.replace(':', '-')}-0123456789abcdef"


def _in_own_thread(run: _Run) -> Plan:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pulumi-plan") as pool:
        return pool.submit(_plan, run).result()


def _plan(run: _Run) -> Plan:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    monitor = RecordingMonitor(PlanMocks(region=run.config.get("aws:region", DEFAULT_REGION)))
    try:
        settings.reset_options(project=run.project.name, stack=run.stack, root_directory=str(run.project.root))
        pulumi.runtime.set_all_config(run.config, sorted(run.secret_keys))
        pulumi.runtime.set_mocks(
            monitor.mocks, project=run.project.name, stack=run.stack, preview=False, monitor=monitor
        )

        def program() -> None:
            runpy.run_path(str(run.project.main), run_name="__main__")

        _sync_await(run_pulumi_func(program))
        outputs = _sync_await(rpc.serialize_properties(_stack_outputs(), {}))
        return Plan(
            stack=run.stack,
            project=run.project.name,
            source="mocks",
            resources=in_program_order(monitor.recorded),
            outputs=from_wire(plain(outputs)),
        )
    finally:
        _close(loop, monitor.loops)


def _stack_outputs() -> dict[str, Any]:
    root = settings.get_root_resource()
    return dict(getattr(root, "outputs", {}))


def _close(loop: asyncio.AbstractEventLoop, monitor_loops: list[asyncio.AbstractEventLoop]) -> None:
    """Cancel what a failed program left pending, stop the executor's threads, close every loop of the run."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_default_executor())
    for each in [loop, *monitor_loops]:
        each.close()
    asyncio.set_event_loop(None)


def in_program_order(resources: list[Resource]) -> list[Resource]:
    """Parents before children, providers and dependencies before what uses them, otherwise by URN: the SDK
    registers independent resources concurrently, so the order they arrive in varies from run to run."""
    by_urn = {r.urn: r for r in resources}
    waits_for = {r.urn: {u for u in (r.parent, r.provider, *r.dependencies) if u in by_urn} for r in resources}
    waited_by: dict[str, list[str]] = {urn: [] for urn in by_urn}
    for urn, needs in waits_for.items():
        for need in needs:
            waited_by[need].append(urn)
    ready = [urn for urn, needs in waits_for.items() if not needs]
    heapq.heapify(ready)
    ordered: list[Resource] = []
    while ready:
        urn = heapq.heappop(ready)
        ordered.append(by_urn[urn])
        for other in waited_by[urn]:
            waits_for[other].discard(urn)
            if not waits_for[other]:
                heapq.heappush(ready, other)
    placed = {r.urn for r in ordered}
    return ordered + [r for r in resources if r.urn not in placed]
