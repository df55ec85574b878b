"""The pack builds one pulumi-policy policy per rule (without serving it), adapts the engine's arguments, and
resolves each resource's environment as docs/policies.md says."""

from __future__ import annotations

import json

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, unknown_checking_proxy

from policies.environment import resolve
from policies.pack import build_policies, pack_config, plain, resource_view
from policies.rules import REGISTRY

RDS = "aws:rds/instance:Instance"


def args(props: dict, *, config: dict | None = None, tags: dict | None = None) -> ResourceValidationArgs:
    opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    return ResourceValidationArgs(RDS, unknown_checking_proxy(props), "urn:db", "db", opts, None, config, tags)


def test_one_policy_per_rule_with_its_levels() -> None:
    policies = build_policies(REGISTRY)
    assert [p.name for p in policies] == [r.id for r in REGISTRY.all()]
    for policy, rule in zip(policies, REGISTRY.all(), strict=True):
        assert policy.enforcement_level == EnforcementLevel(rule.enforcement)
        assert policy.severity == Severity(rule.severity)
        assert policy.remediation_steps == rule.remediation
        expected = StackValidationPolicy if rule in REGISTRY.stack_rules() else ResourceValidationPolicy
        assert isinstance(policy, expected)


def test_a_policy_reports_the_rule_violations_with_the_fix() -> None:
    policy = next(p for p in build_policies(REGISTRY) if p.name == "aws-rds-not-public")
    reported: list[str] = []
    policy.validate(args({"publiclyAccessible": True}), lambda message, urn=None: reported.append(message))
    assert (
        len(reported) == 1
        and "publiclyAccessible" in reported[0]
        and "Fix: Set publiclyAccessible=False" in reported[0]
    )
    reported.clear()
    policy.validate(args({"publiclyAccessible": False}), lambda message, urn=None: reported.append(message))
    assert reported == []


def test_unknown_values_from_a_preview_read_as_unknown() -> None:
    proxied = unknown_checking_proxy({"a": UNKNOWN_BOOLEAN_VALUE, "b": [1, {"c": UNKNOWN_BOOLEAN_VALUE}]})
    assert plain(proxied) == {"a": "[unknown]", "b": [1, {"c": "[unknown]"}]}


def test_pack_config_overrides_tags_and_stack_tags_are_the_fallback() -> None:
    assert resource_view(args({"tags": {"parley:environment": "dev"}}, config={"environment": "prod"})).is_prod
    assert resource_view(args({}, tags={"parley:environment": "prod"})).is_prod
    assert (
        resource_view(args({"tags": {"parley:environment": "dev"}}, tags={"parley:environment": "prod"})).environment
        == "dev"
    )


@pytest.mark.parametrize(
    ("type_", "props", "provider", "expected"),
    [
        (
            "aws:rds/instance:Instance",
            {},
            {"defaultTags": json.dumps({"tags": {"parley:environment": "prod"}})},
            "prod",
        ),
        ("aws:rds/instance:Instance", {"tagsAll": {"parley:environment": "staging"}}, {}, "staging"),
        ("azure-native:redis:Redis", {"tags": {"parley-environment": "production"}}, {}, "prod"),
        ("gcp:redis/instance:Instance", {}, {"defaultLabels": {"parley-environment": "dev"}}, "dev"),
        ("kubernetes:apps/v1:Deployment", {"metadata": {"labels": {"parley/environment": "prod"}}}, {}, "prod"),
        ("kubernetes:apps/v1:Deployment", {}, {}, None),
    ],
)
def test_environment_from_each_cloud_marker(type_: str, props: dict, provider: dict, expected: str | None) -> None:
    assert resolve(type_, props, provider) == expected


def test_pack_config_file_names_every_policy() -> None:
    config = pack_config(REGISTRY, "prod")
    assert set(config) == {r.id for r in REGISTRY.all()} and config["aws-rds-multi-az"] == {"environment": "prod"}
    with pytest.raises(ValueError, match="production"):
        pack_config(REGISTRY, "production")


def engine_props(props: dict) -> object:
    """Properties as the engine hands them to a policy: through a protobuf Struct, unwrapped by pulumi-policy."""
    from google.protobuf import json_format, struct_pb2
    from pulumi_policy.deserialize import deserialize_properties

    struct = struct_pb2.Struct()
    struct.update(props)
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def test_whole_numbers_from_the_engine_read_as_integers() -> None:
    # A Struct carries every number as a double: 7 arrives as 7.0, which int checks would take for "not set".
    assert plain(engine_props({"backupRetentionPeriod": 7, "ports": [443], "ratio": 0.5})) == {
        "backupRetentionPeriod": 7,
        "ports": [443],
        "ratio": 0.5,
    }
    policy = next(p for p in build_policies(REGISTRY) if p.name == "aws-rds-backups")
    reported: list[str] = []
    opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    for days in (7, 1):
        engine = ResourceValidationArgs(RDS, engine_props({"backupRetentionPeriod": days}), "urn:db", "db", opts, None)
        policy.validate(engine, lambda message, urn=None: reported.append(message))
    assert len(reported) == 1 and "backupRetentionPeriod is 1" in reported[0]
