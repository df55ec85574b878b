"""`Region`: the whole service in one region, from the five building blocks: network (with its security
groups and endpoints), database, cache, compute and edge, plus alarms.

The primary region holds the writable database; the secondary region (prod) holds its cross-region replica
and an identical, running service behind its own load balancer, ready for DNS to fail over to."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_random as random

from infra.aws.alarms import Alarms, AlarmsArgs
from infra.aws.cache import REDIS_PORT, Cache, CacheArgs
from infra.aws.compute import APP_PORT, Service, ServiceArgs
from infra.aws.config import AwsConfig
from infra.aws.database import POSTGRES_PORT, Database, DatabaseArgs
from infra.aws.edge import LoadBalancer, LoadBalancerArgs
from infra.aws.network import Endpoints, EndpointsArgs, Network, NetworkArgs
from infra.aws.registry import Registry
from infra.aws.security import SecurityGroups, SecurityGroupsArgs, data_key, stored_secret
from infra.stack_config import APP_SETTINGS, Role


@dataclass(frozen=True)
class RegionArgs:
    """`secret_key` and `database_password` are generated once for the stack and shared by both regions
    (sessions survive a failover; the replica keeps its source's password). `replicate_from` is the primary
    database's ARN, given to the secondary region."""

    config: AwsConfig
    role: Role
    region: str
    vpc_cidr: ipaddress.IPv4Network
    registry: Registry
    secret_key: pulumi.Output[str]
    database_password: pulumi.Output[str]
    replicate_from: pulumi.Input[str] | None = None


class Region(pulumi.ComponentResource):
    network: Network
    database: Database
    load_balancer: LoadBalancer
    service: Service
    app_security_group_id: pulumi.Output[str]
    secret_arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: RegionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:aws:Region", name, None, opts)
        config, sizing = args.config, args.config.sizing
        child = pulumi.ResourceOptions(parent=self)
        recovery_days = 30 if sizing.protect else 7
        self.network = Network(
            f"{name}-net",
            NetworkArgs(
                region=args.region,
                cidr=args.vpc_cidr,
                availability_zones=sizing.availability_zones,
                nat_per_az=sizing.nat_per_az,
                flow_log_retention_days=sizing.log_retention_days,
            ),
            child,
        )
        groups = SecurityGroups(
            f"{name}-sg",
            SecurityGroupsArgs(
                vpc_id=self.network.vpc_id,
                app_port=APP_PORT,
                database_port=POSTGRES_PORT,
                cache_port=REDIS_PORT,
                interface_endpoints=sizing.interface_endpoints,
                s3_prefix_list_id=self.network.s3_prefix_list_id,
            ),
            child,
        )
        if groups.endpoints_id is not None:
            Endpoints(
                f"{name}-endpoints",
                EndpointsArgs(
                    region=args.region,
                    vpc_id=self.network.vpc_id,
                    subnet_ids=self.network.subnet_ids["private"],
                    security_group_id=groups.endpoints_id,
                ),
                child,
            )
        key = data_key(
            f"{name}-key",
            alias=f"alias/parley/{config.stack}/{args.role}",
            description=f"Parley {config.stack} {args.role}: database, cache and secrets",
            parent=self,
        )
        self.database = Database(
            f"{name}-db",
            DatabaseArgs(
                subnet_ids=self.network.subnet_ids["isolated"],
                security_group_id=groups.database_id,
                key=key,
                password=args.database_password,
                instance_class=sizing.db_instance_class,
                allocated_storage=sizing.db_allocated_storage,
                multi_az=sizing.db_multi_az,
                backup_days=sizing.db_backup_days,
                protect=sizing.protect,
                final_snapshot_identifier=f"parley-{config.stack}-{args.role}-final",
                recovery_window_days=recovery_days,
                replicate_from=args.replicate_from,
                promoted=config.replica_promoted,
            ),
            child,
        )
        # Each region's Redis is its own; only the database is replicated.
        auth_token = random.RandomPassword(f"{name}-cache-token", length=64, special=False, opts=child)
        cache = Cache(
            f"{name}-cache",
            CacheArgs(
                subnet_ids=self.network.subnet_ids["private"],
                security_group_id=groups.cache_id,
                key=key,
                auth_token=auth_token.result,
                node_type=sizing.cache_node_type,
                nodes=sizing.cache_nodes,
                recovery_window_days=recovery_days,
            ),
            child,
        )
        secret_key = stored_secret(
            f"{name}-secret-key",
            description="PARLEY_SECRET_KEY",
            value=args.secret_key,
            key=key,
            recovery_window_days=recovery_days,
            parent=self,
        )
        self.secret_arns = {
            "PARLEY_SECRET_KEY": secret_key.arn,
            "PARLEY_DATABASE_URL": self.database.url_secret_arn,
            "PARLEY_BUS_URL": cache.url_secret_arn,
        }
        self.load_balancer = LoadBalancer(
            f"{name}-lb",
            LoadBalancerArgs(
                region=args.region,
                vpc_id=self.network.vpc_id,
                subnet_ids=self.network.subnet_ids["public"],
                security_group_id=groups.alb_id,
                host=config.host,
                hosted_zone_id=config.hosted_zone_id,
                app_port=APP_PORT,
                protect=sizing.protect,
                log_retention_days=sizing.log_retention_days,
            ),
            child,
        )
        self.service = Service(
            f"{name}-app",
            ServiceArgs(
                region=args.region,
                family=f"parley-{config.stack}",
                image=pulumi.Output.concat(args.registry.url_in(args.region), ":", config.image_tag),
                repository_arn=args.registry.arn_in(args.region),
                subnet_ids=self.network.subnet_ids["private"],
                security_group_id=groups.app_id,
                target_group_arn=self.load_balancer.target_group_arn,
                request_count_label=self.load_balancer.request_count_label,
                secrets=self.secret_arns,
                key_arn=key.arn,
                cpu=sizing.task_cpu,
                memory=sizing.task_memory,
                replicas=sizing.replicas,
                max_replicas=sizing.max_replicas,
                log_retention_days=sizing.log_retention_days,
                settings=APP_SETTINGS,
                after=[self.load_balancer.https_listener],
            ),
            child,
        )
        Alarms(
            f"{name}-alarms",
            AlarmsArgs(
                load_balancer=self.load_balancer.arn_suffix,
                target_group=self.load_balancer.target_group_arn_suffix,
                cluster_name=self.service.cluster_name,
                service_name=self.service.service_name,
                database_identifier=self.database.identifier,
                database_storage_gib=sizing.db_allocated_storage,
                database_replica=args.replicate_from is not None and not config.replica_promoted,
                cache_node_ids=cache.node_ids,
                cache_nodes=sizing.cache_nodes,
                email=config.alarm_email,
            ),
            child,
        )
        self.app_security_group_id = groups.app_id
        self.register_outputs(
            {
                "alb_dns_name": self.load_balancer.dns_name,
                "cluster_name": self.service.cluster_name,
                "migration_task_definition_arn": self.service.migration_task_definition_arn,
                "private_subnet_ids": self.network.subnet_ids["private"],
                "app_security_group_id": self.app_security_group_id,
                "secret_arns": self.secret_arns,
            }
        )
