"""`ParleyAzure`: Parley on Azure (target `azure`): Container Apps behind Front Door, PostgreSQL Flexible
Server, Azure Cache for Redis, in one region or, in prod, two with Front Door failing over between them.
docs/azure.md tells how to deploy and operate it.

A resource group per region holds that region's resources; the registry and Front Door, which serve both
regions, live in the primary's. The secrets are generated here (`random`), kept in each region's Key Vault,
and never appear in configuration or outputs.

Front Door is begun before the regions, so each region's app is told the profile's id (it refuses requests
that did not pass through it: app/front_door.py), and routed to the regions' apps once they exist."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure
import pulumi_random as random

from infra.azure.config import AzureConfig, load
from infra.azure.edge import FrontDoor, FrontDoorArgs
from infra.azure.region import GlobalNames, Region, RegionArgs
from infra.azure.registry import Registry, RegistryArgs
from infra.stack_config import deploy_target
from infra.tags import cost_labels

APP_NAME = "parley"
COMPONENT_TYPE = "parley:azure:Parley"


@dataclass(frozen=True)
class ParleyAzureArgs:
    config: AzureConfig


class ParleyAzure(pulumi.ComponentResource):
    regions: dict[str, Region]
    resource_groups: dict[str, pulumi.Output[str]]
    registry: Registry
    front_door: FrontDoor

    def __init__(self, name: str, args: ParleyAzureArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        tags = cost_labels(config.environment)
        client = azure.authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        # Random, so a stack's globally unique names (vaults, servers, caches, registry) never collide.
        suffix = random.RandomId(f"{name}-suffix", byte_length=4, opts=child).hex
        secret_key = random.RandomPassword(f"{name}-secret-key", length=64, special=False, opts=child)
        database_password = random.RandomPassword(f"{name}-db-password", length=40, special=False, opts=child)
        self.resource_groups = {
            location: azure.resources.ResourceGroup(
                f"{name}-{role}-rg",
                resource_group_name=f"{APP_NAME}-{config.stack}-{location}",
                location=location,
                tags=tags,
                opts=child,
            ).name
            for role, location in zip(("primary", "secondary"), config.locations, strict=False)
        }
        primary_group = self.resource_groups[config.location]
        self.registry = Registry(
            f"{name}-registry",
            RegistryArgs(
                resource_group_name=primary_group,
                location=config.location,
                registry_name=suffix.apply(lambda hex_: f"{APP_NAME}{_compact(config.stack)[:30]}{hex_}"),
                sku=config.sizing.registry_sku,
                tags=tags,
                replicate_to=[config.secondary_location] if config.secondary_location else [],
            ),
            child,
        )
        self.front_door = FrontDoor(
            f"{name}-edge",
            FrontDoorArgs(
                resource_group_name=primary_group,
                endpoint_name=f"{APP_NAME}-{config.stack}",
                host=config.host,
                tags=tags,
            ),
            child,
        )
        primary_args = RegionArgs(
            config=config,
            role="primary",
            location=config.location,
            cidr=config.vnet_cidr,
            resource_group_name=primary_group,
            names=_global_names(config.stack, "primary", suffix),
            tenant_id=client.tenant_id,
            subscription_id=client.subscription_id,
            registry=self.registry,
            secret_key=secret_key.result,
            database_password=database_password.result,
            peer_cidr=config.secondary_vnet_cidr,
            front_door_id=self.front_door.front_door_id,
        )
        primary = Region(f"{name}-primary", primary_args, child)
        self.regions = {config.location: primary}
        if config.secondary_location and config.secondary_vnet_cidr:
            secondary_group = self.resource_groups[config.secondary_location]
            self.regions[config.secondary_location] = Region(
                f"{name}-secondary",
                dataclasses.replace(
                    primary_args,
                    role="secondary",
                    location=config.secondary_location,
                    cidr=config.secondary_vnet_cidr,
                    resource_group_name=secondary_group,
                    names=_global_names(config.stack, "secondary", suffix),
                    peer_cidr=config.vnet_cidr,
                    replicate_from=primary.database.server_id,
                    peer=(primary.network, primary_group),
                ),
                child,
            )
        self.front_door.route_to([region.service.app_fqdn for region in self.regions.values()])
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, object]:
        """The stack outputs: addresses, names and ids; never a secret's value."""
        primary = next(iter(self.regions.values()))
        return {
            "url": self.front_door.url,
            "frontDoorHostName": self.front_door.endpoint_host_name,
            # The value of `X-Azure-FDID` on every request this stack's Front Door forwards (docs/azure.md).
            "frontDoorId": self.front_door.front_door_id,
            # The TXT record `_dnsauth.<host>` that lets Front Door issue the host's certificate (docs/azure.md).
            "customDomainValidationToken": self.front_door.validation_token,
            "registryLoginServer": self.registry.login_server,
            "resourceGroups": self.resource_groups,
            "appFqdns": {location: r.service.app_fqdn for location, r in self.regions.items()},
            "databaseServers": {location: r.database.server_name for location, r in self.regions.items()},
            "keyVaultIds": {location: r.vault.vault_id for location, r in self.regions.items()},
            # What `az containerapp job start` needs for the migration (docs/azure.md).
            "migration": {
                "resourceGroup": self.resource_groups[next(iter(self.regions))],
                "job": primary.service.job_name,
            },
        }


def _compact(stack: str) -> str:
    return re.sub(r"[^a-z0-9]", "", stack.lower())


def _global_names(stack: str, role: str, suffix: pulumi.Output[str]) -> GlobalNames:
    """Server and cache names (up to 63 characters) spell the stack out; a vault name has 24 at most."""
    return GlobalNames(
        server=suffix.apply(lambda hex_: f"{APP_NAME}-{stack}-{role}-{hex_}"),
        redis=suffix.apply(lambda hex_: f"{APP_NAME}-{stack}-{role}-{hex_}"),
        vault=suffix.apply(lambda hex_: f"kv-{_compact(stack)[:10]}-{role[0]}{hex_}"),
    )


def deploy(config: pulumi.Config) -> None:
    """The `azure` target of `infra/__main__.py`."""
    deploy_target(load, lambda settings: ParleyAzure(APP_NAME, ParleyAzureArgs(settings)))
