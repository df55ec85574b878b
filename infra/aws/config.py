"""Stack configuration for the AWS targets: read from the Pulumi config map, checked, and turned into one
frozen value before any resource is declared. Every refusal is a `pulumi.RunError` naming the key.

The helpers above `AwsConfig` (`StackConfig`, `refuse_plaintext_secrets`, `refuse_unknown_keys`, `region`,
`ipv4_network`) serve every AWS target; `AwsConfig` and its presets are the container target's."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NoReturn

import pulumi
import yaml
from pulumi.runtime import config as runtime_config

from infra.aws.regions import REGIONS

Environment = Literal["dev", "staging", "prod"]
ENVIRONMENTS: tuple[Environment, ...] = ("dev", "staging", "prod")
PROJECT_FILE = Path(__file__).resolve().parents[2] / "Pulumi.yaml"
# Keys that only ever hold secrets. Set in plain text, their value already sits in a stack file (and so in
# git), so the program stops instead of deploying it.
SECRET_KEYS = frozenset(
    {
        "parley:secretKey",
        "parley:databaseUrl",
        "parley:busUrl",
        "parley:kubeconfig",
        "parley:dbPassword",
        "parley:redisAuthToken",
        "aws:accessKey",
        "aws:secretKey",
        "aws:token",
    }
)
# Fargate's CPU units and the memory (MiB) each allows.
FARGATE_MEMORY = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
}
HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def fail(key: str, problem: str) -> NoReturn:
    raise pulumi.RunError(f"{key}: {problem}")


@dataclass(frozen=True)
class StackConfig:
    """What the Pulumi CLI handed the program: every `namespace:key` with its value, and which are secrets.
    The SDK has no public listing of keys, so this reads the map `pulumi.runtime.set_all_config` fills (the
    language host fills it from PULUMI_CONFIG) and falls back to that variable."""

    values: Mapping[str, str]
    secret_keys: frozenset[str]

    @classmethod
    def current(cls) -> StackConfig:
        values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
        secret = {k for k in values if pulumi.runtime.is_config_secret(k)}
        secret |= set(runtime_config.get_config_secret_keys_env())
        return cls({k: str(v) for k, v in values.items()}, frozenset(secret))

    def namespace(self, name: str) -> dict[str, str]:
        return {k.split(":", 1)[1]: v for k, v in self.values.items() if k.split(":", 1)[0] == name}


def refuse_plaintext_secrets(stack: StackConfig) -> None:
    for key in sorted(SECRET_KEYS & stack.values.keys() - stack.secret_keys):
        namespace, name = key.split(":", 1)
        setting = name if namespace == "parley" else key
        fail(
            key,
            "holds a secret in plain text; remove it from the stack file and set it with "
            f"`pulumi config set --secret {setting} <value>` (the aws targets generate their own database, "
            "Redis and app secrets)",
        )


def project_defaults(project_file: Path = PROJECT_FILE) -> dict[str, str]:
    """Pulumi.yaml's declared defaults as the CLI passes them (strings; booleans lower-case)."""
    schema = yaml.safe_load(project_file.read_text()).get("config", {})
    return {
        f"parley:{k}": str(spec["default"]).lower() if isinstance(spec["default"], bool) else str(spec["default"])
        for k, spec in schema.items()
        if isinstance(spec, dict) and "default" in spec
    }


def refuse_unknown_keys(stack: StackConfig, *, target: str, reads: Collection[str]) -> None:
    """Every `parley:` key must be one the target reads. The CLI fills in every default Pulumi.yaml declares,
    including other targets' settings, so a key holding exactly its declared default is not the stack's."""
    defaults = project_defaults()
    for name, value in sorted(stack.namespace("parley").items()):
        key = f"parley:{name}"
        if name in reads or (key in defaults and defaults[key] == value and key not in stack.secret_keys):
            continue
        fail(key, f"is not a setting of the {target} target; it reads {', '.join(sorted(reads))}")


def region(key: str, value: str) -> str:
    if value not in REGIONS:
        fail(key, f"{value!r} is not an AWS region of the aws partition (for example us-east-1, eu-west-1)")
    return value


