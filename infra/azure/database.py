"""`Database`: Azure Database for PostgreSQL Flexible Server 16 with private access only.

The server lives in the network's delegated database subnet and is named in a private DNS zone linked to
that network; public network access is disabled, and the server requires TLS 1.2 or later. The primary is
zone-redundant (a standby in another zone) and keeps geo-redundant backups where the preset says so.

In the secondary region the same component declares the cross-region read replica of the primary instead
(`replicate_from`). `promoted` records that it was promoted (docs/azure.md, runbook): it is then declared as
a standalone primary with a zone-redundant standby, and its creation settings (including geo-redundant
backup, which was off) are left as they were."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure

from infra.azure.network import private_zone

POSTGRES_PORT = 5432
DATABASE_NAME = "parley"
USERNAME = "parley"
# Server parameters: TLS only, and no protocol older than TLS 1.2.
PARAMETERS = {"require_secure_transport": "on", "ssl_min_protocol_version": "TLSv1.2"}


@dataclass(frozen=True)
class DatabaseArgs:
    """`server_name` is global (3-63 lower-case letters, digits and hyphens); `zone_name` the private DNS zone,
    ending in `.postgres.database.azure.com`; `password` the generated administrator password (a secret),
    which a replica inherits from its source and only uses to write its own URL."""

    resource_group_name: pulumi.Input[str]
    location: str
    server_name: pulumi.Input[str]
    zone_name: str
    subnet_id: pulumi.Input[str]
    vnet_id: pulumi.Input[str]
    password: pulumi.Input[str]
    sku: str
    tier: str
    storage_gb: int
    backup_days: int
    high_availability: bool
    geo_backup: bool
    tags: Mapping[str, str]
    replicate_from: pulumi.Input[str] | None = None
    promoted: bool = False


class Database(pulumi.ComponentResource):
    server_id: pulumi.Output[str]
    server_name: pulumi.Output[str]
    fqdn: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:azure:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        zone = private_zone(
            f"{name}-dns",
            zone=args.zone_name,
            resource_group_name=args.resource_group_name,
            vnet_ids=[args.vnet_id],
            tags=args.tags,
            parent=self,
        )
        primary_like = args.replicate_from is None or args.promoted
        server = azure.dbforpostgresql.Server(
            f"{name}-server",
            server_name=args.server_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            version="16",
            sku={"name": args.sku, "tier": args.tier},
            storage={"storage_size_gb": args.storage_gb, "auto_grow": "Enabled"},
            # A replica keeps no backups of its own and cannot have a standby until it is promoted. Geo-redundant
            # backup is chosen when a server is created and never changed after, so a promoted replica (created
            # without) keeps it off: asking for it would fail the update.
            backup={
                "backup_retention_days": args.backup_days,
                "geo_redundant_backup": "Enabled" if args.geo_backup and not args.replicate_from else "Disabled",
            }
            if primary_like
            else None,
            high_availability={"mode": "ZoneRedundant" if args.high_availability and primary_like else "Disabled"},
            availability_zone="1",
            network={
                "delegated_subnet_resource_id": args.subnet_id,
                "private_dns_zone_arm_resource_id": zone.id,
                "public_network_access": "Disabled",
            },
            auth_config={"password_auth": "Enabled", "active_directory_auth": "Disabled"},
            administrator_login=None if args.replicate_from else USERNAME,
            administrator_login_password=None if args.replicate_from else pulumi.Output.secret(args.password),
            create_mode="Replica" if args.replicate_from else None,
            source_server_resource_id=args.replicate_from,
            maintenance_window={"custom_window": "Enabled", "day_of_week": 0, "start_hour": 4, "start_minute": 0},
            tags=dict(args.tags),
            # A promoted replica keeps the settings it was created with; changing them would replace it.
            opts=pulumi.ResourceOptions(
                parent=self,
                ignore_changes=["createMode", "sourceServerResourceId"] if args.promoted else None,
            ),
        )
        previous: list[pulumi.Resource] = []
        for parameter, value in PARAMETERS.items():
            # One server parameter at a time: the server refuses concurrent updates.
            previous = [
                azure.dbforpostgresql.Configuration(
                    f"{name}-{parameter.replace('_', '-')}",
                    configuration_name=parameter,
                    server_name=server.name,
                    resource_group_name=args.resource_group_name,
                    value=value,
                    source="user-override",
                    opts=pulumi.ResourceOptions(parent=self, depends_on=previous),
                )
            ]
        if args.replicate_from is None:  # a replica gets the database from its source
            azure.dbforpostgresql.Database(
                f"{name}-parley",
                database_name=DATABASE_NAME,
                server_name=server.name,
                resource_group_name=args.resource_group_name,
                charset="UTF8",
                collation="en_US.utf8",
                opts=child,
            )
        self.server_id, self.server_name = server.id, server.name
        self.fqdn = server.fully_qualified_domain_name
        self.url = pulumi.Output.secret(
            pulumi.Output.all(self.fqdn, args.password).apply(
                lambda parts: (
                    f"postgresql+asyncpg://{USERNAME}:{parts[1]}@{parts[0]}:{POSTGRES_PORT}/{DATABASE_NAME}?ssl=require"
                )
            )
        )
        self.register_outputs({"server_id": self.server_id, "server_name": self.server_name, "fqdn": self.fqdn})
