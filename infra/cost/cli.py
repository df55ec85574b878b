"""`parley cost`: monthly cost reports for Parley's stacks, planned offline or read from a real preview or
export; `compare` across stacks, `refresh` the catalog, `actual` spend from Cost Explorer. docs/cost.md."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from infra.cost.actual import ActualError, actual_costs
from infra.cost.actual import as_json as actual_json
from infra.cost.actual import as_text as actual_text
from infra.cost.html import as_html
from infra.cost.prices import CATALOG_DIR, Catalog, CatalogError, load_catalog
from infra.cost.refresh import RefreshError, refresh_catalog
from infra.cost.render import as_json, as_markdown, as_table, compare_json, compare_table, diff_json, diff_text
from infra.cost.report import Report, ReportError, build_report, diff, from_json
from infra.cost.usage import DEFAULT_PROFILE, Profile, ProfileError, load_profile
from infra.plan import PlanError, load, run_stack
from infra.plan.cli import fail, stack_option
from infra.plan.config import ROOT, load_project, stack_config

# Where each cloud's stacks say which region they run in (the home region: it carries the traffic).
REGION_KEYS = ("aws:region", "azure-native:location", "gcp:region", "parley:location", "parley:region")
EXPECTED = (PlanError, CatalogError, ProfileError, ReportError, RefreshError, ActualError)


class Format(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"
    html = "html"


class Cloud(StrEnum):
    aws = "aws"
    azure = "azure"


RENDERERS = {Format.table: as_table, Format.json: as_json, Format.markdown: as_markdown, Format.html: as_html}

app = typer.Typer(add_completion=False, help="Monthly cost of Parley's stacks at list prices.")

UsageOption = Annotated[
    Path | None, typer.Option("--usage", "-u", help="A usage profile (YAML); by default messaging-10k.", exists=True)
]
UsersOption = Annotated[int | None, typer.Option("--users", min=1, help="Daily users, replacing the profile's.")]
NoUsageOption = Annotated[bool, typer.Option("--no-usage", help="Hourly prices only: no usage-based component.")]


def _profile(usage: Path | None, users: int | None, no_usage: bool) -> Profile | None:
    if no_usage:
        if usage or users:
            raise typer.BadParameter(
                "--no-usage prices without a profile; drop --usage and --users", param_hint="--no-usage"
            )
        return None
    return load_profile(usage or DEFAULT_PROFILE, daily_users=users)


def stack_report(
    stack: str, profile: Profile | None, region: str | None = None, *, catalog: Catalog | None = None
) -> Report:
    """Plan `stack` offline and price it; its home region is `region`, else the one its stack file configures.
    `catalog` the prices (by default the repository's; commands pricing several reports read it once)."""
    project = load_project(ROOT)
    with stack_option():
        values = stack_config(project, stack).values
    region = region or next((values[k] for k in REGION_KEYS if values.get(k)), None)
    plan = run_stack(stack, project=project)
    return build_report(plan, catalog=load_catalog() if catalog is None else catalog, profile=profile, region=region)


@app.callback(invoke_without_command=True)
def cost(
    context: typer.Context,
    stack: Annotated[str | None, typer.Option("--stack", "-s", help="A stack of stacks/Pulumi.<stack>.yaml.")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Price a `pulumi preview --json`, `pulumi stack export` or JSON plan.")
    ] = None,
    usage: UsageOption = None,
    users: UsersOption = None,
    no_usage: NoUsageOption = False,
    region: Annotated[
        str | None,
        typer.Option("--region", help="The region carrying the traffic (default: the stack's, or a file's first)."),
    ] = None,
    output: Annotated[Format, typer.Option("--format", "-f", help="table, json, markdown or html.")] = Format.table,
    compare: Annotated[str | None, typer.Option("--compare", help="Show the difference from another stack.")] = None,
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="Show the difference from a saved `--format json` report.")
    ] = None,
) -> None:
    """Estimate a stack's monthly cost per resource and price component, with totals per region and service."""
    if context.invoked_subcommand is not None:
        return
    if (stack is None) == (file is None):
        raise typer.BadParameter("give exactly one of --stack and --file")
    if compare and baseline:
        raise typer.BadParameter("give --compare or --baseline, not both", param_hint="--compare")
    try:
        profile = _profile(usage, users, no_usage)
        catalog = load_catalog()
        if stack:
            head = stack_report(stack, profile, region, catalog=catalog)
        else:
            head = build_report(load(file), catalog=catalog, profile=profile, region=region)  # type: ignore[arg-type]
        if compare or baseline:
            base = stack_report(compare, profile, catalog=catalog) if compare else from_json(_read_json(baseline))  # type: ignore[arg-type]
            change = diff(base, head)
            if output is Format.json:
                typer.echo(diff_json(change))
            else:
                typer.echo(diff_text(change, markdown=output is Format.markdown))
            return
    except EXPECTED as error:
        raise fail(error) from error
    typer.echo(RENDERERS[output](head))


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ReportError(f"--baseline {path}: {error}") from error


@app.command("compare")
def compare_stacks(
    stacks: Annotated[
        str | None, typer.Option("--stacks", help="Comma-separated stacks; by default every one.")
    ] = None,
    usage: UsageOption = None,
    users: UsersOption = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="A Markdown table.")] = False,
    as_json_output: Annotated[bool, typer.Option("--json", help="Every report as JSON.")] = False,
) -> None:
    """What each stack costs a month at the same usage profile: total, hourly and usage parts, per daily user."""
    names = [s.strip() for s in stacks.split(",") if s.strip()] if stacks else list(load_project(ROOT).stacks())
    if not names:
        raise typer.BadParameter("no stack given", param_hint="--stacks")
    try:
        profile = _profile(usage, users, False)
        catalog = load_catalog()
        reports = [stack_report(name, profile, catalog=catalog) for name in names]
    except EXPECTED as error:
        raise fail(error) from error
    typer.echo(compare_json(reports) if as_json_output else compare_table(reports, markdown=markdown))


@app.command("refresh")
def refresh(
    cloud: Annotated[Cloud, typer.Option("--cloud", help="The catalog to refresh.")] = Cloud.aws,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
    catalog_dir: Annotated[
        Path, typer.Option("--catalog-dir", help="Where the catalog's YAML files are.")
    ] = CATALOG_DIR,
) -> None:
    """Update the catalog's prices from the AWS Price List Query API or the Azure Retail Prices API."""
    try:
        outcomes = refresh_catalog(cloud.value, directory=catalog_dir, dry_run=dry_run)
    except EXPECTED as error:
        raise fail(error) from error
    for o in outcomes:
        if o.status != "unchanged":
            typer.echo(f"{o.status:9} {o.sku} {o.region}: {o.before:g} -> {o.after:g} {o.detail}".rstrip())
    counts = {s: sum(o.status == s for o in outcomes) for s in ("updated", "unchanged", "missing")}
    verb = "would update" if dry_run else "updated"
    typer.echo(
        f"{cloud.value}: {verb} {counts['updated']}, unchanged {counts['unchanged']}, missing {counts['missing']}"
    )


@app.command("actual")
def actual(
    stack: Annotated[str, typer.Option("--stack", "-s", help="The stack whose `parley:stack` tag to filter on.")],
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM; by default last month.")] = None,
    as_json_output: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Last month's real spend of an AWS stack from Cost Explorer, per service."""
    import boto3  # only here: estimates need no AWS SDK

    try:
        found = actual_costs(boto3.client("ce", region_name="us-east-1"), stack=stack, month=month)
    except EXPECTED as error:
        raise fail(error) from error
    typer.echo(actual_json(found) if as_json_output else actual_text(found))
