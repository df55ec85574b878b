"""A plan as text for people (a tree with counts), for programs (JSON, docs/plan-format.md) and for Graphviz
(dot). None of them ever shows a secret's value."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from infra.plan.document import to_document
from infra.plan.model import Plan, Resource, Secret

# Inputs that say most about a resource, shown first when present; then its other short scalar inputs.
KEY_INPUTS = (
    "name",
    "metadata.name",
    "metadata.namespace",
    "region",
    "cidrBlock",
    "availabilityZone",
    "engine",
    "engineVersion",
    "instanceClass",
    "instanceType",
    "nodeType",
    "runtime",
    "image",
    "port",
    "protocol",
    "protocolType",
    "billingMode",
    "desiredCount",
    "spec.replicas",
)
SKIPPED_INPUTS = {"apiVersion", "kind", "__defaults", "tags", "tagsAll"}
MAX_KEY_INPUTS = 3
MAX_VALUE_WIDTH = 40
INDENT = "  "


def as_json(plan: Plan) -> str:
    return json.dumps(to_document(plan), indent=2)


def as_table(plan: Plan) -> str:
    rows = [("TYPE", "NAME", "KEY INPUTS")]
    rows += [(INDENT * depth + r.type, r.name, _key_inputs(r)) for depth, r in _tree(plan)]
    lines = [f"stack {plan.stack} of project {plan.project}, from {plan.source}", ""]
    lines += _columns(rows)
    lines += ["", *_columns([("COUNT", "TYPE"), *((str(n), t) for t, n in plan.counts().items())], right=(0,))]
    custom = sum(r.custom for r in plan.resources)
    components = len(plan.resources) - custom
    plural = "" if components == 1 else "s"
    lines.append(f"{len(plan.resources)} resources: {custom} custom, {components} component{plural}")
    if plan.stand_ins:
        lines.append(f"secrets stood in offline: {', '.join(plan.stand_ins)}")
    return "\n".join(lines)


@dataclass(frozen=True)
class StackResult:
    """One row of `parley plan --all`: the stack's plan, or the error that stopped it, and the seconds taken."""

    stack: str
    seconds: float
    plan: Plan | None = None
    error: str = ""


def as_summary(results: list[StackResult]) -> str:
    rows: list[tuple[str, ...]] = [("STACK", "RESOURCES", "CUSTOM", "COMPONENTS", "SECONDS", "")]
    for result in results:
        if result.plan is None:
            rows.append((result.stack, "-", "-", "-", f"{result.seconds:.2f}", "failed"))
            continue
        stood_in = len(result.plan.stand_ins)
        note = f"secrets stood in: {stood_in}" if stood_in else ""
        rows.append(_summary_row(result.stack, [result.plan], result.seconds, note))
    planned = [r.plan for r in results if r.plan is not None]
    rows.append(_summary_row("total", planned, sum(r.seconds for r in results), ""))
    return "\n".join(_columns(rows, right=(1, 2, 3, 4)) + [f"{r.stack}: {r.error}" for r in results if r.error])


def _summary_row(label: str, plans: list[Plan], seconds: float, note: str) -> tuple[str, ...]:
    total = sum(len(p.resources) for p in plans)
    custom = sum(r.custom for p in plans for r in p.resources)
    return (label, str(total), str(custom), str(total - custom), f"{seconds:.2f}", note)


def as_dot(plan: Plan) -> str:
    """Resources with children are clusters (a component's own node is an invisible anchor in it); a dashed
    arrow points from a resource to one it waits for."""
    ids = {r.urn: f"r{i}" for i, r in enumerate(plan.resources)}
    parents = {r.parent for r in plan.resources}
    # An arrow to a component ends at the border of its cluster.
    clusters = {r.urn for r in plan.resources if r.urn in parents and not r.custom}
    lines = [
        "digraph plan {",
        f"  graph [label={_quote(f'stack {plan.stack} of project {plan.project} ({plan.source})')}, labelloc=t, "
        'compound=true, rankdir=LR, fontname="Helvetica"];',
        '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=10];',
        "  edge [style=dashed];",
    ]
    lines += _dot_nodes(plan, plan.roots(), ids, parents, depth=1)
    for resource in plan.resources:
        for dependency in resource.dependencies:
            if dependency in ids:
                lhead = f" [lhead=cluster_{ids[dependency]}]" if dependency in clusters else ""
                lines.append(f"  {ids[resource.urn]} -> {ids[dependency]}{lhead};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_nodes(plan: Plan, resources: list[Resource], ids: dict[str, str], parents: set[str], depth: int) -> list[str]:
    pad = INDENT * depth
    lines: list[str] = []
    for resource in resources:
        node_id = ids[resource.urn]
        label = _quote(f"{resource.name}\n{resource.type}")
        if resource.urn not in parents:
            lines.append(f"{pad}{node_id} [label={label}{'' if resource.custom else ', style=dashed'}];")
            continue
        lines.append(f"{pad}subgraph cluster_{node_id} {{")
        lines.append(f"{pad}{INDENT}label={label}; style={'rounded' if resource.custom else 'dashed'};")
        if resource.custom:
            lines.append(f"{pad}{INDENT}{node_id} [label={_quote(resource.name)}];")
        else:
            lines.append(f"{pad}{INDENT}{node_id} [shape=point, style=invis];")
        lines += _dot_nodes(plan, plan.children(resource.urn), ids, parents, depth + 1)
        lines.append(f"{pad}}}")
    return lines


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _tree(plan: Plan) -> Iterator[tuple[int, Resource]]:
    def walk(resources: list[Resource], depth: int) -> Iterator[tuple[int, Resource]]:
        for resource in resources:
            yield depth, resource
            yield from walk(plan.children(resource.urn), depth + 1)

    return walk(plan.roots(), 0)


def _key_inputs(resource: Resource) -> str:
    leaves = dict(_leaves(resource.inputs))
    chosen = [key for key in KEY_INPUTS if key in leaves]
    chosen += [key for key in leaves if key not in chosen]
    return "  ".join(f"{key}={_short(leaves[key])}" for key in chosen[:MAX_KEY_INPUTS])


def _leaves(inputs: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Scalar inputs, and those one object down (`metadata.name`)."""
    for key, value in sorted(inputs.items()):
        if key in SKIPPED_INPUTS:
            continue
        if isinstance(value, dict) and not prefix:
            yield from _leaves(value, f"{key}.")
        elif isinstance(value, str | int | float | bool | Secret):
            yield f"{prefix}{key}", value


def _short(value: Any) -> str:
    text = str(value) if isinstance(value, str | Secret) else json.dumps(value)
    return text if len(text) <= MAX_VALUE_WIDTH else text[: MAX_VALUE_WIDTH - 1] + "…"


def _columns(rows: Sequence[tuple[str, ...]], right: tuple[int, ...] = ()) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
