"""`Service`: Parley on Cloud Run (v2) in one region, and in the primary region the one-off migration job.

What WebSockets on Cloud Run need, and why each setting is here:
- a WebSocket is one long request, so the request timeout (3600 s, Cloud Run's maximum) bounds a connection;
  clients reconnect and `sync` after it, as after any drop;
- session affinity sends a client's reconnects to the same instance while it lives (best effort);
- CPU stays allocated outside requests (`cpu_idle` false): the Redis bus subscriber and heartbeats run
  between frames;
- at least one warm instance per region (`replicas`): Cloud Run computes a region's health for the load
  balancer's failover from its instances' readiness probes (`/readyz`), and only with a minimum instance;
- Direct VPC egress (no connector to run) into the region's subnet, for private-range traffic only, carrying
  the network tag the firewall lets reach Cloud SQL and Memorystore."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra.gcp.cache import CA_DIRECTORY, CA_FILE
from infra.gcp.secrets import StoredSecret

APP_PORT = 8000
SERVE = ["serve", "--host", "0.0.0.0", "--port", str(APP_PORT)]
REQUEST_TIMEOUT = "3600s"
CA_VOLUME = "redis-ca"


@dataclass(frozen=True)
class ServiceArgs:
    """`secrets` maps each environment variable to the Secret Manager secret holding its value;
    `redis_ca` is mounted as a file for the bus URL's `ssl_ca_certs`. `load_balancer_only` restricts ingress
    to the global load balancer. `migration` adds the `migrate` job (primary region only)."""

    region: str
    service_name: str
    image: pulumi.Input[str]
    service_account: pulumi.Input[str]
    network_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    network_tag: str
    secrets: Mapping[str, StoredSecret]
    redis_ca: StoredSecret
    settings: Mapping[str, str]
    cpu: str
    memory: str
    concurrency: int
    replicas: int
    max_replicas: int
    load_balancer_only: bool
    protect: bool
    migration: bool = False


class Service(pulumi.ComponentResource):
    service_name: pulumi.Output[str]
    uri: pulumi.Output[str]
    migration_job: pulumi.Output[str] | None

    def __init__(self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:gcp:Service", name, None, opts)
        # Cloud Run resolves each secret's `latest` version and checks access as it deploys a revision.
        ready = [r for secret in [*args.secrets.values(), args.redis_ca] for r in secret.ready]
        waits = pulumi.ResourceOptions(parent=self, depends_on=ready)
        service = gcp.cloudrunv2.Service(
            f"{name}-run",
            name=args.service_name,
            location=args.region,
            ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" if args.load_balancer_only else "INGRESS_TRAFFIC_ALL",
            # The load balancer forwards requests without an identity; the app authenticates its users, and
            # ingress (prod) admits the load balancer alone.
            invoker_iam_disabled=True,
            deletion_protection=args.protect,
            template={
                "service_account": args.service_account,
                "timeout": REQUEST_TIMEOUT,
                "session_affinity": True,
                "max_instance_request_concurrency": args.concurrency,
                "execution_environment": "EXECUTION_ENVIRONMENT_GEN2",
                "scaling": {"min_instance_count": args.replicas, "max_instance_count": args.max_replicas},
                "vpc_access": _vpc_access(args),
                "volumes": [_ca_volume(args.redis_ca)],
                "containers": [
                    {
                        "image": args.image,
                        "args": SERVE,
                        "ports": {"container_port": APP_PORT, "name": "http1"},
                        "envs": _envs(args.settings, args.secrets),
                        "resources": {
                            "limits": {"cpu": args.cpu, "memory": args.memory},
                            "cpu_idle": False,
                            "startup_cpu_boost": True,
                        },
                        "volume_mounts": [{"name": CA_VOLUME, "mount_path": CA_DIRECTORY}],
                        "startup_probe": _probe("/healthz", period=2, failures=30),
                        "liveness_probe": _probe("/healthz", period=10, failures=3),
                        "readiness_probe": _probe("/readyz", period=10, failures=3),
                    }
                ],
            },
            opts=waits,
        )
        self.migration_job = None
        if args.migration:
            self.migration_job = self._migration(name, args, waits)
        self.service_name, self.uri = service.name, service.uri
        self.register_outputs({"service_name": self.service_name, "uri": self.uri, "migration": self.migration_job})

    def _migration(self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
        """`gcloud run jobs execute` runs it before rolling a new image (docs/gcp.md); it needs the database
        only."""
        job = gcp.cloudrunv2.Job(
            f"{name}-migrate",
            name=f"{args.service_name}-migrate",
            location=args.region,
            deletion_protection=args.protect,
            template={
                "task_count": 1,
                "template": {
                    "service_account": args.service_account,
                    "max_retries": 0,
                    "timeout": "900s",
                    "vpc_access": _vpc_access(args),
                    "containers": [
                        {
                            "image": args.image,
                            "args": ["migrate"],
                            "envs": _envs(args.settings, {"PARLEY_DATABASE_URL": args.secrets["PARLEY_DATABASE_URL"]}),
                            "resources": {"limits": {"cpu": "1", "memory": "512Mi"}},
                        }
                    ],
                },
            },
            opts=opts,
        )
        return job.name


def _vpc_access(args: ServiceArgs) -> dict[str, object]:
    return {
        "egress": "PRIVATE_RANGES_ONLY",
        "network_interfaces": [{"network": args.network_id, "subnetwork": args.subnet_id, "tags": [args.network_tag]}],
    }


def _envs(settings: Mapping[str, str], secrets: Mapping[str, StoredSecret]) -> Sequence[dict[str, object]]:
    plain = [{"name": key, "value": value} for key, value in settings.items()]
    stored = [
        {"name": key, "value_source": {"secret_key_ref": {"secret": secret.secret_id, "version": "latest"}}}
        for key, secret in secrets.items()
    ]
    return plain + stored


def _ca_volume(secret: StoredSecret) -> dict[str, object]:
    return {
        "name": CA_VOLUME,
        "secret": {"secret": secret.secret_id, "items": [{"version": "latest", "path": CA_FILE}]},
    }


def _probe(path: str, *, period: int, failures: int) -> dict[str, object]:
    return {
        "http_get": {"path": path, "port": APP_PORT},
        "period_seconds": period,
        "timeout_seconds": 1 if period < 5 else 3,
        "failure_threshold": failures,
    }
