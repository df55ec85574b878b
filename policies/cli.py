"""`parley policy`: the policy pack's rules run offline over a stack planned under mocks, or over a real
`pulumi preview --json` / `pulumi stack export` file. Exit 1 on any mandatory violation, 2 on bad usage."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from infra.plan import Plan, PlanError, load, run_stack
from infra.plan.cli import fail, stack_option
from infra.plan.config import ROOT, load_project, stack_config
from policies.evaluate import evaluate, views_from_plan
from policies.pack import ENVIRONMENTS, pack_config
from policies.report import as_json, as_table, rules_table, summary
from policies.rules import REGISTRY


class Format(StrEnum):
    table = "table"
    json = "json"


# One command with options only: a Typer app whose callback does the work, so the host can `add_typer` it.
app = typer.Typer(add_completion=False, subcommand_metavar="")


@app.callback(invoke_without_command=True)
def policy(
    stack: Annotated[str | None, typer.Option("--stack", "-s", help="A stack of stacks/Pulumi.<stack>.yaml.")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Check a `pulumi preview --json`, a `pulumi stack export` or a JSON plan."),
    ] = None,
    output: Annotated[Format, typer.Option("--format", "-f", help="table or json.")] = Format.table,
    environment: Annotated[
        str | None, typer.Option("--environment", "-e", help="dev, staging or prod: overrides tags and the stack.")
    ] = None,
    list_rules: Annotated[bool, typer.Option("--list", help="Print the rules and exit.")] = False,
    config_for: Annotated[
        str | None,
        typer.Option("--pack-config", help="Print a --policy-pack-config file setting this environment and exit."),
    ] = None,
) -> None:
    """Check a stack against the policy pack, offline.

    Prints each violation with its resource, rule, severity and how to fix it. Exits 1 when any mandatory rule
    is violated, 0 otherwise."""
    if list_rules:
        typer.echo(rules_table(REGISTRY))
        return
    if config_for is not None:
        _check_environment(config_for, "--pack-config")
        typer.echo(json.dumps(pack_config(REGISTRY, config_for), indent=2))
        return
    if (stack is None) == (file is None):
        raise typer.BadParameter("give exactly one of --stack and --file (or --list)")
    if environment is not None:
        _check_environment(environment, "--environment")
    plan, fallback = _plan(stack, file)
    violations = evaluate(views_from_plan(plan, environment=environment, fallback_environment=fallback), REGISTRY)
    render = as_json if output is Format.json else as_table
    source = f"stack {stack}" if stack else str(file)
    typer.echo(render(violations, source=source, rules=len(REGISTRY)))
    raise typer.Exit(1 if summary(violations)["mandatory"] else 0)


def _check_environment(value: str, flag: str) -> None:
    if value not in ENVIRONMENTS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(ENVIRONMENTS)}", param_hint=flag)


def _plan(stack: str | None, file: Path | None) -> tuple[Plan, str | None]:
    """The plan, and the stack's `parley:environment` for resources that carry no environment of their own."""
    try:
        if file is not None:
            return load(file), None
        project = load_project(ROOT)
        with stack_option():
            fallback = stack_config(project, stack or "").values.get("parley:environment")
        return run_stack(stack or "", project=project), fallback
    except PlanError as error:
        # An unreadable file or a program that stops: the input is wrong, not the policy.
        raise fail(error, 2) from error
