"""`parley policy`: exit codes, and output that names the rule, the resource and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policies.cli import app
from policies.rules import REGISTRY

FIXTURES = Path(__file__).resolve().parents[1] / "infra" / "fixtures"
VPC_EXPORT = str(FIXTURES / "stack-export_aws-vpc-alb.json")
runner = CliRunner()


def test_a_clean_stack_exits_zero() -> None:
    result = runner.invoke(app, ["--stack", "k8s-dev"])
    assert result.exit_code == 0, result.output
    assert "stack k8s-dev: 0 mandatory" in result.output


def test_mandatory_violations_exit_one_and_say_how_to_fix() -> None:
    result = runner.invoke(app, ["--file", VPC_EXPORT])
    assert result.exit_code == 1
    assert "MANDATORY high     aws-lb-https-only" in result.output
    assert "resource: aws:lb/listener:Listener exampleListener" in result.output
    assert "fix:      Give the HTTP listener one default action of type 'redirect'" in result.output


def test_json_lists_each_violation_with_counts() -> None:
    result = runner.invoke(app, ["--file", VPC_EXPORT, "--format", "json"])
    document = json.loads(result.output)
    assert document["summary"]["mandatory"] == sum(v["enforcement"] == "mandatory" for v in document["violations"])
    flow = next(v for v in document["violations"] if v["rule"] == "aws-vpc-flow-logs")
    assert flow["name"] == "exampleVpc" and flow["urn"].endswith("::exampleVpc") and "FlowLog" in flow["remediation"]


def test_environment_flag_turns_on_prod_rules() -> None:
    rds = str(FIXTURES / "stack-export_aws-rds-instance_secret-output.json")
    plain = runner.invoke(app, ["--file", rds, "--format", "json"])
    prod = runner.invoke(app, ["--file", rds, "--format", "json", "--environment", "prod"])
    rules = {v["rule"] for v in json.loads(prod.output)["violations"]}
    assert "aws-rds-multi-az" in rules and "aws-rds-multi-az" not in plain.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--stack", "no-such-stack"], "unknown stack 'no-such-stack'"),
        (["--file", "missing.json"], "missing.json"),
        (["--stack", "k8s-dev", "--file", VPC_EXPORT], "exactly one of --stack and --file"),
        ([], "exactly one of --stack and --file"),
        (["--file", VPC_EXPORT, "--environment", "production"], "'production' is not one of dev, staging, prod"),
    ],
)
def test_usage_errors_exit_two(arguments: list[str], message: str) -> None:
    result = runner.invoke(app, arguments)
    assert result.exit_code == 2
    # Typer draws usage errors in a box; read its text without the borders.
    assert message in " ".join(result.output.replace("│", " ").split())


def test_list_prints_every_rule() -> None:
    result = runner.invoke(app, ["--list"])
    assert result.exit_code == 0
    assert all(rule.id in result.output for rule in REGISTRY.all())
    assert f"{len(REGISTRY)} rules" in result.output


def test_pack_config_sets_the_environment_of_every_policy() -> None:
    result = runner.invoke(app, ["--pack-config", "prod"])
    assert json.loads(result.output)["aws-rds-multi-az"] == {"environment": "prod"}
