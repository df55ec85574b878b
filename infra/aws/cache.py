"""`Cache`: ElastiCache for Redis carrying Parley's live events, presence and rate limits between tasks,
and a Secrets Manager secret holding the app's PARLEY_BUS_URL.

TLS is required in transit, data is encrypted at rest with the region's KMS key, and clients authenticate
with a generated token. With two or more nodes a replica in another zone takes over automatically. There are
no snapshots: the bus is best effort and the database is the truth (a client's `sync` closes any gap)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.aws.security import stored_secret

REDIS_PORT = 6379


@dataclass(frozen=True)
class CacheArgs:
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    key: aws.kms.Key
    auth_token: pulumi.Input[str]
    node_type: str
    nodes: int
    recovery_window_days: int


class Cache(pulumi.ComponentResource):
    replication_group_id: pulumi.Output[str]
    node_ids: pulumi.Output[list[str]]
    url_secret_arn: pulumi.Output[str]

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:aws:Cache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        subnets = aws.elasticache.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=list(args.subnet_ids),
            description="Parley Redis: the private subnets",
            opts=child,
        )
        failover = args.nodes > 1
        group = aws.elasticache.ReplicationGroup(
            f"{name}-redis",
            description="Parley live events, presence and rate limits",
            engine="redis",
            engine_version="7.1",
            parameter_group_name="default.redis7",
            node_type=args.node_type,
            num_cache_clusters=args.nodes,
            port=REDIS_PORT,
            subnet_group_name=subnets.name,
            security_group_ids=[args.security_group_id],
            at_rest_encryption_enabled=True,
            kms_key_id=args.key.arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=pulumi.Output.secret(args.auth_token),
            auth_token_update_strategy="ROTATE",
            automatic_failover_enabled=failover,
            multi_az_enabled=failover,
            snapshot_retention_limit=0,
            maintenance_window="sun:05:00-sun:06:00",
            auto_minor_version_upgrade=True,
            apply_immediately=False,
            opts=child,
        )
        url = pulumi.Output.all(group.primary_endpoint_address, args.auth_token).apply(
            lambda parts: f"rediss://:{parts[1]}@{parts[0]}:{REDIS_PORT}/0"
        )
        secret = stored_secret(
            f"{name}-url",
            description="PARLEY_BUS_URL",
            value=url,
            key=args.key,
            recovery_window_days=args.recovery_window_days,
            parent=self,
        )
        self.replication_group_id = group.id
        # ElastiCache names a replication group's nodes <group>-001, -002, ...
        self.node_ids = group.id.apply(lambda group_id: [f"{group_id}-{n:03d}" for n in range(1, args.nodes + 1)])
        self.url_secret_arn = secret.arn
        self.register_outputs(
            {
                "replication_group_id": self.replication_group_id,
                "node_ids": self.node_ids,
                "url_secret_arn": self.url_secret_arn,
            }
        )
