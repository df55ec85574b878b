"""`load(path)`: a plan from a file, whichever of the three kinds it is: a plan written by `parley plan --format
json`, a real `pulumi preview --json`, or a real `pulumi stack export`. How each maps onto the model:
docs/plan-format.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.plan.document import from_document
from infra.plan.model import STACK_TYPE, Plan, PlanError, Resource
from infra.plan.values import from_wire, provider_urn

# Preview steps whose resource is not managed by the stack afterwards: gone, or only read.
NOT_KEPT = {"delete", "delete-replaced", "discard", "discard-replaced", "read", "read-replacement"}


def load(path: Path | str) -> Plan:
    try:
        document = json.loads(Path(path).read_text())
    except OSError as error:
        raise PlanError(f"cannot read {path}: {error.strerror}") from error
    except ValueError as error:
        raise PlanError(f"{path} is not JSON: {error}") from error
    return read(document, name=str(path))


def read(document: Any, *, name: str = "the document") -> Plan:
    """`document` parsed, by its shape: a plan has `version` 1 and `source`, a preview `steps`, an export
    `deployment`."""
    if isinstance(document, dict):
        if "source" in document and "resources" in document:
            return from_document(document)
        if isinstance(document.get("steps"), list):
            return from_preview(document)
        if isinstance(document.get("deployment"), dict):
            return from_export(document)
    raise PlanError(f"{name} is neither a plan, a `pulumi preview --json` nor a `pulumi stack export`")


def from_preview(document: dict[str, Any]) -> Plan:
    states: dict[str, dict[str, Any]] = {}
    for step in document["steps"]:
        state = step.get("newState")
        if step.get("op") in NOT_KEPT or not state:
            continue
        states.setdefault(state["urn"], state)
    return _plan(list(states.values()), source="preview", urns=[s["urn"] for s in document["steps"]])


def from_export(document: dict[str, Any]) -> Plan:
    states = [
        state
        for state in document["deployment"].get("resources") or []
        if not state.get("delete") and not state.get("external")
    ]
    return _plan(states, source="export", urns=[s["urn"] for s in states])


def _plan(states: list[dict[str, Any]], *, source: str, urns: list[str]) -> Plan:
    if not urns:
        raise PlanError(f"the {source} holds no resources, so it names no stack")
    stack, project = _stack_and_project(urns[0])
    resources = [_resource(s) for s in states if s["type"] != STACK_TYPE]
    stack_states = [s for s in states if s["type"] == STACK_TYPE]
    outputs = from_wire(stack_states[0].get("outputs") or {}) if stack_states else {}
    return Plan(stack=stack, project=project, source=source, resources=resources, outputs=outputs)  # type: ignore[arg-type]


def _resource(state: dict[str, Any]) -> Resource:
    urn = state["urn"]
    dependencies = list(state.get("dependencies") or [])
    for property_urns in (state.get("propertyDependencies") or {}).values():
        dependencies += property_urns or []
    return Resource(
        urn=urn,
        type=state["type"],
        name=urn.split("::", 3)[3],
        custom=bool(state.get("custom")),
        id=state.get("id") or None,
        inputs=from_wire(state.get("inputs") or {}),
        outputs=from_wire(state.get("outputs") or {}),
        parent=state.get("parent") or "",
        provider=provider_urn(state.get("provider") or ""),
        dependencies=sorted(set(dependencies)),
    )


def _stack_and_project(urn: str) -> tuple[str, str]:
    """`urn:pulumi:<stack>::<project>::<type>::<name>`."""
    parts = urn.removeprefix("urn:pulumi:").split("::")
    if not urn.startswith("urn:pulumi:") or len(parts) < 4:
        raise PlanError(f"{urn!r} is not a Pulumi URN")
    return parts[0], parts[1]
