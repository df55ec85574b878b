"""Running the rules offline over a plan's resources (`parley policy`), the same rules the pack runs in the
engine. Plans are read duck-typed (anything with `.resources` of `infra.plan.Resource`'s shape), so the policy
package itself never imports the infrastructure program."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from policies.environment import resolve
from policies.model import ResourceView, Violation
from policies.registry import Registry


class PlannedResource(Protocol):
    urn: str
    type: str
    name: str
    custom: bool
    inputs: dict[str, Any]
    provider: str
    dependencies: list[str]


class PlanLike(Protocol):
    resources: Sequence[PlannedResource]


def views_from_plan(
    plan: PlanLike, *, environment: str | None = None, fallback_environment: str | None = None
) -> list[ResourceView]:
    """One view per resource a provider manages (components are groupings and carry no properties). Each view
    gets its provider's inputs, and the environment: `environment` if given, else the resource's tags or labels,
    else `fallback_environment` (the stack's `parley:environment`)."""
    by_urn = {r.urn: r for r in plan.resources}
    views = []
    for resource in plan.resources:
        if not resource.custom or resource.type.startswith("pulumi:providers:"):
            continue
        provider = by_urn.get(resource.provider)
        provider_props = provider.inputs if provider is not None else {}
        views.append(
            ResourceView(
                type=resource.type,
                name=resource.name,
                props=resource.inputs,
                urn=resource.urn,
                environment=resolve(
                    resource.type,
                    resource.inputs,
                    provider_props,
                    override=environment,
                    fallback=fallback_environment,
                ),
                dependencies=tuple(resource.dependencies),
                provider=provider_props,
            )
        )
    return views


def evaluate(views: Sequence[ResourceView], registry: Registry) -> list[Violation]:
    """Every violation of every rule of `registry` over `views`: resource rules per resource, then stack rules
    over all of them. Mandatory first, then by severity (critical first), rule and resource."""
    found: list[Violation] = []
    for rule in registry.resource_rules():
        for view in views:
            found += _violations(rule, view, rule.evaluate(view))
    for stack_rule in registry.stack_rules():
        for view, message in stack_rule.evaluate(views):
            found += _violations(stack_rule, view, [message])
    severity_rank = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    return sorted(
        found, key=lambda v: (v.enforcement != "mandatory", severity_rank[v.severity], v.rule, v.urn, v.message)
    )


def _violations(rule: Any, view: ResourceView, messages: Iterable[str]) -> list[Violation]:
    return [
        Violation(
            rule=rule.id,
            severity=rule.severity,
            enforcement=rule.enforcement,
            resource_type=view.type,
            resource_name=view.name,
            urn=view.urn,
            message=message,
            remediation=rule.remediation,
        )
        for message in messages
    ]
