"""`Region`: the regional building blocks of Parley on GCP: database, cache and compute. The network (a GCP VPC
is global) and the edge (one global load balancer) are the stack's, in app.py.

The primary region holds the writable Cloud SQL instance; the secondary region (prod) holds its cross-region
replica and an identical, running Cloud Run service with its own Memorystore, behind the same load
balancer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from infra.gcp.cache import REDIS_TLS_PORT, Cache, CacheArgs
from infra.gcp.compute import Service, ServiceArgs
from infra.gcp.config import GcpConfig
from infra.gcp.database import POSTGRES_PORT, Database, DatabaseArgs
from infra.gcp.network import Network
from infra.gcp.secrets import StoredSecret
from infra.stack_config import APP_SETTINGS, Role

APP_TAG = "parley-app"
DATASTORE_PORTS = (POSTGRES_PORT, REDIS_TLS_PORT)


@dataclass(frozen=True)
class RegionArgs:
    """`secret_key` is the stack's one PARLEY_SECRET_KEY secret, replicated to every region (sessions survive
    a failover); `database_password` is shared too (the replica keeps its source's users). `replicate_from`
    is the primary Cloud SQL instance's name, given to the secondary region."""

    config: GcpConfig
    role: Role
    region: str
    network: Network
    service_account: pulumi.Input[str]
    reader: pulumi.Input[str]
    image: pulumi.Input[str]
    secret_key: StoredSecret
    database_password: pulumi.Output[str]
    labels: Mapping[str, str]
    replicate_from: pulumi.Input[str] | None = None


class Region(pulumi.ComponentResource):
    database: Database
    cache: Cache
    service: Service
    secret_names: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: RegionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:gcp:Region", name, None, opts)
        config, sizing = args.config, args.config.sizing
        child = pulumi.ResourceOptions(parent=self)
        prefix = f"parley-{config.stack}-{args.role}"
        self.database = Database(
            f"{name}-db",
            DatabaseArgs(
                region=args.region,
                network_id=args.network.network_id,
                services_connection=args.network.services_connection,
                password=args.database_password,
                tier=sizing.db_tier,
                disk_gb=sizing.db_disk_gb,
                regional=sizing.db_regional,
                backup_days=sizing.db_backup_days,
                point_in_time_recovery=sizing.db_point_in_time_recovery,
                protect=sizing.protect,
                labels=args.labels,
                secret_id=f"{prefix}-database-url",
                reader=args.reader,
                replicate_from=args.replicate_from,
                promoted=config.replica_promoted,
            ),
            child,
        )
        # Each region's Redis is its own; only the database is replicated.
        self.cache = Cache(
            f"{name}-cache",
            CacheArgs(
                region=args.region,
                network_id=args.network.network_id,
                services_range=args.network.services_range_name,
                services_connection=args.network.services_connection,
                tier=sizing.cache_tier,
                memory_gb=sizing.cache_memory_gb,
                protect=sizing.protect,
                secret_prefix=prefix,
                reader=args.reader,
            ),
            child,
        )
        secrets = {
            "PARLEY_SECRET_KEY": args.secret_key,
            "PARLEY_DATABASE_URL": self.database.url_secret,
            "PARLEY_BUS_URL": self.cache.url_secret,
        }
        self.service = Service(
            f"{name}-app",
            ServiceArgs(
                region=args.region,
                service_name=f"parley-{config.stack}",
                image=args.image,
                service_account=args.service_account,
                network_id=args.network.network_id,
                subnet_id=args.network.subnet_ids[args.region],
                network_tag=APP_TAG,
                secrets=secrets,
                redis_ca=self.cache.ca_secret,
                settings=APP_SETTINGS,
                cpu=sizing.cpu,
                memory=sizing.memory,
                concurrency=sizing.concurrency,
                replicas=sizing.replicas,
                max_replicas=sizing.max_replicas,
                load_balancer_only=sizing.ingress_from_load_balancer_only,
                protect=sizing.protect,
                migration=args.role == "primary",
            ),
            child,
        )
        self.secret_names = {key: secret.name for key, secret in secrets.items()}
        self.register_outputs(
            {
                "database": self.database.name,
                "service": self.service.service_name,
                "uri": self.service.uri,
                "secret_names": self.secret_names,
            }
        )
