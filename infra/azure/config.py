"""Stack configuration for the `azure` target: read from the Pulumi config map, checked, and turned into one
frozen value before any resource is declared. Every refusal is a `pulumi.RunError` naming the key; the checks
every cloud shares live in `infra.stack_config`.

The primary location is the provider's own setting, `azure-native:location`; the failover location reuses
`parley:secondaryRegion`, as the aws and gcp targets do: the meaning is the same (Azure's documentation calls
them regions too; "location" is only the name of the ARM property)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from infra.azure.locations import LOCATIONS
from infra.stack_config import (
    Environment,
    StackConfig,
    begin,
    fail,
    host,
    image_tag,
    private_networks,
    regions,
    replica_counts,
    replica_promoted,
    with_overrides,
)

# Flexible Server compute: Burstable (B), General Purpose (D) and Memory Optimized (E) SKUs.
DB_SKU = re.compile(r"^Standard_(?P<series>[BDE])\w+$")
DB_TIERS = {"B": "Burstable", "D": "GeneralPurpose", "E": "MemoryOptimized"}
# Flexible Server's fixed storage sizes (GiB).
DB_STORAGE_GB = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767)
REDIS_SKU = re.compile(r"^(?P<name>Basic|Standard)_(?P<family>C)(?P<capacity>[0-6])$|^(?P<premium>Premium)_P[1-5]$")
# Container Apps' consumption sizes: vCPUs, each with twice as many GiB of memory.
CONTAINER_CPUS = ("0.25", "0.5", "0.75", "1.0", "1.25", "1.5", "1.75", "2.0")


def location(key: str, value: str) -> str:
    if value not in LOCATIONS:
        fail(key, f"{value!r} is not an Azure location with availability zones (for example eastus2, westeurope)")
    return value


@dataclass(frozen=True)
class Sizing:
    """What an environment preset decides. `zone_redundant` spreads the Container Apps environment and the
    Premium cache over zones; `protect` turns on Key Vault purge protection and 90 days' soft-delete retention."""

    replicas: int
    max_replicas: int
    cpu: str
    db_sku: str
    db_storage_gb: int
    db_high_availability: bool
    db_geo_backup: bool
    db_backup_days: int
    redis_sku: str
    zone_redundant: bool
    log_retention_days: int
    registry_sku: str
    protect: bool

    @property
    def memory(self) -> str:
        return f"{float(self.cpu) * 2:g}Gi"

    @property
    def db_tier(self) -> str:
        match = DB_SKU.match(self.db_sku)
        return DB_TIERS[match["series"]] if match else ""


PRESETS: dict[Environment, Sizing] = {
    "dev": Sizing(1, 2, "0.5", "Standard_B1ms", 32, False, False, 7, "Basic_C0", False, 30, "Basic", False),
    "staging": Sizing(2, 4, "0.5", "Standard_D2ds_v5", 64, True, False, 14, "Standard_C1", True, 30, "Standard", True),
    "prod": Sizing(3, 10, "1.0", "Standard_D4ds_v5", 128, True, True, 35, "Premium_P1", True, 90, "Premium", True),
}
DEFAULT_CIDRS = {"vpcCidr": "10.0.0.0/16", "secondaryVpcCidr": "10.1.0.0/16"}


@dataclass(frozen=True)
class AzureConfig:
    """One stack of the `azure` target. `secondary_location` adds the failover region (prod) with the
    database's cross-region read replica; `replica_promoted` records that the replica was promoted
    (docs/azure.md, runbook), so the program stops declaring it as a replica."""

    stack: str
    environment: Environment
    location: str
    host: str
    image_tag: str
    vnet_cidr: ipaddress.IPv4Network
    sizing: Sizing
    secondary_location: str | None = None
    secondary_vnet_cidr: ipaddress.IPv4Network | None = None
    replica_promoted: bool = False

    @property
    def locations(self) -> list[str]:
        return [self.location] + ([self.secondary_location] if self.secondary_location else [])


# The `parley:` keys the azure target reads: Pulumi.yaml declares each; "" and 0 mean "the preset's".
AZURE_KEYS = frozenset(
    {
        "target",
        "environment",
        "host",
        "imageTag",
        "secondaryRegion",
        "vpcCidr",
        "secondaryVpcCidr",
        "replicas",
        "maxReplicas",
        "replicaPromoted",
        "containerCpu",
        "dbSku",
        "dbStorageGb",
        "redisSku",
    }
)
SIZING_OVERRIDES = {
    "replicas": "replicas",
    "maxReplicas": "max_replicas",
    "containerCpu": "cpu",
    "dbSku": "db_sku",
    "dbStorageGb": "db_storage_gb",
    "redisSku": "redis_sku",
}


def load(stack: StackConfig, stack_name: str) -> AzureConfig:
    """The stack's `AzureConfig`, or a `pulumi.RunError` naming the first bad key."""
    parley, environment = begin(stack, target="azure", reads=AZURE_KEYS)
    primary, secondary = regions(stack, environment=environment, primary_key="azure-native:location", check=location)
    # Four equal subnets per network (infra/azure/network.py): a /22 still gives each a /24. The two networks
    # are peered (the replica replicates over the peering), so they must not overlap.
    vnet, secondary_vnet = private_networks(
        parley, DEFAULT_CIDRS, in_use=DEFAULT_CIDRS if secondary else ["vpcCidr"], prefixes=range(16, 23)
    )
    return AzureConfig(
        stack=stack_name,
        environment=environment,
        location=primary,
        host=host(parley),
        image_tag=image_tag(parley),
        vnet_cidr=vnet,
        sizing=_sizing(parley, PRESETS[environment], environment),
        secondary_location=secondary,
        secondary_vnet_cidr=secondary_vnet if secondary else None,
        replica_promoted=replica_promoted(parley),
    )


def _sizing(parley: Mapping[str, str], preset: Sizing, environment: Environment) -> Sizing:
    sizing = with_overrides(preset, parley, SIZING_OVERRIDES)
    replica_counts(sizing.replicas, sizing.max_replicas, ceiling=(300, "Container Apps' 300 replicas per app"))
    if sizing.cpu not in CONTAINER_CPUS:
        fail("parley:containerCpu", f"{sizing.cpu!r} is not a Container Apps size ({', '.join(CONTAINER_CPUS)})")
    if not sizing.db_tier:
        fail("parley:dbSku", f"{sizing.db_sku!r} is not a Flexible Server SKU (Standard_B*, Standard_D*, Standard_E*)")
    if sizing.db_high_availability and sizing.db_tier == "Burstable":
        fail(
            "parley:dbSku",
            f"{sizing.db_sku} is Burstable; zone-redundant high availability ({environment}) needs D or E",
        )
    if sizing.db_storage_gb not in DB_STORAGE_GB:
        fail(
            "parley:dbStorageGb",
            f"{sizing.db_storage_gb} is not a Flexible Server size ({', '.join(map(str, DB_STORAGE_GB))})",
        )
    redis = REDIS_SKU.match(sizing.redis_sku)
    if not redis:
        fail("parley:redisSku", f"{sizing.redis_sku!r} is not a Redis SKU (Basic_C0-6, Standard_C0-6, Premium_P1-5)")
    if environment != "dev" and redis["name"] == "Basic":
        fail("parley:redisSku", f"{sizing.redis_sku} has no replica; {environment} needs Standard or Premium")
    return sizing


def redis_sku(value: str) -> dict[str, object]:
    """`Premium_P1` as the ARM `sku` object: name, family and capacity."""
    name, size = value.split("_")
    return {"name": name, "family": size[0], "capacity": int(size[1:])}
