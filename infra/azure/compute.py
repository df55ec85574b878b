"""`Service`: Parley on Azure Container Apps in one region.

A Log Analytics workspace; a Container Apps environment on the network's apps subnet (workload profiles,
consumption, zone-redundant where the preset says so, encrypted peer traffic); the `parley` container app;
and the `parley-migrate` job (`parley migrate`, started by hand before each deploy: docs/azure.md).

Ingress keeps WebSockets working: transport `auto` (HTTP/1.1 upgrades and HTTP/2), HTTPS only, external so
Front Door can reach it. External ingress of a workload-profiles environment arrives on a public IP outside
the subnet, so no NSG narrows it to Front Door: the app's own host name is reachable by anyone, and the app
itself refuses what lacks Front Door's `X-Azure-FDID` (the `PARLEY_FRONT_DOOR_IDS` setting, region.py;
docs/azure.md, "Known limits"). No sticky sessions: a WebSocket stays on the replica it opened on anyway,
and Redis carries events between replicas, so any replica serves any client. The app scales on open
connections (concurrent requests, which long-lived WebSockets are) and on CPU.

Images are pulled and secrets read with the region's user-assigned identity: the registry by AcrPull, Key
Vault secrets by reference (`keyVaultUrl`), so no value is ever part of the app's definition."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_azure_native as azure

CONTAINER = "parley"
APP_NAME = "parley"
JOB_NAME = "parley-migrate"
APP_PORT = 8000
SERVE = ["serve", "--host", "0.0.0.0", "--port", str(APP_PORT)]
MIGRATE = ["migrate"]
WORKLOAD_PROFILE = "Consumption"
# Open WebSockets per replica before another is added (each is one concurrent request while it lasts).
CONNECTIONS_PER_REPLICA = 500
CPU_PERCENT = 60
SCALE_RULES = [
    {"name": "connections", "http": {"metadata": {"concurrentRequests": str(CONNECTIONS_PER_REPLICA)}}},
    {"name": "cpu", "custom": {"type": "cpu", "metadata": {"type": "Utilization", "value": str(CPU_PERCENT)}}},
]


@dataclass(frozen=True)
class ServiceArgs:
    """`secrets` maps environment variables to versionless Key Vault secret URIs; `settings` are the plain
    PARLEY_* variables. `identity_id` is the user-assigned identity's resource id, allowed to pull from
    `registry_server` and read the secrets; `after` lists those grants, which must exist before the app.
    A setting's value may be another resource's output (the Front Door profile's id)."""

    resource_group_name: pulumi.Input[str]
    location: str
    subnet_id: pulumi.Input[str]
    identity_id: pulumi.Input[str]
    registry_server: pulumi.Input[str]
    image: pulumi.Input[str]
    secrets: Mapping[str, pulumi.Input[str]]
    cpu: str
    memory: str
    replicas: int
    max_replicas: int
    zone_redundant: bool
    log_retention_days: int
    tags: Mapping[str, str]
    settings: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    after: Sequence[pulumi.Resource] = ()


class Service(pulumi.ComponentResource):
    app_fqdn: pulumi.Output[str]
    app_name: pulumi.Output[str]
    job_name: pulumi.Output[str]
    environment_id: pulumi.Output[str]

    def __init__(self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:azure:Service", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        workspace = azure.operationalinsights.Workspace(
            f"{name}-logs",
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku={"name": "PerGB2018"},
            retention_in_days=args.log_retention_days,
            tags=dict(args.tags),
            opts=child,
        )
        shared_key = azure.operationalinsights.get_shared_keys_output(
            resource_group_name=args.resource_group_name,
            workspace_name=workspace.name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        ).primary_shared_key
        environment = azure.app.ManagedEnvironment(
            f"{name}-env",
            environment_name=APP_NAME,
            resource_group_name=args.resource_group_name,
            location=args.location,
            app_logs_configuration={
                "destination": "log-analytics",
                "log_analytics_configuration": {
                    "customer_id": workspace.customer_id,
                    "shared_key": pulumi.Output.secret(shared_key),
                },
            },
            vnet_configuration={"infrastructure_subnet_id": args.subnet_id, "internal": False},
            workload_profiles=[{"name": WORKLOAD_PROFILE, "workload_profile_type": WORKLOAD_PROFILE}],
            zone_redundant=args.zone_redundant,
            peer_traffic_configuration={"encryption": {"enabled": True}},
            tags=dict(args.tags),
            opts=child,
        )
        after = pulumi.ResourceOptions(parent=self, depends_on=list(args.after))
        app = azure.app.ContainerApp(
            f"{name}-app",
            container_app_name=APP_NAME,
            resource_group_name=args.resource_group_name,
            location=args.location,
            managed_environment_id=environment.id,
            workload_profile_name=WORKLOAD_PROFILE,
            identity=self._identity(args),
            configuration={
                "active_revisions_mode": "Single",
                "ingress": {
                    "external": True,
                    "target_port": APP_PORT,
                    "transport": "auto",
                    "allow_insecure": False,
                    "traffic": [{"latest_revision": True, "weight": 100}],
                    "sticky_sessions": {"affinity": "none"},
                },
                **self._pull_and_secrets(args, args.secrets),
            },
            template={
                "containers": [self._container(args, SERVE, args.secrets, probes=True)],
                "scale": {
                    "min_replicas": args.replicas,
                    "max_replicas": args.max_replicas,
                    "rules": SCALE_RULES,
                },
                # Open WebSockets get this long to close before the replica is stopped.
                "termination_grace_period_seconds": 30,
            },
            tags=dict(args.tags),
            opts=after,
        )
        migration_secrets = {k: v for k, v in args.secrets.items() if k == "PARLEY_DATABASE_URL"}
        job = azure.app.Job(
            f"{name}-migrate",
            job_name=JOB_NAME,
            resource_group_name=args.resource_group_name,
            location=args.location,
            environment_id=environment.id,
            workload_profile_name=WORKLOAD_PROFILE,
            identity=self._identity(args),
            configuration={
                "trigger_type": "Manual",
                "replica_timeout": 1800,
                "replica_retry_limit": 0,  # a failed migration is looked at, not retried
                "manual_trigger_config": {"parallelism": 1, "replica_completion_count": 1},
                **self._pull_and_secrets(args, migration_secrets),
            },
            template={"containers": [self._container(args, MIGRATE, migration_secrets, probes=False)]},
            tags=dict(args.tags),
            opts=after,
        )
        # The app's stable name (not a revision's), which Front Door sends traffic to.
        self.app_fqdn = app.configuration.apply(lambda c: c.ingress.fqdn if c and c.ingress else "")
        self.app_name, self.job_name = app.name, job.name
        self.environment_id = environment.id
        self.register_outputs(
            {
                "app_fqdn": self.app_fqdn,
                "app_name": self.app_name,
                "job_name": self.job_name,
                "environment_id": self.environment_id,
            }
        )

    @staticmethod
    def _identity(args: ServiceArgs) -> dict[str, Any]:
        return {"type": "UserAssigned", "user_assigned_identities": [args.identity_id]}

    @staticmethod
    def _pull_and_secrets(args: ServiceArgs, secrets: Mapping[str, pulumi.Input[str]]) -> dict[str, Any]:
        """The registry, pulled from with the identity, and each secret as a Key Vault reference."""
        return {
            "registries": [{"server": args.registry_server, "identity": args.identity_id}],
            "secrets": [
                {"name": secret_name(variable), "key_vault_url": uri, "identity": args.identity_id}
                for variable, uri in sorted(secrets.items())
            ],
        }

    @staticmethod
    def _container(
        args: ServiceArgs, command: list[str], secrets: Mapping[str, pulumi.Input[str]], *, probes: bool
    ) -> dict[str, Any]:
        """One container running the image's entry point (`parley`) with `command` as its arguments; with
        `probes` it is the server, checked on /healthz (alive) and /readyz (takes traffic)."""
        container: dict[str, Any] = {
            "name": CONTAINER,
            "image": args.image,
            "args": command,
            "env": [{"name": k, "value": v} for k, v in sorted(args.settings.items())]
            + [{"name": k, "secret_ref": secret_name(k)} for k in sorted(secrets)],
            "resources": {"cpu": float(args.cpu), "memory": args.memory},
        }
        if probes:
            container["probes"] = [
                _probe("Startup", "/healthz", period=5, failures=24),
                _probe("Liveness", "/healthz", period=15, failures=3),
                _probe("Readiness", "/readyz", period=10, failures=3),
            ]
        return container


def secret_name(variable: str) -> str:
    """The Container Apps secret for an environment variable: PARLEY_DATABASE_URL -> parley-database-url."""
    return variable.lower().replace("_", "-")


def _probe(kind: str, path: str, *, period: int, failures: int) -> dict[str, Any]:
    return {
        "type": kind,
        "http_get": {"path": path, "port": APP_PORT, "scheme": "HTTP"},
        "period_seconds": period,
        "timeout_seconds": 5,
        "failure_threshold": failures,
    }
