"""Pricers for the Azure stacks (azure-native): PostgreSQL Flexible Server, Azure Cache for Redis, Container
Apps, Front Door, Key Vault, Container Registry, Log Analytics and the network's billed parts."""

from __future__ import annotations

import re
from typing import Any

from infra.cost.engine import (
    Component,
    Context,
    NotPriced,
    free,
    number_input,
    pricer,
    scaled_instances,
    text_input,
)
from infra.cost.usage import HOURS_PER_MONTH

# How long a migration job runs per deployment: schema migrations take seconds; two minutes is generous.
JOB_SECONDS = 120

free(
    "networks, firewall rules, identities and role assignments are free",
    "azure-native:resources:ResourceGroup",
    "azure-native:network:VirtualNetwork",
    "azure-native:network:Subnet",
    "azure-native:network:NetworkSecurityGroup",
    "azure-native:network:PrivateDnsZoneGroup",
    "azure-native:privatedns:VirtualNetworkLink",
    "azure-native:privatedns:PrivateRecordSet",
    "azure-native:managedidentity:UserAssignedIdentity",
    "azure-native:authorization:RoleAssignment",
    "azure-native:insights:DiagnosticSetting",
)
free(
    "configuration without a charge of its own",
    "azure-native:dbforpostgresql:Database",
    "azure-native:dbforpostgresql:FirewallRule",
    "azure-native:dbforpostgresql:Configuration",
    "azure-native:keyvault:Secret",
    "azure-native:app:ManagedEnvironment",
    "azure-native:cdn:AFDEndpoint",
    "azure-native:cdn:AFDOriginGroup",
    "azure-native:cdn:AFDOrigin",
    "azure-native:cdn:Route",
    "azure-native:cdn:AFDCustomDomain",
    "azure-native:cdn:SecurityPolicy",
    "azure-native:network:WebApplicationFirewallPolicy",
    "azure-native:network:FrontDoorWebApplicationFirewallPolicy",
    "azure-native:network:DnsRecordSet",
    "azure-native:dns:RecordSet",
)


def _sku(inputs: dict[str, Any]) -> dict[str, Any]:
    sku = inputs.get("sku")
    if not isinstance(sku, dict):
        raise NotPriced(f"input sku is {sku!r}, not known")
    return sku


@pricer("azure-native:dbforpostgresql:Server")
def postgres(ctx: Context) -> list[Component]:
    """Compute hours and storage; high availability runs a standby billed like the primary."""
    inputs = ctx.resource.inputs
    sku = text_input(_sku(inputs), "name")
    ha = str((inputs.get("highAvailability") or {}).get("mode") or "Disabled")
    copies = 1 if ha == "Disabled" else 2
    storage = number_input(inputs.get("storage") or {}, "storageSizeGB", 32)
    label = "" if copies == 1 else f" with {ha} standby"
    components = [
        ctx.hours(f"{sku}{label}", f"postgres.{sku}", copies),
        ctx.charge(f"storage{label}", "postgres.storage", copies * storage),
    ]
    if ctx.usage and inputs.get("createMode") in ("Replica", "GeoRestore") and not ctx.home:
        components.append(
            ctx.charge(
                "replication from the primary region", "transfer.inter-region.gb", ctx.usage.replication_gb, "usage"
            )
        )
    return components


@pricer("azure-native:redis:Redis", "azure-native:cache:Redis")
def redis(ctx: Context) -> list[Component]:
    """Per cache hour by tier and size (Standard and Premium prices include the replica); Premium per shard."""
    sku = _sku(ctx.resource.inputs)
    name, family, capacity = text_input(sku, "name"), text_input(sku, "family"), int(number_input(sku, "capacity"))
    shards = int(number_input(ctx.resource.inputs, "shardCount", 1)) or 1
    return [ctx.hours(f"{name} {family}{capacity} x {shards}", f"redis.{name}_{family}{capacity}", shards)]


def _resources(template: dict[str, Any]) -> tuple[float, float]:
    """vCPU and GiB of one replica: the sum over its containers (memory like "1Gi" or "0.5Gi")."""
    cpu = memory = 0.0
    for container in template.get("containers") or []:
        resources = container.get("resources") or {}
        cpu += float(resources.get("cpu") or 0.5)
        size = re.fullmatch(r"([\d.]+)\s*Gi", str(resources.get("memory") or "1Gi"))
        if size is None:
            raise NotPriced(f"container memory {resources.get('memory')!r} is not in Gi")
        memory += float(size[1])
    return cpu, memory


