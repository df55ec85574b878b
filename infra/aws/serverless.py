"""`ParleyServerless`: Parley on AWS without servers (target `aws-serverless`). API Gateway holds the WebSockets
and calls a Lambda function per connect, disconnect and frame; an HTTP API serves the REST protocol from a
second function (FastAPI through Mangum); DynamoDB is the store. In prod the store's table is a global table
in two regions and each region runs its own APIs, functions and connections table.

The code comes from `parley package lambda --out build/lambda` (infra/lambda_package.py), which must run
before `pulumi up`. Every AWS resource is created through a provider per region whose default tags carry the
cost-allocation tags (infra/aws/tags.py). The JWT secret is generated here, stored in Secrets Manager in each
region (encrypted with the region's KMS key) and reaches the functions by ARN only.

With `host` and `hostedZoneId` each region serves `host` (REST) and `ws.<host>` (WebSocket) on API Gateway
custom domains with the region's own ACM certificate, and Route 53 answers both names: with a secondary region
as PRIMARY/SECONDARY failover records, each region's records tied to a health check of that region's
`/readyz` (which reads its tables). Global tables accept writes in every region, but a room's seqs are only
allocated safely by one region at a time (conditional writes are exclusive within a region; replication is
asynchronous, last writer wins: app/store/dynamodb), so the failover records send all traffic to one region.
Connections live in one region's API: on a failover clients reconnect to the other region and `sync`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from infra.aws.config import HOSTED_ZONE_ID, region
from infra.aws.dns import (
    ApiDomain,
    ApiDomains,
    ApiDomainsArgs,
    Certificates,
    CertificatesArgs,
    PublicName,
    PublicNameArgs,
)
from infra.aws.serverless_region import HTTP_STAGE, FunctionSizing, ServerlessRegion, ServerlessRegionArgs
from infra.aws.tags import cost_tags, regional_provider
from infra.lambda_package import ZIP_NAME
from infra.stack_config import HOST_NAME, Environment, StackConfig, begin, deploy_target, fail, matching, regions

APP_NAME = "parley"
COMPONENT_TYPE = "parley:aws:Serverless"
TARGET = "aws-serverless"
PACKAGE = Path(__file__).resolve().parents[2] / "build" / "lambda" / ZIP_NAME
# The `parley:` keys this target reads (Pulumi.yaml declares each).
SERVERLESS_KEYS = frozenset({"target", "environment", "secondaryRegion", "host", "hostedZoneId"})
WEBSOCKET_HOST_PREFIX = "ws."
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
    host: str | None = None
    hosted_zone_id: str | None = None
    package: Path = PACKAGE
    profile: str | None = None

    @property
    def regions(self) -> list[str]:
        return [self.region] + ([self.secondary_region] if self.secondary_region else [])

    @property
    def hosts(self) -> dict[str, str]:
        """The public names by API (`http` serves REST, `websocket` the WebSocket protocol); none without a host."""
        return {"http": self.host, "websocket": f"{WEBSOCKET_HOST_PREFIX}{self.host}"} if self.host else {}

    @property
    def websocket_url(self) -> str | None:
        """The WebSocket address clients use when the stack has a host (in every region: Route 53 picks the
        region); None without one, when each region's stage URL is the only address."""
        return f"wss://{self.hosts['websocket']}" if self.host else None


def load_config(stack: StackConfig, stack_name: str) -> ServerlessConfig:
    """The stack's configuration, or a `pulumi.RunError` naming the first bad key."""
    parley, environment = begin(stack, target=TARGET, reads=SERVERLESS_KEYS)
    primary, secondary = regions(
        stack,
        environment=environment,
        primary_key="aws:region",
        check=region,
        why_in_prod="whose store is a global table in two regions",
    )
    host, zone = _public_name(parley, failover=secondary is not None)
    return ServerlessConfig(
        stack=stack_name,
        environment=environment,
        region=primary,
        sizing=PRESETS[environment],
        secondary_region=secondary,
        host=host,
        hosted_zone_id=zone,
        profile=stack.values.get("aws:profile") or None,
    )


