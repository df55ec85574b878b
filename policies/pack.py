"""The pulumi-policy side: one policy per rule, each calling the rule's plain function with the resource's type
and properties. `build_policies` only builds them; `PolicyPack` (in `__main__.py`) serves them to the engine,
which it does as soon as it is constructed, so tests call `build_policies` alone.

Environment for prod-only rules: a policy's config `environment` (`--policy-pack-config`, see `pack_config`),
else the resource's tags or labels (with its provider's defaults), else the stack tag `parley:environment`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from policies.environment import resolve
from policies.model import ResourceRule, ResourceView, StackRule
from policies.props import UNKNOWN
from policies.registry import Registry

ENVIRONMENTS = ["dev", "staging", "prod"]
CONFIG_SCHEMA = PolicyConfigSchema(
    properties={"environment": {"type": "string", "enum": ENVIRONMENTS, "description": "Overrides resource tags."}}
)
STACK_TAG = "parley:environment"


def plain(value: Any) -> Any:
    """The engine's property proxies as plain dicts and lists, a value unknown during preview as `"[unknown]"`
    (the proxies raise on reading one), and whole numbers as `int`, as in a plan.

    The engine sends properties as a protobuf `Struct`, whose only number type is a double: a port of 443 or a
    retention of 7 days arrives as `443.0` and `7.0`, which the rules' `isinstance(value, int)` checks would
    take for "not set"."""
    if isinstance(value, Mapping):
        return {key: plain(_read(value, key)) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [plain(_read(value, index)) for index in range(len(value))]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _read(container: Any, key: Any) -> Any:
    try:
        return container[key]
    except UnknownValueError:
        return UNKNOWN


def _environment(config: Mapping[str, Any], stack_tags: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(override, fallback) for `resolve`: the policy's config, and the stack's tag."""
    return config.get("environment"), stack_tags.get(STACK_TAG)


def _view(
    resource: ResourceValidationArgs | PolicyResource,
    config: Mapping[str, Any],
    stack_tags: Mapping[str, str],
    dependencies: tuple[str, ...] = (),
) -> ResourceView:
    props = plain(resource.props)
    provider = plain(resource.provider.props) if resource.provider is not None else {}
    override, fallback = _environment(config, stack_tags)
    return ResourceView(
        type=resource.resource_type,
        name=resource.name,
        props=props,
        urn=resource.urn,
        environment=resolve(resource.resource_type, props, provider, override=override, fallback=fallback),
        dependencies=dependencies,
        provider=provider,
    )


def resource_view(args: ResourceValidationArgs) -> ResourceView:
    return _view(args, args.get_config(), args.stack_tags)


def stack_views(args: StackValidationArgs) -> list[ResourceView]:
    config = args.get_config()
    return [
        _view(resource, config, args.stack_tags, tuple(d.urn for d in resource.dependencies))
        for resource in args.resources
    ]


def _settings(rule: ResourceRule | StackRule) -> dict[str, Any]:
    """What a policy of either kind takes from its rule."""
    return {
        "name": rule.id,
        "description": rule.description,
        "enforcement_level": EnforcementLevel(rule.enforcement),
        "severity": Severity(rule.severity),
        "config_schema": CONFIG_SCHEMA,
        "remediation_steps": rule.remediation,
    }


def _resource_policy(rule: ResourceRule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in rule.resource_types:
            return
        for message in rule.evaluate(resource_view(args)):
            report_violation(f"{message}. Fix: {rule.remediation}", None)

    return ResourceValidationPolicy(validate=validate, **_settings(rule))


def _stack_policy(rule: StackRule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for view, message in rule.evaluate(stack_views(args)):
            report_violation(f"{message}. Fix: {rule.remediation}", view.urn)

    return StackValidationPolicy(validate=validate, **_settings(rule))


def build_policies(registry: Registry) -> list[Policy]:
    """One policy per rule of `registry`, named by the rule's id, in registration order."""
    return [
        _resource_policy(rule) if isinstance(rule, ResourceRule) else _stack_policy(rule) for rule in registry.all()
    ]


def pack_config(registry: Registry, environment: str) -> dict[str, dict[str, str]]:
    """A `--policy-pack-config` file's content that sets `environment` for every policy (Pulumi passes config
    to each policy by name; there is no pack-wide key)."""
    if environment not in ENVIRONMENTS:
        raise ValueError(f"environment {environment!r} is not one of {', '.join(ENVIRONMENTS)}")
    return {rule.id: {"environment": environment} for rule in registry.all()}
