"""The plan as JSON, version 1 (docs/plan-format.md). Secrets are written as `[secret]`, so a plan file can be
published: in CI artifacts, cost reports, review comments."""

from __future__ import annotations

from typing import Any, cast, get_args

from infra.plan.model import Plan, PlanError, Resource, Source
from infra.plan.values import from_json, to_json

VERSION = 1


def to_document(plan: Plan) -> dict[str, Any]:
    return {
        "version": VERSION,
        "stack": plan.stack,
        "project": plan.project,
        "source": plan.source,
        "counts": plan.counts(),
        "total": len(plan.resources),
        "stand_ins": plan.stand_ins,
        "outputs": to_json(plan.outputs),
        "resources": [_resource(r) for r in plan.resources],
    }


def _resource(resource: Resource) -> dict[str, Any]:
    return {
        "urn": resource.urn,
        "type": resource.type,
        "name": resource.name,
        "custom": resource.custom,
        "id": resource.id,
        "parent": resource.parent,
        "provider": resource.provider,
        "dependencies": resource.dependencies,
        "inputs": to_json(resource.inputs),
        "outputs": to_json(resource.outputs),
    }


def from_document(document: dict[str, Any]) -> Plan:
    if document.get("version") != VERSION:
        raise PlanError(f"plan format version {document.get('version')!r} is not supported (only {VERSION})")
    source = document.get("source")
    if source not in get_args(Source):
        raise PlanError(f"plan source {source!r} is not one of {', '.join(get_args(Source))}")
    try:
        resources = [
            Resource(
                urn=r["urn"],
                type=r["type"],
                name=r["name"],
                custom=r["custom"],
                id=r.get("id"),
                parent=r.get("parent") or "",
                provider=r.get("provider") or "",
                dependencies=list(r.get("dependencies") or []),
                inputs=from_json(r.get("inputs") or {}),
                outputs=from_json(r.get("outputs") or {}),
            )
            for r in document["resources"]
        ]
        return Plan(
            stack=document["stack"],
            project=document["project"],
            source=cast(Source, source),
            resources=resources,
            outputs=from_json(document.get("outputs") or {}),
            stand_ins=list(document.get("stand_ins") or []),
        )
    except (KeyError, TypeError) as error:
        raise PlanError(f"not a plan: a resource or the plan lacks {error}") from error