def _public_name(parley: dict[str, str], *, failover: bool) -> tuple[str | None, str | None]:
    """`host` and `hostedZoneId`: both or neither, and both when Route 53 must fail over between regions."""
    host, zone = parley.get("host", ""), parley.get("hostedZoneId", "")
    if not host and not zone and not failover:
        return None, None
    why = "with parley:secondaryRegion, Route 53 fails the API names over between the regions"
    if not host:
        fail("parley:host", f"is required {why}" if failover else "is required with parley:hostedZoneId")
    if not zone:
        fail("parley:hostedZoneId", f"is required {why}" if failover else "is required with parley:host")
    return (
        matching("parley:host", host, HOST_NAME, "a lower-case DNS name"),
        matching("parley:hostedZoneId", zone, HOSTED_ZONE_ID, "a Route 53 zone id"),
    )


@dataclass(frozen=True)
class ParleyServerlessArgs:
    config: ServerlessConfig


class ParleyServerless(pulumi.ComponentResource):
    store_table: pulumi.Output[str]
    regions: dict[str, ServerlessRegion]
    health_check_ids: dict[str, pulumi.Output[str]]

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
                    public_websocket_url=config.websocket_url,
                ),
                pulumi.ResourceOptions(parent=self, providers=[providers[where]], depends_on=[store_table]),
            )
            for where in config.regions
        }
        self.store_table = store_table.name
        self._config = config
        self.health_check_ids = self._public_names(name, config, providers) if config.hosted_zone_id else {}
        self.register_outputs(self.outputs())

    def _public_names(
        self, name: str, config: ServerlessConfig, providers: dict[str, aws.Provider]
    ) -> dict[str, pulumi.Output[str]]:
        """Each region's custom domains on its certificate, and a Route 53 name per API over them: failover
        records with a health check per region when there are two. The health checks' ids, by region."""
        zone, hosts, failover = str(config.hosted_zone_id), config.hosts, config.secondary_region is not None
        certificates = Certificates(
            f"{name}-certificates",
            CertificatesArgs(hosts=tuple(hosts.values()), hosted_zone_id=zone, providers=providers),
            pulumi.ResourceOptions(parent=self),
        )
        domains = {
            where: ApiDomains(
                f"{name}-{where}-domains",
                ApiDomainsArgs(
                    region=where,
                    certificate_arn=certificates.arns[where],
                    domains={
                        "http": ApiDomain(hosts["http"], region.http_api_id, HTTP_STAGE),
                        "websocket": ApiDomain(hosts["websocket"], region.websocket_api_id, region.websocket_stage),
                    },
                    health_host=region.http_host if failover else None,
                ),
                pulumi.ResourceOptions(parent=region, providers=[providers[where]]),
            )
            for where, region in self.regions.items()
        }
        for label, host in hosts.items():
            primary, *secondary = [domains[where].targets[label] for where in config.regions]
            PublicName(
                f"{name}-{label}-dns",
                PublicNameArgs(host=host, hosted_zone_id=zone, primary=primary, secondary=next(iter(secondary), None)),
                pulumi.ResourceOptions(parent=self, providers=[providers[config.region]]),
            )
        return {where: d.health_check_id for where, d in domains.items() if d.health_check_id is not None}

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
            "ratelimitTables": {where: r.ratelimit_table for where, r in self.regions.items()},
            **self._public_outputs(),
        }

    def _public_outputs(self) -> dict[str, object]:
        """The names clients use, when the stack has them, and the checks to invert for a manual failover."""
        hosts = self._config.hosts
        if not hosts:
            return {}
        return {
            "url": f"https://{hosts['http']}",
            "websocketUrl": self._config.websocket_url,
            "healthCheckIds": self.health_check_ids,
        }


def deploy(config: pulumi.Config) -> None:
    """The `aws-serverless` target of `infra/__main__.py`."""
    deploy_target(load_config, lambda settings: ParleyServerless(APP_NAME, ParleyServerlessArgs(settings)))
