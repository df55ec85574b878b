"""`ParleyAws`: Parley on AWS as containers (target `aws`): ECS Fargate behind an ALB, RDS for PostgreSQL,
ElastiCache for Redis, in one region or, in prod, two with DNS failover. docs/aws.md tells how to deploy
and operate it.

Every AWS resource is created through an explicit provider per region (tags.py), so each carries the
cost-allocation tags. The secrets are generated here (`random`), kept in Secrets Manager, and never appear
in configuration or outputs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pulumi
import pulumi_random as random

from infra.aws.config import AwsConfig, load
from infra.aws.dns import AliasTarget, PublicName, PublicNameArgs
from infra.aws.region import Region, RegionArgs
from infra.aws.registry import Registry, RegistryArgs
from infra.aws.tags import cost_tags, regional_provider
from infra.stack_config import deploy_target

APP_NAME = "parley"
COMPONENT_TYPE = "parley:aws:Parley"


@dataclass(frozen=True)
class ParleyAwsArgs:
    config: AwsConfig


class ParleyAws(pulumi.ComponentResource):
    url: pulumi.Output[str]
    health_check_id: pulumi.Output[str] | None
    ecr_repository_url: pulumi.Output[str]
    regions: dict[str, Region]

    def __init__(self, name: str, args: ParleyAwsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        tags = cost_tags(config.environment)
        in_region = {
            region: pulumi.ResourceOptions(
                parent=self,
                providers=[
                    regional_provider(f"{name}-{region}", region=region, tags=tags, profile=config.profile, opts=child)
                ],
            )
            for region in config.regions
        }
        secret_key = random.RandomPassword(f"{name}-secret-key", length=64, special=False, opts=child)
        database_password = random.RandomPassword(f"{name}-db-password", length=40, special=False, opts=child)
        registry = Registry(
            f"{name}-ecr",
            RegistryArgs(
                repository_name=f"{APP_NAME}/{config.stack}",
                region=config.region,
                replicate_to=[config.secondary_region] if config.secondary_region else [],
                force_delete=not config.sizing.protect,
            ),
            in_region[config.region],
        )
        primary_args = RegionArgs(
            config=config,
            role="primary",
            region=config.region,
            vpc_cidr=config.vpc_cidr,
            registry=registry,
            secret_key=secret_key.result,
            database_password=database_password.result,
        )
        primary = Region(f"{name}-primary", primary_args, in_region[config.region])
        self.regions = {config.region: primary}
        secondary_target = None
        if config.secondary_region and config.secondary_vpc_cidr:
            secondary = Region(
                f"{name}-secondary",
                dataclasses.replace(
                    primary_args,
                    role="secondary",
                    region=config.secondary_region,
                    vpc_cidr=config.secondary_vpc_cidr,
                    replicate_from=primary.database.arn,
                ),
                in_region[config.secondary_region],
            )
            self.regions[config.secondary_region] = secondary
            secondary_target = AliasTarget(secondary.load_balancer.dns_name, secondary.load_balancer.zone_id)
        public_name = PublicName(
            f"{name}-dns",
            PublicNameArgs(
                host=config.host,
                hosted_zone_id=config.hosted_zone_id,
                primary=AliasTarget(primary.load_balancer.dns_name, primary.load_balancer.zone_id),
                secondary=secondary_target,
            ),
            in_region[config.region],
        )
        self.url = public_name.url
        self.health_check_id = public_name.health_check_id
        self.ecr_repository_url = registry.repository_url
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, object]:
        """The stack outputs: addresses, names and ARNs; never a secret's value."""
        primary = next(iter(self.regions.values()))
        return {
            "url": self.url,
            "ecrRepositoryUrl": self.ecr_repository_url,
            "albDnsNames": {region: r.load_balancer.dns_name for region, r in self.regions.items()},
            "clusterNames": {region: r.service.cluster_name for region, r in self.regions.items()},
            "secretArns": {region: r.secret_arns for region, r in self.regions.items()},
            "databaseIdentifiers": {region: r.database.identifier for region, r in self.regions.items()},
            # The failover health check (prod); inverting it forces DNS to the secondary (docs/aws.md).
            "healthCheckId": self.health_check_id,
            # What `aws ecs run-task` needs for the migration (docs/aws.md).
            "migration": {
                "cluster": primary.service.cluster_name,
                "taskDefinition": primary.service.migration_task_definition_arn,
                "subnets": primary.network.subnet_ids["private"],
                "securityGroup": primary.app_security_group_id,
            },
        }


def deploy(config: pulumi.Config) -> None:
    """The `aws` target of `infra/__main__.py`."""
    deploy_target(load, lambda settings: ParleyAws(APP_NAME, ParleyAwsArgs(settings)))
