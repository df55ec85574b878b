"""What differs between Parley's Kubernetes environments, as one typed value: `dev` and `prod` presets that a
Pulumi stack or the renderer can adjust with `dataclasses.replace`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Environment = Literal["dev", "prod"]

APP_NAME = "parley"
HTTP_PORT = 8000
POSTGRES_PORT = 5432
REDIS_PORT = 6379
RUN_AS_USER = 10001
# A short placeholder on purpose: with PARLEY_ENV=production the app refuses a secret key under 32 characters,
# so a prod Secret applied without its real values stops at start-up instead of running with a known key.
PLACEHOLDER = "CHANGE-ME"


@dataclass(frozen=True)
class Resources:
    """A container's requests and limits, in Kubernetes quantities."""

    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def as_manifest(self) -> dict[str, dict[str, str]]:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


@dataclass(frozen=True)
class Secrets:
    """The values of the `parley` Secret. The defaults are placeholders: see docs/containers.md, Secrets."""

    secret_key: str = PLACEHOLDER
    database_url: str = f"postgresql+asyncpg://parley:{PLACEHOLDER}@postgres.example.internal:5432/parley"
    bus_url: str = f"rediss://:{PLACEHOLDER}@redis.example.internal:6379/0"


def _settings(**overrides: str) -> dict[str, str]:
    """The non-secret PARLEY_* settings the ConfigMap carries: the app's defaults unless overridden."""
    defaults = {
        "PARLEY_ENV": "dev",
        "PARLEY_LOG_LEVEL": "INFO",
        "PARLEY_LOG_JSON": "true",
        "PARLEY_BUS_PREFIX": APP_NAME,
        "PARLEY_DATABASE_POOL_SIZE": "10",
        "PARLEY_TOKEN_TTL_SECONDS": "604800",
        "PARLEY_MAX_BODY_BYTES": "4000",
        "PARLEY_MAX_FRAME_BYTES": "16384",
        "PARLEY_MESSAGES_PER_SECOND": "10",
        "PARLEY_MESSAGE_BURST": "20",
        "PARLEY_SEND_QUEUE_SIZE": "256",
        "PARLEY_HEARTBEAT_SECONDS": "20",
    }
    return {**defaults, **overrides}


@dataclass(frozen=True)
class KubernetesConfig:
    """One environment. `in_cluster_datastores` runs PostgreSQL and Redis as workloads next to the app (dev);
    otherwise the Secret's URLs name managed services, which the app may reach only within `datastore_cidr` on
    `database_port` and `bus_port`.
    `autoscale` adds the HorizontalPodAutoscaler (with `replicas` as its minimum) and PodDisruptionBudget and
    leaves `spec.replicas` out of the Deployment, so applying the manifests never undoes the autoscaler's work."""

    environment: Environment
    namespace: str = APP_NAME
    image: str = "registry.example.com/parley:0.1.0"
    host: str = "chat.example.com"
    tls_secret_name: str = "parley-tls"
    ingress_class: str = "nginx"
    ingress_namespace: str = "ingress-nginx"
    monitoring_namespace: str = "monitoring"
    replicas: int = 2
    max_replicas: int = 2
    autoscale: bool = False
    in_cluster_datastores: bool = True
    datastore_cidr: str = "0.0.0.0/0"
    database_port: int = POSTGRES_PORT
    bus_port: int = REDIS_PORT
    app_resources: Resources = Resources("50m", "128Mi", "500m", "256Mi")
    settings: dict[str, str] = field(default_factory=_settings)
    secrets: Secrets = Secrets()

    @property
    def selector(self) -> dict[str, str]:
        return component_labels("server")


def component_labels(component: str) -> dict[str, str]:
    """The labels that select one component's pods; every object carries them too."""
    return {"app.kubernetes.io/name": APP_NAME, "app.kubernetes.io/component": component}


# Dev credentials of the in-cluster PostgreSQL, which no one outside the namespace can reach: not secrets.
DEV_POSTGRES_PASSWORD = "parley-dev-password"
DEV_SECRETS = Secrets(
    secret_key="parley-dev-only-secret-key-not-for-production",
    database_url=f"postgresql+asyncpg://parley:{DEV_POSTGRES_PASSWORD}@postgres:{POSTGRES_PORT}/parley",
    bus_url=f"redis://redis:{REDIS_PORT}/0",
)


def preset(environment: Environment) -> KubernetesConfig:
    """The environment as shipped in `deploy/kubernetes/overlays/<environment>/`."""
    if environment == "dev":
        return KubernetesConfig(environment="dev", host="parley.dev.localhost", secrets=DEV_SECRETS)
    return KubernetesConfig(
        environment="prod",
        replicas=3,
        max_replicas=10,
        autoscale=True,
        in_cluster_datastores=False,
        app_resources=Resources("250m", "256Mi", "1", "512Mi"),
        settings=_settings(PARLEY_ENV="production"),
    )
