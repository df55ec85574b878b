"""PostgreSQL and Redis inside the cluster, for `dev` only: one PostgreSQL StatefulSet with its volume, one
Redis Deployment without persistence (the bus is best effort; the store is the truth). Both run under the
`restricted` Pod Security Standard as the images' own non-root users. Production points the Secret's URLs at
managed services instead (`KubernetesConfig.in_cluster_datastores`)."""

from __future__ import annotations

from typing import Any

from infra.kubernetes.config import (
    DEV_POSTGRES_PASSWORD,
    POSTGRES_PORT,
    REDIS_PORT,
    KubernetesConfig,
    component_labels,
)
from infra.kubernetes.objects import Manifest, metadata, restricted_container_security, restricted_pod_security

POSTGRES_IMAGE = "postgres:16"
REDIS_IMAGE = "redis:7"
# The uid of the `postgres` and `redis` users in both official (Debian-based) images.
IMAGE_USER = 999
DATABASE = "parley"


def datastores(config: KubernetesConfig) -> list[Manifest]:
    if not config.in_cluster_datastores:
        return []
    return [
        postgres_secret(config),
        postgres(config),
        _service(config, "postgres", POSTGRES_PORT),
        redis(config),
        _service(config, "redis", REDIS_PORT),
    ]


def postgres_secret(config: KubernetesConfig) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(config, "postgres", "postgres"),
        "type": "Opaque",
        "stringData": {"POSTGRES_PASSWORD": DEV_POSTGRES_PASSWORD},
    }


def _pod_spec(container: dict[str, Any], volumes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": restricted_pod_security(IMAGE_USER),
        "containers": [{**container, "securityContext": restricted_container_security()}],
        "volumes": volumes,
    }


def _exec_probe(command: list[str], period: int) -> dict[str, Any]:
    return {"exec": {"command": command}, "periodSeconds": period, "timeoutSeconds": 5, "failureThreshold": 3}


def postgres(config: KubernetesConfig) -> Manifest:
    ready = ["pg_isready", "--username", DATABASE, "--dbname", DATABASE]
    container = {
        "name": "postgres",
        "image": POSTGRES_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "env": [
            {"name": "POSTGRES_USER", "value": DATABASE},
            {"name": "POSTGRES_DB", "value": DATABASE},
            # A subfolder: the volume's root may hold lost+found, which initdb refuses.
            {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
            {
                "name": "POSTGRES_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": "postgres", "key": "POSTGRES_PASSWORD"}},
            },
        ],
        "ports": [{"name": "postgres", "containerPort": POSTGRES_PORT, "protocol": "TCP"}],
        "readinessProbe": _exec_probe(ready, period=5),
        "livenessProbe": _exec_probe(ready, period=15),
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        },
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/postgresql/data"},
            {"name": "run", "mountPath": "/var/run/postgresql"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    volumes = [{"name": "run", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]
    claim = {
        "metadata": {"name": "data", "labels": component_labels("postgres")},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata(config, "postgres", "postgres"),
        "spec": {
            "serviceName": "postgres",
            "replicas": 1,
            "selector": {"matchLabels": component_labels("postgres")},
            "template": {
                "metadata": {"labels": component_labels("postgres")},
                "spec": _pod_spec(container, volumes),
            },
            "volumeClaimTemplates": [claim],
        },
    }


def redis(config: KubernetesConfig) -> Manifest:
    container = {
        "name": "redis",
        "image": REDIS_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["redis-server"],
        "args": ["--port", str(REDIS_PORT), "--save", "", "--appendonly", "no"],
        "ports": [{"name": "redis", "containerPort": REDIS_PORT, "protocol": "TCP"}],
        "readinessProbe": _exec_probe(["redis-cli", "ping"], period=5),
        "livenessProbe": _exec_probe(["redis-cli", "ping"], period=15),
        "resources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(config, "redis", "redis"),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": component_labels("redis")},
            "template": {
                "metadata": {"labels": component_labels("redis")},
                "spec": _pod_spec(container, [{"name": "data", "emptyDir": {}}]),
            },
        },
    }


def _service(config: KubernetesConfig, name: str, port: int) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(config, name, name),
        "spec": {
            "type": "ClusterIP",
            "selector": component_labels(name),
            "ports": [{"name": name, "port": port, "targetPort": name, "protocol": "TCP"}],
        },
    }
