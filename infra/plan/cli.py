"""`parley plan`: what a stack's Pulumi program would create, run offline under mocks, or what a real
`pulumi preview --json` or `pulumi stack export` holds. Registered under the `parley.commands` entry points."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from infra.plan.config import ROOT, Project, UnknownStack, load_project
from infra.plan.model import Plan, PlanError
from infra.plan.readers import load
from infra.plan.render import StackResult, as_dot, as_json, as_summary, as_table
from infra.plan.run import run_stack


class Format(StrEnum):
    table = "table"
    json = "json"
    dot = "dot"


RENDERERS = {Format.table: as_table, Format.json: as_json, Format.dot: as_dot}


@contextmanager
def stack_option() -> Iterator[None]:
    """Inside, an unknown stack is a usage error of `--stack` (exit 2), not a failed plan. Every command that
    takes `--stack` (plan, policy, cost, verify) reads it this way."""
    try:
        yield
    except UnknownStack as error:
        raise typer.BadParameter(str(error), param_hint="--stack") from error


def fail(error: object, code: int = 1) -> typer.Exit:
    """Say `error` on stderr and return the exit to raise: for expected failures (a program that stops, an
    unreadable file), which need no traceback."""
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(code)


# One command with options only: a Typer app whose callback does the work, so the host can `add_typer` it.
app = typer.Typer(add_completion=False, subcommand_metavar="")


@app.callback(invoke_without_command=True)
def plan(
    stack: Annotated[str | None, typer.Option("--stack", "-s", help="A stack of stacks/Pulumi.<stack>.yaml.")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Show a `pulumi preview --json`, a `pulumi stack export` or a JSON plan instead."),
    ] = None,
    all_stacks: Annotated[bool, typer.Option("--all", help="Plan every stack; print counts and times.")] = False,
    output: Annotated[Format, typer.Option("--format", "-f", help="table, json or dot (Graphviz).")] = Format.table,
    project_dir: Annotated[
        Path | None, typer.Option("--project-dir", help="The Pulumi project (Pulumi.yaml); by default Parley's own.")
    ] = None,
) -> None:
    """Show what a stack's Pulumi program asks for, planned offline.

    The program runs for real under Pulumi mocks. Each resource shows with its parent and key inputs.

    Secret values are never shown, in any format."""
    if sum((stack is not None, file is not None, all_stacks)) != 1:
        raise typer.BadParameter("give exactly one of --stack, --file and --all")
    if all_stacks and output is not Format.table:
        raise typer.BadParameter("--all prints a summary table; plan one stack for json or dot", param_hint="--format")
    try:
        if file is not None:
            found = load(file)
        elif all_stacks:
            raise typer.Exit(_plan_all(load_project(project_dir or ROOT)))
        else:
            found = _run(stack or "", load_project(project_dir or ROOT))
    except PlanError as error:
        raise fail(error) from error
    typer.echo(RENDERERS[output](found), nl=output is not Format.dot)


def _run(stack: str, project: Project) -> Plan:
    with stack_option():
        return run_stack(stack, project=project)


def _plan_all(project: Project) -> int:
    results = []
    for stack in project.stacks():
        started = time.perf_counter()
        try:
            planned = run_stack(stack, project=project)
        except PlanError as error:
            results.append(StackResult(stack, time.perf_counter() - started, error=str(error)))
        else:
            results.append(StackResult(stack, time.perf_counter() - started, plan=planned))
    typer.echo(as_summary(results))
    return 1 if any(r.error for r in results) else 0
