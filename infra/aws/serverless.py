"""`ParleyServerless`: Parley on AWS without servers (target `aws-serverless`). API Gateway holds the WebSockets
and calls a Lambda function per connect, disconnect and frame; an HTTP API serves the REST protocol from a
second function (FastAPI through Mangum); DynamoDB is the store. In prod the store's table is a global table
in two regions and each region runs its own APIs, functions and connections table.

The code comes from `parley package lambda --out build/lambda` (infra/lambda_package.py), which must run
before `pulumi up`. Every AWS resource is created through a provider per region whose default tags carry the
cost-allocation tags (infra/aws/tags.py). The JWT secret is generated here, stored in Secrets Manager in each
region (encrypted with the region's KMS key) and reaches the functions by ARN only.

Two regions run active-passive: global tables replicate asynchronously (last writer wins), so a room's seqs are
only allocated safely by one region at a time (app/store/dynamodb). Route 53 failover between the regions'
custom domains is not declared yet: clients are pointed at the primary region's URLs (the stack outputs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from infra.aws.config import region
from infra.aws.serverless_region import FunctionSizing, ServerlessRegion, ServerlessRegionArgs
from infra.aws.tags import cost_tags, regional_provider
from infra.lambda_package import ZIP_NAME
from infra.stack_config import (
    ENVIRONMENTS,
    Environment,
    StackConfig,
    fail,
    refuse_plaintext_secrets,
    refuse_unknown_keys,
)

APP_NAME = "parley"
COMPONENT_TYPE = "parley:aws:Serverless"
TARGET = "aws-serverless"
PACKAGE = Path(__file__).resolve().parents[2] / "build" / "lambda" / ZIP_NAME
# The `parley:` keys this target reads (Pulumi.yaml declares each).
SERVERLESS_KEYS = frozenset({"target", "environment", "secondaryRegion"})
# Reserved concurrency in prod keeps a flood on one API from starving the other (and caps DynamoDB's bill);
# it needs an account concurrency limit above 2 x 200 + 100 (the default is 1000).
PRESETS: dict[Environment, FunctionSizing] = {
    "dev": FunctionSizing(512, 10, 29, None, 14, 100, 50.0, protect=False),
    "staging": FunctionSizing(1024, 10, 29, None, 30, 500, 250.0, protect=True),
    "prod": FunctionSizing(1024, 10, 29, 200, 90, 5000, 2000.0, protect=True),
}


@dataclass(frozen=True)
class ServerlessConfig:
    stack: str
    environment: Environment
    region: str
    sizing: FunctionSizing
    secondary_region: str | None = None
    package: Path = PACKAGE
    profile: str | None = None

    @property
    def regions(self) -> list[str]:
        return [self.region] + ([self.secondary_region] if self.secondary_region else [])


def load_config(stack: StackConfig, stack_name: str) -> ServerlessConfig:
    """The stack's configuration, or a `pulumi.RunError` naming the first bad key."""
    refuse_plaintext_secrets(stack)
    refuse_unknown_keys(stack, target=TARGET, reads=SERVERLESS_KEYS)
    parley, aws_config = stack.namespace("parley"), stack.namespace("aws")
    environment = parley.get("environment") or "dev"
    if environment not in ENVIRONMENTS:
        fail("parley:environment", f"{environment!r} is not one of {', '.join(ENVIRONMENTS)}")
    primary = region("aws:region", aws_config.get("region", ""))
    secondary = region("parley:secondaryRegion", parley["secondaryRegion"]) if parley.get("secondaryRegion") else None
    if secondary == primary:
        fail("parley:secondaryRegion", f"must differ from aws:region ({primary})")
    if environment == "prod" and secondary is None:
        fail("parley:secondaryRegion", "is required in prod, whose store is a global table in two regions")
    return ServerlessConfig(
        stack=stack_name,
        environment=cast(Environment, environment),
        region=primary,
        sizing=PRESETS[cast(Environment, environment)],
        secondary_region=secondary,
        profile=aws_config.get("profile") or None,
    )


