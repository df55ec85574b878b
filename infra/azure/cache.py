"""`Cache`: Azure Cache for Redis, Parley's bus between replicas, reachable through a private endpoint only.

Public network access is disabled and so is the non-TLS port: clients speak TLS 1.2 or later on 6380, to the
cache's usual host name, which the private DNS zone `privatelink.redis.cache.windows.net` (linked to the
network) resolves to the endpoint's address. Each region's cache is its own; only the database is
replicated. The access key is read from Azure once the cache exists and goes straight into the secret URL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_azure_native as azure

from infra.azure.config import redis_sku
from infra.azure.network import private_zone

REDIS_TLS_PORT = 6380
PRIVATE_ZONE = "privatelink.redis.cache.windows.net"
ZONES = ["1", "2", "3"]


@dataclass(frozen=True)
class CacheArgs:
    """`redis_name` is global (1-63 letters, digits and hyphens); `sku` as `Premium_P1`; `zone_redundant`
    spreads a Premium cache's nodes over three zones (other tiers cannot)."""

    resource_group_name: pulumi.Input[str]
    location: str
    redis_name: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    vnet_id: pulumi.Input[str]
    sku: str
    zone_redundant: bool
    tags: Mapping[str, str]


class Cache(pulumi.ComponentResource):
    redis_id: pulumi.Output[str]
    host_name: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:azure:Cache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        sku = redis_sku(args.sku)
        zonal = args.zone_redundant and sku["name"] == "Premium"
        redis = azure.redis.Redis(
            f"{name}-redis",
            name=args.redis_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=sku,
            redis_version="6",
            enable_non_ssl_port=False,
            minimum_tls_version="1.2",
            public_network_access="Disabled",
            zones=ZONES if zonal else None,
            tags=dict(args.tags),
            opts=child,
        )
        zone = private_zone(
            f"{name}-dns",
            zone=PRIVATE_ZONE,
            resource_group_name=args.resource_group_name,
            vnet_ids=[args.vnet_id],
            tags=args.tags,
            parent=self,
        )
        endpoint = azure.network.PrivateEndpoint(
            f"{name}-endpoint",
            resource_group_name=args.resource_group_name,
            location=args.location,
            subnet={"id": args.subnet_id},
            private_link_service_connections=[
                {"name": "redis", "private_link_service_id": redis.id, "group_ids": ["redisCache"]}
            ],
            tags=dict(args.tags),
            opts=child,
        )
        azure.network.PrivateDnsZoneGroup(
            f"{name}-endpoint-dns",
            private_endpoint_name=endpoint.name,
            resource_group_name=args.resource_group_name,
            private_dns_zone_configs=[{"name": "redis", "private_dns_zone_id": zone.id}],
            opts=child,
        )
        keys = azure.redis.list_redis_keys_output(
            name=redis.name,
            resource_group_name=args.resource_group_name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.redis_id, self.host_name = redis.id, redis.host_name
        self.url = pulumi.Output.secret(
            pulumi.Output.all(redis.host_name, keys.primary_key).apply(
                # Access keys are base64: `/`, `+` and `=` must be escaped in a URL.
                lambda parts: f"rediss://:{quote(parts[1], safe='')}@{parts[0]}:{REDIS_TLS_PORT}/0"
            )
        )
        self.register_outputs({"redis_id": self.redis_id, "host_name": self.host_name})
