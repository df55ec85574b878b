"""Stacks and their plans for the infra, verify, policy and cost tests.

Planning runs a stack's whole program under mocks, seconds per stack, and several test modules read the same
plans (each target's invariants, the plan tool, verify, policies and cost), so each stack is planned once per
session. Each caller gets its own copy, free to change."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from infra.plan import Plan, PlanError, Resource, run_stack

STACKS_DIR = Path(__file__).resolve().parents[2] / "stacks"
STACK_FILES = {p.name.removeprefix("Pulumi.").removesuffix(".yaml"): p for p in sorted(STACKS_DIR.glob("*.yaml"))}


def config_of(stack: str) -> dict[str, Any]:
    """The stack file's `config:` map."""
    return yaml.safe_load(STACK_FILES[stack].read_text())["config"]


def stacks_of(*targets: str) -> list[str]:
    """The stacks in stacks/ whose `parley:target` is one of `targets`."""
    return [stack for stack in STACK_FILES if config_of(stack).get("parley:target") in targets]


@cache
def _planned(stack: str) -> Plan:
    return run_stack(stack)


def planned(stack: str) -> Plan:
    """`run_stack(stack)` with the stack file as it is, computed once per session."""
    return copy.deepcopy(_planned(stack))


def of_type(plan: Plan, kind: str) -> list[Resource]:
    """Resources whose type ends with `kind` (`Instance`, `rds/instance:Instance`, ...)."""
    return [r for r in plan.resources if r.type.endswith(kind)]


def named(plan: Plan, suffix: str) -> Resource:
    """The one resource whose name ends with `suffix`."""
    (found,) = [r for r in plan.resources if r.name.endswith(suffix)]
    return found


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf of an input or output value with its path; a `Secret` is a leaf (its value stays hidden)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")
    else:
        yield path, value


def assert_counts(plans: dict[str, Plan], expected: dict[str, int], doc: Path) -> None:
    """Each plan has its pinned number of resources (printed per type, for when it changes on purpose), and
    `doc`'s table shows the same number for every stack."""
    for label, plan in plans.items():
        print(f"\n{label}: {len(plan.resources)} resources")
        for kind, number in plan.counts().items():
            print(f"  {number:4d}  {kind}")
    assert {label: len(plan.resources) for label, plan in plans.items()} == expected
    text = doc.read_text()
    for stack in STACK_FILES.keys() & plans.keys():
        assert f"| `{stack}` | {expected[stack]} |" in text, stack


def refusal(stack: str, overrides: dict[str, str]) -> str:
    """The one-line error with which the stack's program refuses `overrides`, from its key on
    ("<key>: <problem>"); fails the test if it runs or says more than one line."""
    try:
        run_stack(stack, config_overrides=overrides)
    except PlanError as refused:
        text = str(refused)
        assert "\n" not in text, text
        return text.split("failed: ", 1)[1]
    raise AssertionError(f"{stack} accepted {overrides}")