@dataclass(frozen=True)
class ParleyServerlessArgs:
    config: ServerlessConfig


class ParleyServerless(pulumi.ComponentResource):
    store_table: pulumi.Output[str]
    regions: dict[str, ServerlessRegion]

    def __init__(self, name: str, args: ParleyServerlessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        tags = cost_tags(config.environment)
        providers = {
            where: regional_provider(f"{name}-{where}", region=where, tags=tags, profile=config.profile, opts=child)
            for where in config.regions
        }
        in_region = {where: pulumi.ResourceOptions(parent=self, provider=p) for where, p in providers.items()}
        keys = {
            where: aws.kms.Key(
                f"{name}-{where}-key",
                description=f"Parley {config.stack}: tables and secret in {where}",
                enable_key_rotation=True,
                deletion_window_in_days=30 if config.sizing.protect else 7,
                opts=in_region[where],
            )
            for where in config.regions
        }
        store_table = self._store_table(name, config, keys, in_region[config.region])
        secret_key = random.RandomPassword(f"{name}-secret-key", length=64, special=False, opts=child)
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(provider=providers[config.region]))
        self.regions = {
            where: ServerlessRegion(
                f"{name}-{where}",
                ServerlessRegionArgs(
                    stack=config.stack,
                    environment=config.environment,
                    region=where,
                    account_id=identity.account_id,
                    store_table=f"{APP_NAME}-{config.stack}-store",
                    kms_key_arn=keys[where].arn,
                    secret_key=secret_key.result,
                    package=str(config.package),
                    sizing=config.sizing,
                ),
                pulumi.ResourceOptions(parent=self, providers=[providers[where]], depends_on=[store_table]),
            )
            for where in config.regions
        }
        self.store_table = store_table.name
        self.register_outputs(self.outputs())

    @staticmethod
    def _store_table(
        name: str, config: ServerlessConfig, keys: dict[str, aws.kms.Key], opts: pulumi.ResourceOptions
    ) -> aws.dynamodb.Table:
        """The store's one table (app/store/dynamodb), in the primary region, replicated to the secondary."""
        replicas = [
            aws.dynamodb.TableReplicaArgs(
                region_name=where, kms_key_arn=keys[where].arn, point_in_time_recovery=True, propagate_tags=True
            )
            for where in config.regions[1:]
        ]
        return aws.dynamodb.Table(
            f"{name}-store",
            name=f"{APP_NAME}-{config.stack}-store",
            billing_mode="PAY_PER_REQUEST",
            hash_key="pk",
            range_key="sk",
            attributes=[
                aws.dynamodb.TableAttributeArgs(name="pk", type="S"),
                aws.dynamodb.TableAttributeArgs(name="sk", type="S"),
            ],
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                enabled=True, kms_key_arn=keys[config.region].arn
            ),
            deletion_protection_enabled=config.sizing.protect,
            # Replicas need the table's stream; it costs nothing unread.
            stream_enabled=bool(replicas) or None,
            stream_view_type="NEW_AND_OLD_IMAGES" if replicas else None,
            replicas=replicas or None,
            opts=opts,
        )

    def outputs(self) -> dict[str, object]:
        """Addresses and names; never a secret's value."""
        return {
            "storeTable": self.store_table,
            "websocketUrls": {where: r.websocket_url for where, r in self.regions.items()},
            "httpUrls": {where: r.http_url for where, r in self.regions.items()},
            "connectionsTables": {where: r.connections_table for where, r in self.regions.items()},
        }


def deploy(config: pulumi.Config) -> None:
    """The `aws-serverless` target of `infra/__main__.py`; the whole stack configuration is checked first."""
    settings = load_config(StackConfig.current(), pulumi.get_stack())
    parley = ParleyServerless(APP_NAME, ParleyServerlessArgs(settings))
    for key, value in parley.outputs().items():
        pulumi.export(key, value)
