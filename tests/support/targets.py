"""Checks every cloud target's tests make of their plans (tests/infra/test_aws.py, test_gcp.py,
test_azure.py): the same invariant, stated once, with the target's own names passed in."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from infra.plan import Plan
from infra.plan.values import reveal
from tests.support.plans import config_of, walk

PULUMI_YAML = Path(__file__).resolve().parents[2] / "Pulumi.yaml"


def assert_settings_declared(keys: set[str], stacks: Iterable[str]) -> None:
    """Pulumi.yaml declares, with a description, every `parley:` setting in `keys` (those a target reads),
    and each of `stacks` sets no `parley:` key outside them."""
    schema = yaml.safe_load(PULUMI_YAML.read_text())["config"]
    assert keys <= schema.keys()
    assert all(schema[key].get("description") for key in keys)
    for stack in stacks:
        set_keys = config_of(stack)
        assert {k.removeprefix("parley:") for k in set_keys if k.startswith("parley:")} <= keys, stack


def assert_components_name_their_children(plan: Plan, target: str) -> None:
    """The plan's root is the `parley:<target>:Parley` component named `parley`; every other resource's
    parent is a `parley:<target>:` component whose name starts its own."""
    by_urn = plan.by_urn()
    root = plan.one(f"parley:{target}:Parley")
    assert root.name == "parley"
    for resource in plan.resources:
        if resource is root:
            continue
        parent = by_urn.get(resource.parent)
        assert parent is not None and parent.type.startswith(f"parley:{target}:"), resource.name
        assert resource.name.startswith(f"{parent.name}-"), resource.name


def plain_copies(plan: Plan, values: Iterable[str]) -> list[tuple[str, str]]:
    """Where one of `values` appears outside a Pulumi secret: (resource name, path) for plain inputs and
    outputs, ("stack outputs", path) for any stack output holding it, a secret one's revealed value included."""
    values = list(values)
    found = [
        (r.name, path)
        for r in plan.resources
        for part in (r.inputs, r.outputs)
        for path, leaf in walk(part)
        if isinstance(leaf, str) and any(v in leaf for v in values)
    ]
    found += [
        ("stack outputs", path) for path, leaf in walk(plan.outputs) if any(v in str(reveal(leaf)) for v in values)
    ]
    return found
