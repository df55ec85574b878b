"""`parley verify`: check a deployed stack through boto3, against the real account after `pulumi up` or, with
`--offline`, against the stack's plan materialised into an in-process moto. Exit codes: 0 every check
passed, 1 a check failed (or the program could not be planned), 2 a usage error or an account that could not
be asked (unknown stack, no credentials, no region)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated

import boto3
import botocore.exceptions
import typer

from infra.plan.cli import fail, stack_option
from infra.plan.config import load_project, stack_config
from infra.plan.model import PlanError
from infra.plan.run import run_stack
from infra.verify.checks import Finding, verify
from infra.verify.materialise import Clients, Materialised, MaterialiseError, materialise


class Format(StrEnum):
    table = "table"
    json = "json"


# moto needs AWS's managed policies to attach them (API Gateway's logging role uses one).
MOTO_CONFIG = {"iam": {"load_aws_managed_policies": True}}
# moto accepts any credentials; these keep the caller's real ones out of an offline run.
OFFLINE_CREDENTIALS = {"aws_access_key_id": "offline", "aws_secret_access_key": "offline"}

app = typer.Typer(add_completion=False, subcommand_metavar="")


@app.callback(invoke_without_command=True)
def verify_command(
    stack: Annotated[str, typer.Option("--stack", "-s", help="A stack of stacks/Pulumi.<stack>.yaml.")],
    region: Annotated[
        list[str] | None, typer.Option("--region", help="A region to check (repeatable); default: the stack's.")
    ] = None,
    profile: Annotated[str | None, typer.Option("--profile", help="An AWS credentials profile.")] = None,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="Another endpoint for every AWS API (a moto server).")
    ] = None,
    output: Annotated[Format, typer.Option("--format", "-f", help="table or json.")] = Format.table,
    offline: Annotated[
        bool, typer.Option("--offline", help="Plan the stack, materialise it into moto in-process, check that.")
    ] = False,
) -> None:
    """Check a stack's deployed resources, found by their parley:stack tag: security groups least-privilege,
    databases private and encrypted, HTTPS listeners, health checks, failover records, tables, secrets, API
    Gateway routes and stages, Lambda functions, log buckets, access and flow logs, ECR, alarms, autoscaling."""
    regions = _regions(stack, region or [])
    if offline and (profile or endpoint_url):
        raise typer.BadParameter("--offline checks an in-process moto; leave out --profile and --endpoint-url")
    started = time.perf_counter()
    materialised = None
    try:
        if offline:
            materialised, findings = _offline(stack, regions)
        else:
            findings = _online(stack, regions, profile=profile, endpoint_url=endpoint_url)
    except (PlanError, MaterialiseError) as error:
        raise fail(error) from error
    elapsed = time.perf_counter() - started
    render = _json if output is Format.json else _table
    typer.echo(render(stack, findings, materialised, elapsed))
    raise typer.Exit(1 if any(not f.passed for f in findings) else 0)


def _regions(stack: str, given: list[str]) -> list[str]:
    """The regions asked for, else the stack file's `aws:region` and `parley:secondaryRegion`."""
    project = load_project()
    with stack_option():
        values = stack_config(project, stack).values
    if given:
        return list(dict.fromkeys(given))
    found = [values.get("aws:region"), values.get(f"{project.name}:secondaryRegion")]
    regions = [r for r in found if r]
    if not regions:
        raise typer.BadParameter(f"stack {stack} names no aws:region; give --region", param_hint="--region")
    return regions


def _online(stack: str, regions: list[str], *, profile: str | None, endpoint_url: str | None) -> list[Finding]:
    try:
        session = boto3.Session(profile_name=profile)
    except botocore.exceptions.ProfileNotFound as error:
        raise typer.BadParameter(str(error), param_hint="--profile") from error
    if session.get_credentials() is None:
        raise fail(
            "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, give --profile, "
            "or use --offline",
            2,
        )
    try:
        return verify(stack, clients=Clients(session, endpoint_url), regions=regions)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        raise fail(f"AWS refused or could not be reached: {error}", 2) from error


@contextmanager
def _moto() -> Iterator[None]:
    # Imported here: moto is a test tool, needed only for --offline.
    from moto import mock_aws

    with mock_aws(config=MOTO_CONFIG):  # type: ignore[arg-type]
        yield


def _offline(stack: str, regions: list[str]) -> tuple[Materialised, list[Finding]]:
    plan = run_stack(stack)
    with _moto():
        clients = Clients(boto3.Session(region_name=regions[0], **OFFLINE_CREDENTIALS))
        materialised = materialise(plan, clients=clients, default_region=regions[0])
        checked = list(dict.fromkeys([*regions, *materialised.regions]))
        return materialised, verify(stack, clients=clients, regions=checked)


def _table(stack: str, findings: list[Finding], materialised: Materialised | None, elapsed: float) -> str:
    lines = []
    if materialised is not None:
        lines.append(f"offline: {materialised.summary()}")
        lines.extend(f"note: {note}" for note in materialised.notes)
    for f in sorted(findings, key=lambda f: (f.passed, f.check, f.region, f.resource)):
        lines.append(f"{'PASS' if f.passed else 'FAIL'}  {f.check:<26} {f.region:<10} {f.resource}\n      {f.message}")
    failed = sum(not f.passed for f in findings)
    lines.append(f"{stack}: {len(findings) - failed} passed, {failed} failed in {elapsed:.1f} s")
    return "\n".join(lines)


def _json(stack: str, findings: list[Finding], materialised: Materialised | None, elapsed: float) -> str:
    document: dict[str, object] = {
        "stack": stack,
        "passed": all(f.passed for f in findings),
        "seconds": round(elapsed, 2),
        "findings": [f.as_dict() for f in findings],
    }
    if materialised is not None:
        document["materialised"] = {
            "created": dict(sorted(materialised.created_types.items())),
            "skipped": dict(sorted(materialised.skipped.items())),
            "notes": materialised.notes,
        }
    return json.dumps(document, indent=2)
