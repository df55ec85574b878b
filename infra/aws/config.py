"""Stack configuration for the AWS targets: read from the Pulumi config map, checked, and turned into one
frozen value before any resource is declared. Every refusal is a `pulumi.RunError` naming the key.

`region` serves every AWS target; `AwsConfig` and its presets are the container target's. The checks every
cloud shares live in `infra.stack_config`."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from infra.aws.regions import REGIONS
from infra.stack_config import (
    EMAIL,
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

# Fargate's CPU units and the memory (MiB) each allows.
FARGATE_MEMORY = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
}
HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")


def region(key: str, value: str) -> str:
    if value not in REGIONS:
        fail(key, f"{value!r} is not an AWS region of the aws partition (for example us-east-1, eu-west-1)")
    return value


@dataclass(frozen=True)
class Sizing:
    """What an environment preset decides: how redundant, how big, how long things are kept. `protect` turns
    on deletion protection, final snapshots and the longest secret recovery window."""

    availability_zones: int
    nat_per_az: bool
    interface_endpoints: bool
    replicas: int
    max_replicas: int
    task_cpu: int
    task_memory: int
    db_instance_class: str
    db_allocated_storage: int
    db_multi_az: bool
    db_backup_days: int
    cache_node_type: str
    cache_nodes: int
    log_retention_days: int
    protect: bool


PRESETS: dict[Environment, Sizing] = {
    "dev": Sizing(2, False, False, 1, 2, 256, 512, "db.t4g.micro", 20, False, 7, "cache.t4g.micro", 1, 14, False),
    "staging": Sizing(2, True, True, 2, 4, 512, 1024, "db.t4g.medium", 50, True, 14, "cache.t4g.small", 2, 30, True),
    "prod": Sizing(3, True, True, 3, 12, 1024, 2048, "db.r6g.large", 100, True, 30, "cache.r7g.large", 2, 90, True),
}
DEFAULT_CIDRS = {"vpcCidr": "10.0.0.0/16", "secondaryVpcCidr": "10.1.0.0/16"}


@dataclass(frozen=True)
class AwsConfig:
    """One stack of the `aws` target. `secondary_region` adds the failover region (prod); `replica_promoted`
    records that its database replica was promoted (docs/aws.md, runbook), so `pulumi up` stops declaring it
    as a replica."""

    stack: str
    environment: Environment
    region: str
    host: str
    hosted_zone_id: str
    image_tag: str
    vpc_cidr: ipaddress.IPv4Network
    sizing: Sizing
    secondary_region: str | None = None
    secondary_vpc_cidr: ipaddress.IPv4Network | None = None
    alarm_email: str | None = None
    replica_promoted: bool = False
    profile: str | None = None

    @property
    def regions(self) -> list[str]:
        return [self.region] + ([self.secondary_region] if self.secondary_region else [])


# The `parley:` keys the aws target reads: Pulumi.yaml declares each; "" and 0 mean "the preset's".
AWS_KEYS = frozenset(
    {
        "target",
        "environment",
        "host",
        "hostedZoneId",
        "imageTag",
        "vpcCidr",
        "secondaryRegion",
        "secondaryVpcCidr",
        "availabilityZones",
        "replicas",
        "maxReplicas",
        "taskCpu",
        "taskMemory",
        "dbInstanceClass",
        "dbAllocatedStorage",
        "cacheNodeType",
        "alarmEmail",
        "replicaPromoted",
    }
)
SIZING_OVERRIDES = {
    "availabilityZones": "availability_zones",
    "replicas": "replicas",
    "maxReplicas": "max_replicas",
    "taskCpu": "task_cpu",
    "taskMemory": "task_memory",
    "dbInstanceClass": "db_instance_class",
    "dbAllocatedStorage": "db_allocated_storage",
    "cacheNodeType": "cache_node_type",
}


def load(stack: StackConfig, stack_name: str) -> AwsConfig:
    """The stack's `AwsConfig`, or a `pulumi.RunError` naming the first bad key."""
    parley, environment = begin(stack, target="aws", reads=AWS_KEYS)
    primary, secondary = regions(stack, environment=environment, primary_key="aws:region", check=region)
    vpc_cidr, secondary_cidr = private_networks(
        parley, DEFAULT_CIDRS, in_use=DEFAULT_CIDRS if secondary else ["vpcCidr"]
    )
    return AwsConfig(
        stack=stack_name,
        environment=environment,
        region=primary,
        host=host(parley),
        hosted_zone_id=matching(
            "parley:hostedZoneId", parley.get("hostedZoneId", ""), HOSTED_ZONE_ID, "a Route 53 zone id"
        ),
        image_tag=image_tag(parley),
        vpc_cidr=vpc_cidr,
        sizing=_sizing(parley, PRESETS[environment]),
        secondary_region=secondary,
        secondary_vpc_cidr=secondary_cidr if secondary else None,
        alarm_email=matching("parley:alarmEmail", parley["alarmEmail"], EMAIL, "an email address")
        if parley.get("alarmEmail")
        else None,
        replica_promoted=replica_promoted(parley),
        profile=stack.values.get("aws:profile") or None,
    )


def _sizing(parley: Mapping[str, str], preset: Sizing) -> Sizing:
    sizing = with_overrides(preset, parley, SIZING_OVERRIDES)
    if sizing.availability_zones not in (2, 3):
        fail("parley:availabilityZones", f"must be 2 or 3, not {sizing.availability_zones}")
    replica_counts(sizing.replicas, sizing.max_replicas)
    if sizing.task_cpu not in FARGATE_MEMORY:
        fail("parley:taskCpu", f"{sizing.task_cpu} is not a Fargate size ({', '.join(map(str, FARGATE_MEMORY))})")
    if sizing.task_memory not in FARGATE_MEMORY[sizing.task_cpu]:
        allowed = FARGATE_MEMORY[sizing.task_cpu]
        fail("parley:taskMemory", f"Fargate pairs {sizing.task_cpu} CPU units with {allowed.start}-{allowed[-1]} MiB")
    if not sizing.db_instance_class.startswith("db."):
        fail("parley:dbInstanceClass", f"{sizing.db_instance_class!r} is not an RDS class (db.*)")
    if not sizing.cache_node_type.startswith("cache."):
        fail("parley:cacheNodeType", f"{sizing.cache_node_type!r} is not an ElastiCache node type (cache.*)")
    if not 20 <= sizing.db_allocated_storage <= 65536:
        fail("parley:dbAllocatedStorage", f"{sizing.db_allocated_storage} GiB is outside 20-65536")
    return sizing