def ipv4_network(key: str, value: str, *, prefixes: range = range(16, 25)) -> ipaddress.IPv4Network:
    """A private IPv4 CIDR whose prefix length is in `prefixes` (the VPC's: /16 to /24)."""
    try:
        network = ipaddress.IPv4Network(value)
    except ValueError as error:
        fail(key, f"{value!r} is not an IPv4 CIDR block: {error}")
    if not network.is_private:
        fail(key, f"{value} is not a private (RFC 1918) range")
    if network.prefixlen not in prefixes:
        fail(key, f"{value} must have a prefix length from /{prefixes.start} to /{prefixes.stop - 1}")
    return network


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
DEFAULT_CIDRS = ("10.0.0.0/16", "10.1.0.0/16")


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
    refuse_plaintext_secrets(stack)
    refuse_unknown_keys(stack, target="aws", reads=AWS_KEYS)
    parley, aws = stack.namespace("parley"), stack.namespace("aws")
    environment = parley.get("environment") or "dev"
    if environment not in ENVIRONMENTS:
        fail("parley:environment", f"{environment!r} is not one of {', '.join(ENVIRONMENTS)}")
    primary = region("aws:region", aws.get("region", ""))
    secondary = region("parley:secondaryRegion", parley["secondaryRegion"]) if parley.get("secondaryRegion") else None
    if secondary == primary:
        fail("parley:secondaryRegion", f"must differ from aws:region ({primary})")
    if environment == "prod" and secondary is None:
        fail("parley:secondaryRegion", "is required in prod, which fails over to a second region")
    vpc_cidr = ipv4_network("parley:vpcCidr", parley.get("vpcCidr") or DEFAULT_CIDRS[0])
    secondary_cidr = ipv4_network("parley:secondaryVpcCidr", parley.get("secondaryVpcCidr") or DEFAULT_CIDRS[1])
    if secondary and vpc_cidr.overlaps(secondary_cidr):
        fail("parley:secondaryVpcCidr", f"{secondary_cidr} overlaps parley:vpcCidr {vpc_cidr}")
    return AwsConfig(
        stack=stack_name,
        environment=environment,
        region=primary,
        host=_matching("parley:host", parley.get("host", ""), HOST_NAME, "a lower-case DNS name"),
        hosted_zone_id=_matching(
            "parley:hostedZoneId", parley.get("hostedZoneId", ""), HOSTED_ZONE_ID, "a Route 53 zone id"
        ),
        image_tag=_matching("parley:imageTag", parley.get("imageTag", ""), re.compile(r"^[\w][\w.-]{0,127}$"), "a tag"),
        vpc_cidr=vpc_cidr,
        sizing=_sizing(parley, PRESETS[environment]),
        secondary_region=secondary,
        secondary_vpc_cidr=secondary_cidr if secondary else None,
        alarm_email=_matching("parley:alarmEmail", parley["alarmEmail"], EMAIL, "an email address")
        if parley.get("alarmEmail")
        else None,
        replica_promoted=_boolean("parley:replicaPromoted", parley.get("replicaPromoted", "false")),
        profile=aws.get("profile") or None,
    )


def _sizing(parley: Mapping[str, str], preset: Sizing) -> Sizing:
    values = preset.__dict__.copy()
    for key, attribute in SIZING_OVERRIDES.items():
        given = parley.get(key, "")
        if given in ("", "0"):
            continue
        if isinstance(values[attribute], int):
            if not given.isdigit():
                fail(f"parley:{key}", f"{given!r} is not a whole number")
            values[attribute] = int(given)
        else:
            values[attribute] = given
    sizing = Sizing(**values)
    if sizing.availability_zones not in (2, 3):
        fail("parley:availabilityZones", f"must be 2 or 3, not {sizing.availability_zones}")
    if sizing.max_replicas < sizing.replicas:
        fail("parley:maxReplicas", f"{sizing.max_replicas} is below parley:replicas ({sizing.replicas})")
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


def _matching(key: str, value: str, pattern: re.Pattern[str], what: str) -> str:
    if not value:
        fail(key, f"is required: {what}")
    if not pattern.match(value):
        fail(key, f"{value!r} is not {what}")
    return value


def _boolean(key: str, value: str) -> bool:
    if value.lower() not in ("true", "false"):
        fail(key, f"{value!r} is not true or false")
    return value.lower() == "true"
