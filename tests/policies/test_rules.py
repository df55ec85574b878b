"""Every rule accepts its passing case and refuses its failing one; the table covers every registered rule."""

from __future__ import annotations

import dataclasses

import pytest

from policies.model import ResourceRule, ResourceView, StackRule
from policies.registry import REGISTRY as DECORATED
from policies.registry import Registry
from policies.rules import REGISTRY
from tests.policies.cases import CASES, Case, deployment, view


def run(rule_id: str, case: Case) -> list[str]:
    rule = REGISTRY.get(rule_id)
    if isinstance(rule, StackRule):
        assert isinstance(case, list), f"{rule_id} is a stack rule: its cases are lists of resources"
        return [message for _, message in rule.evaluate(case)]
    assert isinstance(rule, ResourceRule) and isinstance(case, ResourceView)
    assert case.type in rule.resource_types, f"{rule_id}'s case has type {case.type}, which the rule does not read"
    return rule.evaluate(case)


def test_every_rule_has_a_passing_and_a_failing_case() -> None:
    assert DECORATED is REGISTRY
    assert sorted(CASES) == sorted(r.id for r in REGISTRY.all())


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_passing_case_passes(rule_id: str) -> None:
    assert run(rule_id, CASES[rule_id][0]) == []


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_failing_case_fails(rule_id: str) -> None:
    messages = run(rule_id, CASES[rule_id][1])
    assert messages and all(isinstance(m, str) and m for m in messages)


def test_at_least_thirty_rules_over_every_cloud() -> None:
    clouds = {c for rule in REGISTRY.all() for c in rule.clouds}
    assert len(REGISTRY) >= 30 and clouds == {"aws", "azure", "gcp", "kubernetes"}


@pytest.mark.parametrize("rule", [r for r in REGISTRY.resource_rules() if r.prod_only], ids=lambda r: r.id)
def test_prod_only_rules_skip_other_environments(rule: ResourceRule) -> None:
    failing = CASES[rule.id][1]
    assert isinstance(failing, ResourceView)
    for environment in ("dev", "staging", None):
        assert rule.evaluate(dataclasses.replace(failing, environment=environment)) == []


def test_a_rule_ignores_types_it_does_not_read() -> None:
    assert REGISTRY.get("aws-rds-not-public").evaluate(view("aws:s3/bucket:Bucket", publiclyAccessible=True)) == []


def test_unknown_values_do_not_fail_a_rule() -> None:
    # A preview does not know values computed at `pulumi up`; the engine reports those itself.
    rule = REGISTRY.get("aws-rds-encrypted")
    assert rule.evaluate(view("aws:rds/instance:Instance", storageEncrypted="[unknown]")) == []


def test_plain_secrets_in_a_kubernetes_container_env_are_named() -> None:
    found = REGISTRY.get("no-plaintext-secrets").evaluate(deployment(env=[{"name": "DB_PASSWORD", "value": "x"}]))
    assert found == ["setting DB_PASSWORD holds a credential in plain text"]


def test_world_ingress_on_every_port_is_refused() -> None:
    rule = view("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", cidrIpv6="::/0", ipProtocol="-1")
    assert REGISTRY.get("aws-sg-no-public-ingress").evaluate(rule) == ["::/0 may reach every port"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [({"id": "Bad_Id"}, "kebab-case"), ({"severity": "urgent"}, "severity"), ({"remediation": " "}, "remediation")],
)
def test_registry_refuses_malformed_rules(change: dict[str, str], problem: str) -> None:
    registry = Registry()
    rule = dataclasses.replace(REGISTRY.get("aws-rds-not-public"), **change)
    with pytest.raises(ValueError, match=problem):
        registry.add(rule)  # type: ignore[arg-type]


def test_registry_refuses_a_duplicate_id() -> None:
    registry = Registry()
    registry.add(REGISTRY.get("aws-rds-not-public"))
    with pytest.raises(ValueError, match="twice"):
        registry.add(REGISTRY.get("aws-rds-not-public"))
