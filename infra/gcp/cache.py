"""`Cache`: Memorystore for Redis 7.2 on a private address in the services range, with AUTH and in-transit
encryption, and two Secret Manager secrets: the app's full PARLEY_BUS_URL and the instance's server CA.

Memorystore signs its TLS certificate with a CA of its own, per instance, which no system trust store holds.
Cloud Run mounts the CA secret as a file and the URL tells redis-py to verify against it
(`ssl_ca_certs`). Host-name checking is off because Memorystore's certificate names no host the client
dials; a certificate from this instance's own CA is the proof of identity."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra.gcp.secrets import StoredSecret, stored_secret

# With in-transit encryption Memorystore serves TLS on 6378, not 6379.
REDIS_TLS_PORT = 6378
CA_DIRECTORY = "/etc/parley/redis-ca"
CA_FILE = "ca.pem"


@dataclass(frozen=True)
class CacheArgs:
    """`services_range` is the name of the Private Service Access range the instance takes its address
    from. `tier` is BASIC (one node) or STANDARD_HA (a replica in another zone, automatic failover)."""

    region: str
    network_id: pulumi.Input[str]
    services_range: pulumi.Input[str]
    services_connection: pulumi.Resource
    tier: str
    memory_gb: int
    protect: bool
    secret_prefix: str
    reader: pulumi.Input[str]


class Cache(pulumi.ComponentResource):
    host: pulumi.Output[str]
    url_secret: StoredSecret
    ca_secret: StoredSecret

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:gcp:Cache", name, None, opts)
        instance = gcp.redis.Instance(
            f"{name}-redis",
            region=args.region,
            tier=args.tier,
            memory_size_gb=args.memory_gb,
            redis_version="REDIS_7_2",
            connect_mode="PRIVATE_SERVICE_ACCESS",
            authorized_network=args.network_id,
            reserved_ip_range=args.services_range,
            auth_enabled=True,
            transit_encryption_mode="SERVER_AUTHENTICATION",
            maintenance_policy={
                "weekly_maintenance_windows": [{"day": "SUNDAY", "start_time": {"hours": 4, "minutes": 0}}]
            },
            deletion_protection=args.protect,
            display_name=f"Parley bus ({args.region})",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.services_connection]),
        )
        url = pulumi.Output.all(instance.auth_string, instance.host, instance.port).apply(
            lambda parts: (
                f"rediss://:{parts[0]}@{parts[1]}:{parts[2]}/0"
                f"?ssl_ca_certs={CA_DIRECTORY}/{CA_FILE}&ssl_check_hostname=false"
            )
        )
        self.url_secret = stored_secret(
            f"{name}-url",
            secret_id=f"{args.secret_prefix}-bus-url",
            value=url,
            regions=[args.region],
            reader=args.reader,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.ca_secret = stored_secret(
            f"{name}-ca",
            secret_id=f"{args.secret_prefix}-redis-ca",
            value=instance.server_ca_certs.apply(_first_cert),
            regions=[args.region],
            reader=args.reader,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.host = instance.host
        self.register_outputs({"host": self.host, "url_secret": self.url_secret.name, "ca_secret": self.ca_secret.name})


def _first_cert(certs: list[object] | None) -> str:
    """The current CA (the list also holds the next one during a rotation). The SDK gives typed objects, a
    run under mocks may give plain dicts."""
    if not certs:
        return ""
    first = certs[0]
    return str(first["cert"] if isinstance(first, dict) else first.cert)
