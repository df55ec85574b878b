"""The rules over real plans: every prod stack planned offline has no mandatory violation, and the shipped
preview and export files of real Pulumi runs go through every rule without error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.plan import load
from policies.evaluate import evaluate, views_from_plan
from policies.rules import REGISTRY
from tests.support.plans import planned

ROOT = Path(__file__).resolve().parents[2]
STACKS = ROOT / "stacks"
FIXTURES = ROOT / "tests" / "infra" / "fixtures"
# The prod stacks every target should have; any other stack file whose environment is prod joins them.
EXPECTED_PROD = {"k8s-prod", "aws-prod", "aws-serverless-prod", "azure-prod", "gcp-prod"}


def environment_of(path: Path) -> str:
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    return str(config.get("parley:environment", "dev"))


def prod_stacks() -> list[str]:
    found = {
        p.name[len("Pulumi.") : -len(".yaml")] for p in STACKS.glob("Pulumi.*.yaml") if environment_of(p) == "prod"
    }
    return sorted(found | EXPECTED_PROD)


@pytest.mark.parametrize("stack", prod_stacks())
def test_prod_stack_has_no_mandatory_violation(stack: str) -> None:
    path = STACKS / f"Pulumi.{stack}.yaml"
    if not path.exists():
        pytest.skip(f"{path.name} is not written yet")
    plan = planned(stack)
    violations = evaluate(views_from_plan(plan, fallback_environment=environment_of(path)), REGISTRY)
    mandatory = [f"{v.rule} on {v.resource_name}: {v.message}" for v in violations if v.enforcement == "mandatory"]
    assert mandatory == []


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_real_preview_and_export_files_run_through_every_rule(fixture: Path) -> None:
    views = views_from_plan(load(fixture), environment="prod")
    assert views
    for violation in evaluate(views, REGISTRY):
        assert violation.urn in {v.urn for v in views} and violation.remediation


def test_the_vpc_export_is_caught_without_flow_logs_or_https() -> None:
    violations = evaluate(views_from_plan(load(FIXTURES / "stack-export_aws-vpc-alb.json")), REGISTRY)
    assert {"aws-vpc-flow-logs", "aws-lb-https-only", "aws-lb-access-logs"} <= {v.rule for v in violations}
