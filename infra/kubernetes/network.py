"""NetworkPolicies: everything in the namespace is denied, then each component gets exactly what it needs.

The app takes traffic from the ingress controller's namespace, and from the monitoring namespace on the same
port so Prometheus can scrape `/metrics` (default deny would block the scrape otherwise). It and the migration
Job reach PostgreSQL, Redis and DNS, nothing else. DNS is allowed by port to any address because node-local
DNS caches answer on a link-local address that no pod selector matches."""

from __future__ import annotations

from typing import Any

from infra.kubernetes.config import APP_NAME, POSTGRES_PORT, REDIS_PORT, KubernetesConfig, component_labels
from infra.kubernetes.objects import Manifest, metadata

DNS = {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}


def network_policies(config: KubernetesConfig) -> list[Manifest]:
    policies = [
        _policy(config, "default-deny", None, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        _policy(config, APP_NAME, "server", _server_rules(config)),
        _policy(config, f"{APP_NAME}-migrate", "migrate", _migrate_rules(config)),
    ]
    if config.in_cluster_datastores:
        policies += [
            _policy(config, "postgres", "postgres", _datastore_rules("postgres", POSTGRES_PORT, "server", "migrate")),
            _policy(config, "redis", "redis", _datastore_rules("redis", REDIS_PORT, "server")),
        ]
    return policies


def _policy(config: KubernetesConfig, name: str, component: str | None, spec: dict[str, Any]) -> Manifest:
    meta = metadata(config, name, component or "network")
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta, "spec": spec}


def _from_namespace(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def _server_rules(config: KubernetesConfig) -> dict[str, Any]:
    http = [{"port": "http", "protocol": "TCP"}]
    return {
        "podSelector": {"matchLabels": component_labels("server")},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {"from": [_from_namespace(config.ingress_namespace)], "ports": http},
            {"from": [_from_namespace(config.monitoring_namespace)], "ports": http},
        ],
        "egress": [*_datastore_egress(config, with_redis=True), DNS],
    }


def _migrate_rules(config: KubernetesConfig) -> dict[str, Any]:
    return {
        "podSelector": {"matchLabels": component_labels("migrate")},
        "policyTypes": ["Egress"],
        "egress": [*_datastore_egress(config, with_redis=False), DNS],
    }


def _datastore_egress(config: KubernetesConfig, *, with_redis: bool) -> list[dict[str, Any]]:
    wanted = [("postgres", config.database_port), ("redis", config.bus_port)][: 2 if with_redis else 1]
    return [{"to": [_peer(config, name)], "ports": [_tcp(port)]} for name, port in wanted]


def _peer(config: KubernetesConfig, component: str) -> dict[str, Any]:
    if config.in_cluster_datastores:
        return {"podSelector": {"matchLabels": component_labels(component)}}
    return {"ipBlock": {"cidr": config.datastore_cidr}}


def _datastore_rules(component: str, port: int, *clients: str) -> dict[str, Any]:
    return {
        "podSelector": {"matchLabels": component_labels(component)},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [{"podSelector": {"matchLabels": component_labels(client)}} for client in clients],
                "ports": [_tcp(port)],
            }
        ],
    }


def _tcp(port: int) -> dict[str, Any]:
    return {"port": port, "protocol": "TCP"}
