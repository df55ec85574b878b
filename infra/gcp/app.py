"""`ParleyGcp`: Parley on GCP (target `gcp`): Cloud Run behind a global external Application Load Balancer,
Cloud SQL for PostgreSQL, Memorystore for Redis, in one region or, in prod, two with failover. docs/gcp.md
tells how to deploy and operate it.

Every GCP resource is created through one explicit provider whose `default_labels` carry the cost labels
(infra/tags.py), so no labelable resource can miss them. The secrets are generated here (`random`), kept in
Secret Manager, and never appear in configuration or outputs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from infra.gcp.config import GcpConfig, load
from infra.gcp.edge import Edge, EdgeArgs
from infra.gcp.identity import Identity, IdentityArgs
from infra.gcp.network import Network, NetworkArgs
from infra.gcp.region import APP_TAG, DATASTORE_PORTS, Region, RegionArgs
from infra.gcp.registry import Registry, RegistryArgs
from infra.gcp.secrets import stored_secret
from infra.stack_config import deploy_target
from infra.tags import cost_labels

APP_NAME = "parley"
COMPONENT_TYPE = "parley:gcp:Parley"


@dataclass(frozen=True)
class ParleyGcpArgs:
    config: GcpConfig


class ParleyGcp(pulumi.ComponentResource):
    url: pulumi.Output[str]
    ip_address: pulumi.Output[str]
    registry_url: pulumi.Output[str]
    service_account: pulumi.Output[str]
    regions: dict[str, Region]

    def __init__(self, name: str, args: ParleyGcpArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        config = args.config
        labels = cost_labels(config.environment)
        # Explicit providers ignore the stack's `gcp:` settings, so project and region are passed on;
        # credentials come from the environment (Application Default Credentials, workload identity in CI).
        provider = gcp.Provider(
            f"{name}-gcp",
            project=config.project,
            region=config.region,
            default_labels=labels,
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, providers={"gcp": provider})
        secret_key = random.RandomPassword(f"{name}-secret-key", length=64, special=False, opts=child)
        database_password = random.RandomPassword(f"{name}-db-password", length=40, special=False, opts=child)
        identity = Identity(
            f"{name}-identity", IdentityArgs(project=config.project, account_id=f"parley-{config.stack}"[:30]), child
        )
        registry = Registry(
            f"{name}-registry",
            RegistryArgs(project=config.project, region=config.region, repository_id=f"parley-{config.stack}"),
            child,
        )
        subnets = {config.region: config.subnet_cidr}
        if config.secondary_region and config.secondary_subnet_cidr:
            subnets[config.secondary_region] = config.secondary_subnet_cidr
        network = Network(
            f"{name}-net",
            NetworkArgs(
                subnets=subnets, datastore_cidr=config.datastore_cidr, app_tag=APP_TAG, datastore_ports=DATASTORE_PORTS
            ),
            child,
        )
        shared_key = stored_secret(
            f"{name}-secret-key-store",
            secret_id=f"parley-{config.stack}-secret-key",
            value=secret_key.result,
            regions=config.regions,
            reader=identity.member,
            opts=child,
        )
        primary_args = RegionArgs(
            config=config,
            role="primary",
            region=config.region,
            network=network,
            service_account=identity.email,
            reader=identity.member,
            image=registry.image(config.image_tag),
            secret_key=shared_key,
            database_password=database_password.result,
            labels=labels,
        )
        primary = Region(f"{name}-primary", primary_args, child)
        self.regions = {config.region: primary}
        if config.secondary_region:
            self.regions[config.secondary_region] = Region(
                f"{name}-secondary",
                dataclasses.replace(
                    primary_args,
                    role="secondary",
                    region=config.secondary_region,
                    replicate_from=primary.database.name,
                ),
                child,
            )
        edge = Edge(
            f"{name}-edge",
            EdgeArgs(host=config.host, services={r: region.service.service_name for r, region in self.regions.items()}),
            child,
        )
        self.url = pulumi.Output.from_input(f"https://{config.host}")
        self.ip_address, self.registry_url, self.service_account = edge.ip_address, registry.url, identity.email
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, object]:
        """The stack outputs: addresses and names; never a secret's value."""
        primary_region, primary = next(iter(self.regions.items()))
        return {
            "url": self.url,
            # Point the host's A record here; the managed certificate is issued once it resolves.
            "ipAddress": self.ip_address,
            "registryUrl": self.registry_url,
            "serviceAccount": self.service_account,
            "serviceUrls": {region: r.service.uri for region, r in self.regions.items()},
            "databaseInstances": {region: r.database.name for region, r in self.regions.items()},
            "secretNames": {region: r.secret_names for region, r in self.regions.items()},
            # What `gcloud run jobs execute` needs for the migration (docs/gcp.md).
            "migration": {"job": primary.service.migration_job, "region": primary_region},
        }


def deploy(config: pulumi.Config) -> None:
    """The `gcp` target of `infra/__main__.py`."""
    deploy_target(load, lambda settings: ParleyGcp(APP_NAME, ParleyGcpArgs(settings)))
