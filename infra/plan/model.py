"""The plan: what a Pulumi program asks the engine to manage, as typed values that tests, policies, cost and
diagrams read. The same model comes from three sources: the program run under mocks, a real
`pulumi preview --json` and a real `pulumi stack export` (docs/plan-format.md)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

Source = Literal["mocks", "preview", "export"]
SECRET_TEXT = "[secret]"
# What the plan holds where the engine does not know a value yet (a preview of resources still to create).
UNKNOWN = "[unknown]"
STACK_TYPE = "pulumi:pulumi:Stack"


class PlanError(Exception):
    """An expected failure: an unknown stack, a program that stops with an error, a file that is no plan."""


@dataclass(frozen=True)
class Secret:
    """A value Pulumi marks secret. It always prints as `[secret]`; `value` holds the plain value only where the
    source had it (a run under mocks) and is `None` otherwise. All secrets compare equal, since no rendering of a
    plan can tell them apart."""

    value: Any = field(default=None, compare=False)

    def __repr__(self) -> str:
        return SECRET_TEXT

    __str__ = __repr__


@dataclass
class Resource:
    """One resource. `parent` is the parent's URN (the stack's for top-level resources); `dependencies` are the
    URNs it waits for, explicit and through its inputs; `provider` is the URN of an explicit or default provider,
    empty where the engine would pick the default one."""

    urn: str
    type: str
    name: str
    custom: bool
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    parent: str = ""
    dependencies: list[str] = field(default_factory=list)
    provider: str = ""
    id: str | None = None

    @property
    def is_provider(self) -> bool:
        return self.type.startswith("pulumi:providers:")


@dataclass
class Plan:
    """Every resource of one stack but the stack itself, in registration order. `stand_ins` names the secret
    configuration keys a run under mocks filled with placeholder values because the stack file cannot give them
    offline."""

    stack: str
    project: str
    source: Source
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    stand_ins: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Resources per type, most numerous first."""
        counted = Counter(r.type for r in self.resources)
        return dict(sorted(counted.items(), key=lambda item: (-item[1], item[0])))

    def by_urn(self) -> dict[str, Resource]:
        return {r.urn: r for r in self.resources}

    def one(self, type_: str) -> Resource:
        """The only resource of `type_`; a `PlanError` when there are none or several."""
        found = [r for r in self.resources if r.type == type_]
        if len(found) != 1:
            raise PlanError(f"stack {self.stack} has {len(found)} resources of type {type_}, not one")
        return found[0]

    def children(self, parent: str) -> list[Resource]:
        return [r for r in self.resources if r.parent == parent]

    def roots(self) -> list[Resource]:
        """The resources whose parent is not in the plan: the stack's own children."""
        urns = self.by_urn()
        return [r for r in self.resources if r.parent not in urns]
