"""Stacks planned once per test session. Planning runs a stack's whole program under mocks, seconds per stack,
and several test modules read the same plans (each target's invariants, the plan tool, verify, policies and
cost), so they share one run per stack. Each caller gets its own copy, free to change."""

from __future__ import annotations

import copy
from functools import cache

from infra.plan import Plan, run_stack


@cache
def _planned(stack: str) -> Plan:
    return run_stack(stack)


def planned(stack: str) -> Plan:
    """`run_stack(stack)` with the stack file as it is, computed once per session."""
    return copy.deepcopy(_planned(stack))