@pricer("azure-native:app:ContainerApp")
def container_app(ctx: Context) -> list[Component]:
    """Consumption plan. The minimum replicas hold WebSockets, so they bill at active rates all month (hourly);
    more replicas for the profile's peak bill as usage; a failover region's idle minimum at idle rates."""
    template = ctx.resource.inputs.get("template") or {}
    scale = template.get("scale") or {}
    cpu, memory = _resources(template)
    return scaled_instances(
        ctx,
        "replicas",
        "containerapps",
        minimum=int(scale.get("minReplicas") or 0),
        maximum=int(scale.get("maxReplicas") or 10),
        cpu=cpu,
        memory=memory,
        idle_memory_sku="containerapps.memory",  # Container Apps bill idle memory at the active rate
    )


@pricer("azure-native:cdn:Profile")
def front_door(ctx: Context) -> list[Component]:
    """Front Door's monthly base fee by tier, its requests (HTTP requests and WebSocket upgrades) and transfer out."""
    sku = text_input(_sku(ctx.resource.inputs), "name")
    tier = {"Standard_AzureFrontDoor": "standard", "Premium_AzureFrontDoor": "premium"}.get(sku)
    if tier is None:
        raise NotPriced(f"CDN sku {sku} is not modelled (only Azure Front Door Standard and Premium)")
    components = [ctx.charge(f"{tier} base fee", f"frontdoor.{tier}.base", 1)]
    usage = ctx.usage
    if usage:
        requests = (usage.http_requests + usage.connections) / 1e6
        components.append(ctx.charge("requests", "frontdoor.requests", requests, "usage"))
        components.append(
            ctx.charge("transfer out to clients", "frontdoor.transfer-out", usage.internet_out_gb, "usage")
        )
    return components


@pricer("azure-native:keyvault:Vault")
def key_vault(ctx: Context) -> list[Component]:
    usage = ctx.traffic()
    return [ctx.charge("secret operations", "keyvault.operations", usage.secret_reads / 1e4, "usage")] if usage else []


@pricer("azure-native:containerregistry:Registry")
def registry(ctx: Context) -> list[Component]:
    tier = text_input(_sku(ctx.resource.inputs), "name").lower()
    return [ctx.charge(f"{tier} registry", f"acr.{tier}", HOURS_PER_MONTH / 24)]


@pricer("azure-native:operationalinsights:Workspace")
def log_analytics(ctx: Context) -> list[Component]:
    usage = ctx.traffic()
    return [ctx.charge("logs ingested", "loganalytics.ingest", usage.log_gb, "usage")] if usage else []


@pricer("azure-native:network:NatGateway")
def nat_gateway(ctx: Context) -> list[Component]:
    components = [ctx.hours("gateway hours", "nat.hour")]
    usage = ctx.traffic()
    if usage:
        components.append(ctx.charge("data processed", "nat.gb", usage.nat_gb * ctx.share(ctx.resource.type), "usage"))
    return components


@pricer("azure-native:network:PublicIPAddress")
def public_ip(ctx: Context) -> list[Component]:
    return [ctx.hours("static public IPv4", "publicip.standard")]


@pricer("azure-native:network:PrivateEndpoint")
def private_endpoint(ctx: Context) -> list[Component]:
    return [ctx.hours("endpoint hours", "privateendpoint.hour")]


@pricer("azure-native:privatedns:PrivateZone", "azure-native:network:PrivateZone")
def private_zone(ctx: Context) -> list[Component]:
    return [ctx.charge("private DNS zone", "privatedns.zone", 1)]


@pricer("azure-native:app:Job")
def container_job(ctx: Context) -> list[Component]:
    """A job (the schema migration) runs once per deployment, for `JOB_SECONDS`, at active rates."""
    usage = ctx.traffic()
    if not usage:
        return []
    cpu, memory = _resources(ctx.resource.inputs.get("template") or {})
    seconds = usage.deployments * JOB_SECONDS
    return [
        ctx.charge(f"{usage.deployments} runs, vCPU", "containerapps.vcpu", seconds * cpu, "usage"),
        ctx.charge(f"{usage.deployments} runs, memory", "containerapps.memory", seconds * memory, "usage"),
    ]


@pricer("azure-native:network:VirtualNetworkPeering")
def peering(ctx: Context) -> list[Component]:
    """Global peering bills the GB crossing it. The database replicates through its own service (billed on the
    replica) and each region's app talks to its own datastores, so at these profiles nothing crosses it."""
    ctx.notes.append("bills GB crossing regions; the app keeps its traffic in-region")
    return []


@pricer("azure-native:containerregistry:Replication")
def registry_replica(ctx: Context) -> list[Component]:
    """A geo-replica of a Premium registry bills as another Premium registry in its region."""
    return [ctx.charge(f"premium replica in {ctx.region}", "acr.premium", HOURS_PER_MONTH / 24)]
