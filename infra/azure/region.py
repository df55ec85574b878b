"""`Region`: the whole service in one Azure region, from the five building blocks: network (with its
security groups), database, cache, compute, and the vault and identity that join them.

The primary region holds the writable database; the secondary region (prod) holds its cross-region read
replica, reached over a global peering of the two networks, and an identical, running app that Front Door
fails over to."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure

from infra.azure.access import grant
from infra.azure.cache import Cache, CacheArgs
from infra.azure.compute import Service, ServiceArgs
from infra.azure.config import AzureConfig
from infra.azure.database import Database, DatabaseArgs
from infra.azure.network import Network, NetworkArgs, peer
from infra.azure.registry import Registry
from infra.azure.vault import Vault, VaultArgs
from infra.stack_config import APP_SETTINGS, Role
from infra.tags import cost_labels

# The app setting holding the Front Door profile id requests must carry (app/front_door.py). A plain
# setting, not a Key Vault secret: it is a stack output already, and Front Door itself sets the header.
FRONT_DOOR_SETTING = "PARLEY_FRONT_DOOR_IDS"
# Key Vault secret names, and the environment variable each becomes.
SECRETS = {
    "PARLEY_SECRET_KEY": "secret-key",
    "PARLEY_DATABASE_URL": "database-url",
    "PARLEY_BUS_URL": "bus-url",
}


@dataclass(frozen=True)
class GlobalNames:
    """Names Azure wants unique worldwide, for one region: `suffix` (random hex) makes them so."""

    server: pulumi.Output[str]
    redis: pulumi.Output[str]
    vault: pulumi.Output[str]


@dataclass(frozen=True)
class RegionArgs:
    """`secret_key` and `database_password` are generated once for the stack and shared by both regions
    (sessions survive a failover; the replica keeps its source's password). `replicate_from` is the primary
    server's id and `peer` the primary's network and resource group, both given to the secondary region;
    `peer_cidr` is the other region's range, whose database subnet may reach this one's (prod).
    `front_door_id` is the stack's Front Door profile id, the only `X-Azure-FDID` the app accepts."""

    config: AzureConfig
    role: Role
    location: str
    cidr: ipaddress.IPv4Network
    resource_group_name: pulumi.Input[str]
    names: GlobalNames
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    registry: Registry
    secret_key: pulumi.Output[str]
    database_password: pulumi.Output[str]
    front_door_id: pulumi.Input[str]
    peer_cidr: ipaddress.IPv4Network | None = None
    replicate_from: pulumi.Input[str] | None = None
    peer: tuple[Network, pulumi.Input[str]] | None = None


class Region(pulumi.ComponentResource):
    network: Network
    database: Database
    service: Service
    vault: Vault
    identity_principal_id: pulumi.Output[str]

    def __init__(self, name: str, args: RegionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:azure:Region", name, None, opts)
        config, sizing = args.config, args.config.sizing
        tags = cost_labels(config.environment)
        child = pulumi.ResourceOptions(parent=self)
        in_group = {"resource_group_name": args.resource_group_name, "location": args.location, "tags": tags}
        identity = azure.managedidentity.UserAssignedIdentity(f"{name}-identity", opts=child, **in_group)
        self.network = Network(
            f"{name}-net",
            NetworkArgs(
                resource_group_name=args.resource_group_name,
                location=args.location,
                cidr=args.cidr,
                tags=tags,
                peer_cidr=args.peer_cidr,
            ),
            child,
        )
        peerings: list[pulumi.Resource] = []
        if args.peer is not None:
            peerings = peer(
                f"{name}-peering",
                primary=args.peer,
                secondary=(self.network, args.resource_group_name),
                parent=self,
            )
        self.database = Database(
            f"{name}-db",
            DatabaseArgs(
                resource_group_name=args.resource_group_name,
                location=args.location,
                server_name=args.names.server,
                zone_name=f"parley-{config.stack}-{args.role}.private.postgres.database.azure.com",
                subnet_id=self.network.subnet_ids["database"],
                vnet_id=self.network.vnet_id,
                password=args.database_password,
                sku=sizing.db_sku,
                tier=sizing.db_tier,
                storage_gb=sizing.db_storage_gb,
                backup_days=sizing.db_backup_days,
                high_availability=sizing.db_high_availability,
                geo_backup=sizing.db_geo_backup,
                tags=tags,
                replicate_from=args.replicate_from,
                promoted=config.replica_promoted,
            ),
            # The replica streams from the primary over the peering.
            pulumi.ResourceOptions(parent=self, depends_on=peerings),
        )
        cache = Cache(
            f"{name}-cache",
            CacheArgs(
                resource_group_name=args.resource_group_name,
                location=args.location,
                redis_name=args.names.redis,
                subnet_id=self.network.subnet_ids["endpoints"],
                vnet_id=self.network.vnet_id,
                sku=sizing.redis_sku,
                zone_redundant=sizing.zone_redundant,
                tags=tags,
            ),
            child,
        )
        values = {
            "secret-key": args.secret_key,
            "database-url": self.database.url,
            "bus-url": cache.url,
            "database-password": args.database_password,  # for administrators: psql through a jump host
        }
        self.vault = Vault(
            f"{name}-vault",
            VaultArgs(
                resource_group_name=args.resource_group_name,
                location=args.location,
                vault_name=args.names.vault,
                tenant_id=args.tenant_id,
                subscription_id=args.subscription_id,
                apps_subnet_id=self.network.subnet_ids["apps"],
                reader_principal_id=identity.principal_id,
                secrets=values,
                protect=sizing.protect,
                tags=tags,
            ),
            child,
        )
        pull = grant(
            f"{name}-acr-pull",
            role="AcrPull",
            scope=args.registry.registry_id,
            principal_id=identity.principal_id,
            subscription_id=args.subscription_id,
            parent=self,
        )
        self.service = Service(
            f"{name}-app",
            ServiceArgs(
                resource_group_name=args.resource_group_name,
                location=args.location,
                subnet_id=self.network.subnet_ids["apps"],
                identity_id=identity.id,
                registry_server=args.registry.login_server,
                image=pulumi.Output.concat(args.registry.login_server, "/parley:", config.image_tag),
                secrets={variable: self.vault.secret_uris[name] for variable, name in SECRETS.items()},
                cpu=sizing.cpu,
                memory=sizing.memory,
                replicas=sizing.replicas,
                max_replicas=sizing.max_replicas,
                zone_redundant=sizing.zone_redundant,
                log_retention_days=sizing.log_retention_days,
                tags=tags,
                settings={**APP_SETTINGS, FRONT_DOOR_SETTING: args.front_door_id},
                after=[pull, self.vault.reader_grant],
            ),
            child,
        )
        self.identity_principal_id = identity.principal_id
        self.register_outputs(
            {
                "app_fqdn": self.service.app_fqdn,
                "server_name": self.database.server_name,
                "vault_id": self.vault.vault_id,
                "identity_principal_id": self.identity_principal_id,
            }
        )
