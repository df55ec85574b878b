"""The policy model: what a rule sees (`ResourceView`), what it is (`ResourceRule`, `StackRule`) and what it finds
(`Violation`). Nothing here knows Pulumi's policy SDK or the offline plan, so the same rules run in the pack
(`pulumi preview --policy-pack policies`) and offline (`parley policy`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Enforcement = Literal["mandatory", "advisory"]
Severity = Literal["low", "medium", "high", "critical"]
Cloud = Literal["aws", "azure", "gcp", "kubernetes", "common"]
ENFORCEMENTS: tuple[Enforcement, ...] = ("mandatory", "advisory")
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class ResourceView:
    """One resource as a rule sees it. `props` are its inputs in Pulumi's camelCase engine form (a plan's
    `inputs`, the pack's `args.props`); a value not known before `pulumi up` is the string `"[unknown]"`.
    `environment` is `dev`, `staging`, `prod` or `None` when nothing says (see `policies.environment`).
    `dependencies` are the URNs it waits for (stack rules use them to relate resources); `provider` holds the
    properties of its provider (AWS `defaultTags`, GCP `defaultLabels`), empty for the default provider."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    environment: str | None = None
    dependencies: tuple[str, ...] = ()
    provider: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"


ResourceCheck = Callable[[ResourceView], list[str]]
# A stack check returns (resource, message) pairs: the resource the finding belongs to and what is wrong.
StackCheck = Callable[[Sequence[ResourceView]], list[tuple[ResourceView, str]]]


@dataclass(frozen=True)
class RuleInfo:
    """What every rule declares. `resource_types` are the type tokens it reads; `prod_only` rules apply to
    resources whose environment is `prod` and to no other (nor to those whose environment is unknown)."""

    id: str
    description: str
    enforcement: Enforcement
    severity: Severity
    resource_types: tuple[str, ...]
    remediation: str
    prod_only: bool = False

    @property
    def clouds(self) -> tuple[Cloud, ...]:
        """The clouds of its resource types, in a fixed order."""
        found = {_cloud_of(t) for t in self.resource_types}
        order: tuple[Cloud, ...] = ("aws", "azure", "gcp", "kubernetes")
        return tuple(c for c in order if c in found)


@dataclass(frozen=True)
class ResourceRule(RuleInfo):
    """A rule over one resource: `check` returns one message per problem, none when the resource passes."""

    check: ResourceCheck = field(default=lambda view: [], compare=False, repr=False)

    def evaluate(self, view: ResourceView) -> list[str]:
        if view.type not in self.resource_types or (self.prod_only and not view.is_prod):
            return []
        return self.check(view)


@dataclass(frozen=True)
class StackRule(RuleInfo):
    """A rule over the relations between resources of one stack (the pack runs it as a stack policy)."""

    check: StackCheck = field(default=lambda views: [], compare=False, repr=False)

    def evaluate(self, views: Sequence[ResourceView]) -> list[tuple[ResourceView, str]]:
        return self.check(views)


Rule = ResourceRule | StackRule


@dataclass(frozen=True)
class Violation:
    """One finding: which rule, on which resource, what is wrong and how to fix it."""

    rule: str
    severity: Severity
    enforcement: Enforcement
    resource_type: str
    resource_name: str
    urn: str
    message: str
    remediation: str

    def as_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "enforcement": self.enforcement,
            "type": self.resource_type,
            "name": self.resource_name,
            "urn": self.urn,
            "message": self.message,
            "remediation": self.remediation,
        }


def _cloud_of(resource_type: str) -> Cloud:
    prefix = resource_type.split(":", 1)[0]
    if prefix == "azure-native":
        return "azure"
    if prefix in ("aws", "gcp", "kubernetes"):
        return prefix  # type: ignore[return-value]
    return "common"
