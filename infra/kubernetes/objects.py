"""Pieces every object shares: metadata and labels, and the `restricted` Pod Security Standard."""

from __future__ import annotations

from typing import Any

from infra.kubernetes.config import APP_NAME, KubernetesConfig, component_labels

Manifest = dict[str, Any]


def metadata(config: KubernetesConfig, name: str, component: str) -> dict[str, Any]:
    labels = {**component_labels(component), "app.kubernetes.io/part-of": APP_NAME}
    return {"name": name, "namespace": config.namespace, "labels": labels}


def restricted_pod_security(user: int) -> dict[str, Any]:
    """The pod-level half of the `restricted` Pod Security Standard."""
    return {
        "runAsNonRoot": True,
        "runAsUser": user,
        "runAsGroup": user,
        "fsGroup": user,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_container_security() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
