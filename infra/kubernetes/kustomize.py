"""The environments as kustomize sees them: a base of the objects every environment has, and per environment
an overlay of the objects only it has plus JSON 6902 patches for the objects it changes. Computed from the
manifests, so an overlay built by kustomize equals `manifests()` of its environment exactly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from infra.kubernetes.objects import Manifest

Operation = dict[str, Any]
Key = tuple[str, str, str]


def key(manifest: Manifest) -> Key:
    """What identifies an object to kustomize (and to the API server, namespace aside)."""
    return manifest["apiVersion"], manifest["kind"], manifest["metadata"]["name"]


@dataclass
class Overlay:
    resources: list[Manifest] = field(default_factory=list)
    patches: list[tuple[Manifest, list[Operation]]] = field(default_factory=list)


def split(environments: dict[str, list[Manifest]], *, base: str) -> tuple[list[Manifest], dict[str, Overlay]]:
    """The base holds every object all environments share, as environment `base` has it; each overlay adds
    its own objects and patches the shared ones it changes."""
    shared = set.intersection(*({key(m) for m in objects} for objects in environments.values()))
    base_objects = [m for m in environments[base] if key(m) in shared]
    by_key = {key(m): m for m in base_objects}
    overlays = {}
    for name, objects in environments.items():
        overlay = Overlay()
        for manifest in objects:
            if key(manifest) not in shared:
                overlay.resources.append(manifest)
            elif operations := json_patch(by_key[key(manifest)], manifest):
                overlay.patches.append((by_key[key(manifest)], operations))
        overlays[name] = overlay
    return base_objects, overlays


def json_patch(old: Any, new: Any, path: str = "") -> list[Operation]:
    """RFC 6902 operations turning `old` into `new`: as deep as both sides keep their shape, so a patch
    names the fields that differ; a list that changes length is replaced whole."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        operations: list[Operation] = [{"op": "remove", "path": _join(path, k)} for k in old if k not in new]
        for k, value in new.items():
            if k in old:
                operations += json_patch(old[k], value, _join(path, k))
            else:
                operations.append({"op": "add", "path": _join(path, k), "value": value})
        return operations
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [op for i, (a, b) in enumerate(zip(old, new, strict=True)) for op in json_patch(a, b, f"{path}/{i}")]
    return [{"op": "replace", "path": path, "value": new}]


def _join(path: str, name: str) -> str:
    return f"{path}/{name.replace('~', '~0').replace('/', '~1')}"
