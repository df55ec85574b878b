"""The one registry of rules. Rule modules register each rule with the `resource_rule` or `stack_rule` decorator
at import; `policies.rules.REGISTRY` holds them all once `policies.rules` is imported."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from policies.model import (
    ENFORCEMENTS,
    SEVERITIES,
    Enforcement,
    ResourceCheck,
    ResourceRule,
    Rule,
    Severity,
    StackCheck,
    StackRule,
)

# The pack's policy names are the rule ids, and pulumi-policy wants them short and plain.
RULE_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)+$")


class Registry:
    """Rules by id, in registration order. Refuses a duplicate id, an id that is no plain kebab-case name, an
    unknown enforcement or severity, and a rule without resource types or remediation text."""

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}

    def add(self, rule: Rule) -> Rule:
        if not RULE_ID.match(rule.id):
            raise ValueError(f"rule id {rule.id!r} is not kebab-case (like aws-rds-encrypted)")
        if rule.id in self._rules:
            raise ValueError(f"rule id {rule.id!r} is registered twice")
        if rule.enforcement not in ENFORCEMENTS:
            raise ValueError(f"rule {rule.id}: enforcement {rule.enforcement!r} is not one of {ENFORCEMENTS}")
        if rule.severity not in SEVERITIES:
            raise ValueError(f"rule {rule.id}: severity {rule.severity!r} is not one of {SEVERITIES}")
        if not rule.resource_types or not rule.remediation.strip() or not rule.description.strip():
            raise ValueError(f"rule {rule.id}: needs resource types, a description and remediation text")
        self._rules[rule.id] = rule
        return rule

    def all(self) -> list[Rule]:
        return list(self._rules.values())

    def get(self, rule_id: str) -> Rule:
        try:
            return self._rules[rule_id]
        except KeyError:
            raise KeyError(f"no rule {rule_id!r}; known: {', '.join(self._rules)}") from None

    def resource_rules(self) -> list[ResourceRule]:
        return [r for r in self._rules.values() if isinstance(r, ResourceRule)]

    def stack_rules(self) -> list[StackRule]:
        return [r for r in self._rules.values() if isinstance(r, StackRule)]

    def __len__(self) -> int:
        return len(self._rules)


REGISTRY = Registry()


def resource_rule(
    id: str,
    *,
    description: str,
    enforcement: Enforcement,
    severity: Severity,
    types: Iterable[str],
    remediation: str,
    prod_only: bool = False,
) -> Callable[[ResourceCheck], ResourceCheck]:
    """Register the decorated function as the check of a rule over single resources; return it unchanged, so
    it stays a plain function tests can call."""

    def register(check: ResourceCheck) -> ResourceCheck:
        REGISTRY.add(
            ResourceRule(id, description, enforcement, severity, tuple(types), remediation, prod_only, check=check)
        )
        return check

    return register


def stack_rule(
    id: str,
    *,
    description: str,
    enforcement: Enforcement,
    severity: Severity,
    types: Iterable[str],
    remediation: str,
) -> Callable[[StackCheck], StackCheck]:
    """Register the decorated function as the check of a rule over a whole stack's resources."""

    def register(check: StackCheck) -> StackCheck:
        REGISTRY.add(StackRule(id, description, enforcement, severity, tuple(types), remediation, check=check))
        return check

    return register
