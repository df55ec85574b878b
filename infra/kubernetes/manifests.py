"""Every Kubernetes object of a Parley environment, as plain dicts: pure functions of a `KubernetesConfig`.

The kustomize files under `deploy/kubernetes/` and the Pulumi component are both made from `manifests()`, so
they cannot drift apart. Objects are listed in the order they can be applied."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from infra.kubernetes.config import APP_NAME, HTTP_PORT, RUN_AS_USER, KubernetesConfig, component_labels
from infra.kubernetes.datastores import datastores
from infra.kubernetes.network import network_policies
from infra.kubernetes.objects import Manifest, metadata, restricted_container_security, restricted_pod_security

SERVICE_PORT = 80
# The server drains WebSockets for up to 10 s after SIGTERM (`timeout_graceful_shutdown`); the preStop pause
# comes first so endpoints stop routing new connections before the drain starts. 5 + 10 s, with room to spare.
PRE_STOP_SECONDS = 5
TERMINATION_GRACE_SECONDS = 30
# The image guarantees Python but no shell utilities, and the `sleep` lifecycle action needs Kubernetes 1.30.
PRE_STOP_COMMAND = ["python3", "-c", f"import time; time.sleep({PRE_STOP_SECONDS})"]
WEBSOCKET_TIMEOUT_SECONDS = "3600"


def manifests(config: KubernetesConfig) -> list[Manifest]:
    """The environment's objects; the ServiceMonitor is apart (`observability.service_monitor`) because it
    needs the Prometheus Operator's CRD in the cluster."""
    objects = [namespace(config), config_map(config), secret(config), *datastores(config)]
    objects += [migration_job(config), deployment(config), service(config), ingress(config)]
    if config.autoscale:
        objects += [autoscaler(config), disruption_budget(config)]
    return objects + network_policies(config)


def namespace(config: KubernetesConfig) -> Manifest:
    labels = {"app.kubernetes.io/part-of": APP_NAME, "pod-security.kubernetes.io/enforce": "restricted"}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": config.namespace, "labels": labels}}


def config_map(config: KubernetesConfig) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(config, APP_NAME, "server"),
        "data": dict(config.settings),
    }


