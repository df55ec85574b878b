"""The offline plan: what a stack's Pulumi program asks for, from a run under mocks (`run_stack`) or read from a
real `pulumi preview --json` or `pulumi stack export` (`load`). The format: docs/plan-format.md."""

from infra.plan.model import Plan, PlanError, Resource, Secret
from infra.plan.readers import load
from infra.plan.run import run_stack

__all__ = ["Plan", "PlanError", "Resource", "Secret", "load", "run_stack"]
