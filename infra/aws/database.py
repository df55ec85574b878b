"""`Database`: RDS for PostgreSQL 16 in the isolated subnets, encrypted with the region's KMS key, and a
Secrets Manager secret holding the app's full PARLEY_DATABASE_URL.

In the secondary region the same component declares the cross-region read replica of the primary instead
(`replicate_from`); its URL secret names the replica, which becomes the writer once promoted (docs/aws.md,
runbook). `promoted` records that promotion, so a later `pulumi up` keeps it a standalone instance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.aws.security import stored_secret

POSTGRES_PORT = 5432
DATABASE_NAME = "parley"
USERNAME = "parley"


@dataclass(frozen=True)
class DatabaseArgs:
    """`password` is the generated master password (a secret output); a replica inherits it from its source
    and only uses it to write its own URL secret. `final_snapshot_identifier` (with `protect`) must be unique
    in the account and region."""

    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    key: aws.kms.Key
    password: pulumi.Input[str]
    instance_class: str
    allocated_storage: int
    multi_az: bool
    backup_days: int
    protect: bool
    final_snapshot_identifier: str
    recovery_window_days: int
    replicate_from: pulumi.Input[str] | None = None
    promoted: bool = False


class Database(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    identifier: pulumi.Output[str]
    address: pulumi.Output[str]
    url_secret_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:aws:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=list(args.subnet_ids),
            description="Parley PostgreSQL: the isolated subnets",
            opts=child,
        )
        # A replica takes its engine, database, user and password from its source.
        replica = args.replicate_from is not None
        instance = aws.rds.Instance(
            f"{name}-postgres",
            instance_class=args.instance_class,
            engine=None if replica else "postgres",
            engine_version=None if replica else "16",
            db_name=None if replica else DATABASE_NAME,
            username=None if replica else USERNAME,
            password=None if replica else pulumi.Output.secret(args.password),
            allocated_storage=args.allocated_storage,
            max_allocated_storage=args.allocated_storage * 4,  # storage autoscaling before the disk fills
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=args.key.arn,
            replicate_source_db=None if args.promoted else args.replicate_from,
            port=POSTGRES_PORT,
            multi_az=args.multi_az,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[args.security_group_id],
            publicly_accessible=False,
            backup_retention_period=args.backup_days,
            backup_window="03:00-03:30",
            maintenance_window="sun:04:00-sun:05:00",
            copy_tags_to_snapshot=True,
            deletion_protection=args.protect,
            skip_final_snapshot=not args.protect,
            final_snapshot_identifier=args.final_snapshot_identifier if args.protect else None,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=args.key.arn,
            performance_insights_retention_period=7,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            auto_minor_version_upgrade=True,
            apply_immediately=False,
            opts=child,
        )
        # The default parameter group of PostgreSQL 16 sets rds.force_ssl; asyncpg is told to use TLS too.
        url = pulumi.Output.all(instance.address, instance.port, args.password).apply(
            lambda parts: (
                f"postgresql+asyncpg://{USERNAME}:{parts[2]}@{parts[0]}:{parts[1]}/{DATABASE_NAME}?ssl=require"
            )
        )
        secret = stored_secret(
            f"{name}-url",
            description="PARLEY_DATABASE_URL" + (" (the cross-region replica)" if replica else ""),
            value=url,
            key=args.key,
            recovery_window_days=args.recovery_window_days,
            parent=self,
        )
        self.arn, self.identifier, self.address = instance.arn, instance.identifier, instance.address
        self.url_secret_arn = secret.arn
        self.register_outputs(
            {
                "arn": self.arn,
                "identifier": self.identifier,
                "address": self.address,
                "url_secret_arn": self.url_secret_arn,
            }
        )
