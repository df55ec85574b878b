"""`Database`: Cloud SQL for PostgreSQL 16 on a private address only, and the Secret Manager secret holding
the app's full PARLEY_DATABASE_URL.

In the secondary region the same component declares the cross-region read replica of the primary instead
(`replicate_from`); its URL secret names the replica, which becomes the writer once promoted (docs/gcp.md,
runbook). `promoted` records that promotion, so a later `pulumi up` keeps it a standalone instance with
backups of its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra.gcp.secrets import StoredSecret, stored_secret

POSTGRES_PORT = 5432
DATABASE_NAME = "parley"
USERNAME = "parley"


@dataclass(frozen=True)
class DatabaseArgs:
    """`password` is the generated password of the `parley` user (a secret output); a replica inherits the
    users of its source and only uses it to write its own URL secret. `labels` are the cost labels: Cloud SQL
    keeps them in `settings.user_labels`, out of reach of the provider's `default_labels`."""

    region: str
    network_id: pulumi.Input[str]
    services_connection: pulumi.Resource
    password: pulumi.Input[str]
    tier: str
    disk_gb: int
    regional: bool
    backup_days: int
    point_in_time_recovery: bool
    protect: bool
    labels: Mapping[str, str]
    secret_id: str
    reader: pulumi.Input[str]
    replicate_from: pulumi.Input[str] | None = None
    promoted: bool = False


class Database(pulumi.ComponentResource):
    name: pulumi.Output[str]
    connection_name: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    url_secret: StoredSecret

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:gcp:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        replica = args.replicate_from is not None and not args.promoted
        instance = gcp.sql.DatabaseInstance(
            f"{name}-postgres",
            region=args.region,
            database_version="POSTGRES_16",
            master_instance_name=args.replicate_from if replica else None,
            settings=_settings(args, replica=replica),
            deletion_protection=args.protect,
            # The private address comes from the services range, which exists once the peering does.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.services_connection]),
        )
        if args.replicate_from is None:
            database = gcp.sql.Database(f"{name}-parley", instance=instance.name, name=DATABASE_NAME, opts=child)
            gcp.sql.User(
                f"{name}-user",
                instance=instance.name,
                name=USERNAME,
                password=pulumi.Output.secret(args.password),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[database]),
            )
        # ssl_mode ENCRYPTED_ONLY refuses clients without TLS; asyncpg is told to use it too.
        url = pulumi.Output.all(instance.private_ip_address, args.password).apply(
            lambda parts: (
                f"postgresql+asyncpg://{USERNAME}:{parts[1]}@{parts[0]}:{POSTGRES_PORT}/{DATABASE_NAME}?ssl=require"
            )
        )
        self.url_secret = stored_secret(
            f"{name}-url",
            secret_id=args.secret_id,
            value=url,
            regions=[args.region],
            reader=args.reader,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name, self.connection_name = instance.name, instance.connection_name
        self.private_ip = instance.private_ip_address
        self.register_outputs(
            {
                "name": self.name,
                "connection_name": self.connection_name,
                "private_ip": self.private_ip,
                "url_secret": self.url_secret.name,
            }
        )


def _settings(args: DatabaseArgs, *, replica: bool) -> dict[str, object]:
    """A replica cannot keep backups of its own (its source does); once promoted it takes the primary's."""
    backups = not replica
    return {
        "tier": args.tier,
        # PostgreSQL 16 defaults to Enterprise Plus, which only runs on db-perf-optimized tiers.
        "edition": "ENTERPRISE",
        "availability_type": "REGIONAL" if args.regional else "ZONAL",
        "disk_type": "PD_SSD",
        "disk_size": args.disk_gb,
        "disk_autoresize": True,
        "deletion_protection_enabled": args.protect,
        "user_labels": dict(args.labels),
        "ip_configuration": {
            "ipv4_enabled": False,
            "private_network": args.network_id,
            "ssl_mode": "ENCRYPTED_ONLY",
        },
        "backup_configuration": {
            "enabled": backups,
            "start_time": "03:00",
            "point_in_time_recovery_enabled": backups and args.point_in_time_recovery,
            "transaction_log_retention_days": min(args.backup_days, 7) if backups else None,
            "backup_retention_settings": {"retained_backups": args.backup_days, "retention_unit": "COUNT"}
            if backups
            else None,
        },
        "maintenance_window": {"day": 7, "hour": 4, "update_track": "stable"},
        "insights_config": {"query_insights_enabled": True, "record_application_tags": False},
        "database_flags": [{"name": "log_min_duration_statement", "value": "1000"}],
    }