def secret(config: KubernetesConfig) -> Manifest:
    """A template: the committed values are placeholders (prod) or dev-only values; see docs/containers.md."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(config, APP_NAME, "server"),
        "type": "Opaque",
        "stringData": {
            "PARLEY_SECRET_KEY": config.secrets.secret_key,
            "PARLEY_DATABASE_URL": config.secrets.database_url,
            "PARLEY_BUS_URL": config.secrets.bus_url,
        },
    }


def _app_container(config: KubernetesConfig, name: str, args: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "image": config.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["parley"],
        "args": args,
        "envFrom": [{"configMapRef": {"name": APP_NAME}}, {"secretRef": {"name": APP_NAME}}],
        "env": [{"name": "PARLEY_NODE_ID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "resources": config.app_resources.as_manifest(),
        "securityContext": restricted_container_security(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def _app_pod_spec(container: dict[str, Any], restart_policy: str) -> dict[str, Any]:
    return {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "restartPolicy": restart_policy,
        "securityContext": restricted_pod_security(RUN_AS_USER),
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
    }


def migration_job(config: KubernetesConfig) -> Manifest:
    """`parley migrate`, safe to run again. A Job's pod template cannot change: delete the finished Job (or
    let `ttlSecondsAfterFinished` do it) before applying a new image."""
    pod = _app_pod_spec(_app_container(config, "migrate", ["migrate"]), restart_policy="Never")
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(config, f"{APP_NAME}-migrate", "migrate"),
        "spec": {
            "backoffLimit": 4,
            "activeDeadlineSeconds": 600,
            "ttlSecondsAfterFinished": 3600,
            "template": {"metadata": {"labels": component_labels("migrate")}, "spec": pod},
        },
    }


def _server_container(config: KubernetesConfig) -> dict[str, Any]:
    args = ["serve", "--host", "0.0.0.0", "--port", str(HTTP_PORT)]
    return {
        **_app_container(config, APP_NAME, args),
        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
        "startupProbe": _probe("/healthz", period=2, timeout=2, failures=30),
        "livenessProbe": _probe("/healthz", period=10, timeout=3, failures=3),
        # /readyz answers within 2 s per dependency (store, then bus).
        "readinessProbe": _probe("/readyz", period=5, timeout=5, failures=2),
        "lifecycle": {"preStop": {"exec": {"command": PRE_STOP_COMMAND}}},
    }


def _probe(path: str, *, period: int, timeout: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


def _spread(config: KubernetesConfig, topology_key: str) -> dict[str, Any]:
    """Soft spreading: a one-node or zoneless (on-premises) cluster still schedules every replica."""
    return {
        "maxSkew": 1,
        "topologyKey": topology_key,
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": config.selector},
    }


def config_checksum(config: KubernetesConfig) -> str:
    """Changes with the ConfigMap, so a settings change rolls the pods."""
    return hashlib.sha256(json.dumps(config.settings, sort_keys=True).encode()).hexdigest()[:16]


def deployment(config: KubernetesConfig) -> Manifest:
    pod = _app_pod_spec(_server_container(config), restart_policy="Always")
    pod["terminationGracePeriodSeconds"] = TERMINATION_GRACE_SECONDS
    pod["topologySpreadConstraints"] = [
        _spread(config, "topology.kubernetes.io/zone"),
        _spread(config, "kubernetes.io/hostname"),
    ]
    annotations = {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(HTTP_PORT),
        "prometheus.io/path": "/metrics",
        "checksum/config": config_checksum(config),
    }
    spec: dict[str, Any] = {} if config.autoscale else {"replicas": config.replicas}
    spec |= {
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": config.selector},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "template": {"metadata": {"labels": config.selector, "annotations": annotations}, "spec": pod},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(config, APP_NAME, "server"),
        "spec": spec,
    }


def service(config: KubernetesConfig) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(config, APP_NAME, "server"),
        "spec": {
            "type": "ClusterIP",
            "selector": config.selector,
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def ingress(config: KubernetesConfig) -> Manifest:
    """ingress-nginx proxies WebSocket upgrades by itself; its 60 s default timeouts would cut idle sockets."""
    annotations = {
        "nginx.ingress.kubernetes.io/proxy-read-timeout": WEBSOCKET_TIMEOUT_SECONDS,
        "nginx.ingress.kubernetes.io/proxy-send-timeout": WEBSOCKET_TIMEOUT_SECONDS,
        "nginx.ingress.kubernetes.io/proxy-body-size": "64k",
        "nginx.ingress.kubernetes.io/ssl-redirect": "true",
    }
    backend = {"service": {"name": APP_NAME, "port": {"name": "http"}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {**metadata(config, APP_NAME, "server"), "annotations": annotations},
        "spec": {
            "ingressClassName": config.ingress_class,
            "tls": [{"hosts": [config.host], "secretName": config.tls_secret_name}],
            "rules": [
                {
                    "host": config.host,
                    "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
                }
            ],
        },
    }


def autoscaler(config: KubernetesConfig) -> Manifest:
    """Scales on CPU and memory; scales down one pod a minute, since each removal reconnects its sockets."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(config, APP_NAME, "server"),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": APP_NAME},
            "minReplicas": config.replicas,
            "maxReplicas": config.max_replicas,
            "metrics": [_utilization("cpu", 70), _utilization("memory", 80)],
            "behavior": {
                "scaleDown": {
                    "stabilizationWindowSeconds": 300,
                    "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
                }
            },
        },
    }


def _utilization(resource: str, percent: int) -> dict[str, Any]:
    target = {"type": "Utilization", "averageUtilization": percent}
    return {"type": "Resource", "resource": {"name": resource, "target": target}}


def disruption_budget(config: KubernetesConfig) -> Manifest:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(config, APP_NAME, "server"),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": config.selector}},
    }
