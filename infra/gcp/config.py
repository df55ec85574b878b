"""Stack configuration for the `gcp` target: read from the Pulumi config map, checked, and turned into one
frozen value before any resource is declared. Every refusal is a `pulumi.RunError` naming the key; the
checks every cloud shares live in `infra.stack_config`."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from infra.gcp.regions import REGIONS
from infra.stack_config import (
    Environment,
    StackConfig,
    begin,
    fail,
    host,
    image_tag,
    matching,
    private_networks,
    regions,
    replica_counts,
    replica_promoted,
    with_overrides,
)

# Project ids: 6-30 characters, a lower-case letter first, no trailing hyphen.
PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
# Cloud SQL machine tiers: shared-core (db-f1-micro, db-g1-small) and custom or predefined ones.
DB_TIER = re.compile(r"^db-(f1-micro|g1-small|custom-\d+-\d+|(n1|n2|e2|perf-optimized-n)-[a-z0-9-]+)$", re.I)
CacheTier = Literal["BASIC", "STANDARD_HA"]


def region(key: str, value: str) -> str:
    if value not in REGIONS:
        fail(key, f"{value!r} is not a GCP region (for example us-central1, europe-west1)")
    return value


@dataclass(frozen=True)
class Sizing:
    """What an environment preset decides. `replicas` is Cloud Run's minimum instances per region (at least
    one: Cloud Run computes a region's health for failover only with a warm instance), `concurrency` the
    requests (WebSocket connections) one instance holds. `protect` turns on deletion protection everywhere."""

    replicas: int
    max_replicas: int
    cpu: str
    memory: str
    concurrency: int
    db_tier: str
    db_disk_gb: int
    db_regional: bool
    db_backup_days: int
    db_point_in_time_recovery: bool
    cache_tier: CacheTier
    cache_memory_gb: int
    ingress_from_load_balancer_only: bool
    protect: bool


PRESETS: dict[Environment, Sizing] = {
    "dev": Sizing(1, 2, "1", "512Mi", 250, "db-f1-micro", 10, False, 7, True, "BASIC", 1, False, False),
    "staging": Sizing(1, 4, "1", "1Gi", 500, "db-custom-2-7680", 50, True, 14, True, "STANDARD_HA", 1, True, True),
    "prod": Sizing(2, 20, "2", "2Gi", 1000, "db-custom-4-15360", 100, True, 30, True, "STANDARD_HA", 5, True, True),
}
# The primary and secondary regions' subnets, and the range reserved for Cloud SQL and Memorystore.
DEFAULT_CIDRS = {"vpcCidr": "10.0.0.0/20", "secondaryVpcCidr": "10.1.0.0/20", "datastoreCidr": "10.100.0.0/16"}


@dataclass(frozen=True)
class GcpConfig:
    """One stack of the `gcp` target. `secondary_region` adds the failover region (prod) with Cloud SQL's
    cross-region replica; `replica_promoted` records that the replica was promoted (docs/gcp.md, runbook)."""

    stack: str
    environment: Environment
    project: str
    region: str
    host: str
    image_tag: str
    subnet_cidr: ipaddress.IPv4Network
    datastore_cidr: ipaddress.IPv4Network
    sizing: Sizing
    secondary_region: str | None = None
    secondary_subnet_cidr: ipaddress.IPv4Network | None = None
    replica_promoted: bool = False

    @property
    def regions(self) -> list[str]:
        return [self.region] + ([self.secondary_region] if self.secondary_region else [])


# The `parley:` keys the gcp target reads: Pulumi.yaml declares each; "" and 0 mean "the preset's".
GCP_KEYS = frozenset(
    {
        "target",
        "environment",
        "host",
        "imageTag",
        "secondaryRegion",
        "vpcCidr",
        "secondaryVpcCidr",
        "datastoreCidr",
        "replicas",
        "maxReplicas",
        "dbTier",
        "cacheMemoryGb",
        "replicaPromoted",
    }
)
SIZING_OVERRIDES = {
    "replicas": "replicas",
    "maxReplicas": "max_replicas",
    "dbTier": "db_tier",
    "cacheMemoryGb": "cache_memory_gb",
}


def load(stack: StackConfig, stack_name: str) -> GcpConfig:
    """The stack's `GcpConfig`, or a `pulumi.RunError` naming the first bad key."""
    parley, environment = begin(stack, target="gcp", reads=GCP_KEYS)
    project = matching("gcp:project", stack.values.get("gcp:project", ""), PROJECT_ID, "a GCP project id")
    primary, secondary = regions(stack, environment=environment, primary_key="gcp:region", check=region)
    # The subnets and the services range share one VPC, so none may overlap another.
    subnet, secondary_subnet, datastores = private_networks(
        parley,
        DEFAULT_CIDRS,
        in_use=DEFAULT_CIDRS if secondary else ["vpcCidr", "datastoreCidr"],
        prefixes=range(16, 29),
    )
    if datastores.prefixlen > 24:
        fail("parley:datastoreCidr", f"{datastores} is too small: Cloud SQL and Memorystore need at least a /24")
    return GcpConfig(
        stack=stack_name,
        environment=environment,
        project=project,
        region=primary,
        host=host(parley),
        image_tag=image_tag(parley),
        subnet_cidr=subnet,
        datastore_cidr=datastores,
        sizing=_sizing(parley, PRESETS[environment]),
        secondary_region=secondary,
        secondary_subnet_cidr=secondary_subnet if secondary else None,
        replica_promoted=replica_promoted(parley),
    )


def _sizing(parley: Mapping[str, str], preset: Sizing) -> Sizing:
    sizing = with_overrides(preset, parley, SIZING_OVERRIDES)
    replica_counts(sizing.replicas, sizing.max_replicas, ceiling=(1000, "Cloud Run's 1000 instances per service"))
    if not DB_TIER.match(sizing.db_tier):
        fail("parley:dbTier", f"{sizing.db_tier!r} is not a Cloud SQL tier (db-custom-<cpus>-<MiB>, db-f1-micro, ...)")
    if not 1 <= sizing.cache_memory_gb <= 300:
        fail("parley:cacheMemoryGb", f"{sizing.cache_memory_gb} GB is outside Memorystore's 1-300")
    return sizing
