"""Who may talk to whom: the network security groups of one region's subnets, as a least-privilege chain.

    apps --5432--> database subnet (PostgreSQL)        apps --6380 (TLS)--> endpoints subnet (Redis)
    database <--5432, 6432--> database (the zone-redundant standby; and, in prod, the peered region's server)

No rule admits Front Door: an external workload-profiles environment takes public requests on a public IP in
its managed resource group, not through this subnet, so an inbound NSG rule neither admits nor blocks them
(Microsoft documents that NSGs cannot lock down that ingress). The app refuses instead what did not pass
through Front Door (its `X-Azure-FDID` check, app/front_door.py; docs/azure.md, "Known limits").

Each group ends with a deny-all rule in both directions, so Azure's defaults (everything within the virtual
network, all of the internet outbound) never apply. What the Container Apps platform itself needs is allowed
by name: Azure Load Balancer's probes in, and out only to the Azure services it pulls images, tokens, logs and
secrets from. Rules are pure data here, so tests can read them without running the program."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

POSTGRES_PORTS = ("5432", "6432")  # the server, and its standby's replication (PgBouncer's port too)
REDIS_TLS_PORT = "6380"
HTTPS_PORT = "443"
# Where the apps subnet may open HTTPS: images (ACR; its image layers, which a Basic or Standard registry
# without dedicated data endpoints serves from Azure Storage; MCR behind Front Door's first-party range),
# managed identity tokens, logs and metrics, Key Vault secrets.
PLATFORM_SERVICES = (
    "AzureContainerRegistry",
    "Storage",
    "MicrosoftContainerRegistry",
    "AzureFrontDoor.FirstParty",
    "AzureActiveDirectory",
    "AzureMonitor",
    "AzureKeyVault",
)
DENY_PRIORITY = 4096
Tier = Literal["apps", "database", "endpoints"]


@dataclass(frozen=True)
class Rule:
    """One security rule; `source` and `destination` are a CIDR, a service tag or `*`."""

    name: str
    priority: int
    direction: Literal["Inbound", "Outbound"]
    access: Literal["Allow", "Deny"]
    protocol: Literal["Tcp", "*"]
    source: str
    destination: str
    ports: tuple[str, ...]

    def arm(self) -> dict[str, object]:
        """The rule as the NSG's `security_rules` entry (ports as a range list, any source port)."""
        return {
            "name": self.name,
            "priority": self.priority,
            "direction": self.direction,
            "access": self.access,
            "protocol": self.protocol,
            "source_address_prefix": self.source,
            "source_port_range": "*",
            "destination_address_prefix": self.destination,
            "destination_port_ranges": list(self.ports),
        }


@dataclass(frozen=True)
class SubnetRanges:
    """The ranges of one region's subnets; `peer_database` is the other region's database subnet (prod)."""

    apps: ipaddress.IPv4Network
    database: ipaddress.IPv4Network
    endpoints: ipaddress.IPv4Network
    peer_database: ipaddress.IPv4Network | None = None


def _deny_all() -> list[Rule]:
    return [
        Rule("deny-all-inbound", DENY_PRIORITY, "Inbound", "Deny", "*", "*", "*", ("*",)),
        Rule("deny-all-outbound", DENY_PRIORITY, "Outbound", "Deny", "*", "*", "*", ("*",)),
    ]


def apps_rules(ranges: SubnetRanges) -> list[Rule]:
    apps, database, endpoints = str(ranges.apps), str(ranges.database), str(ranges.endpoints)
    rules = [
        # The environment's load balancer probes its nodes on the Kubernetes node-port range.
        Rule("load-balancer-in", 110, "Inbound", "Allow", "Tcp", "AzureLoadBalancer", apps, ("30000-32767",)),
        Rule("apps-in", 120, "Inbound", "Allow", "*", apps, apps, ("*",)),
        Rule("database-out", 100, "Outbound", "Allow", "Tcp", apps, database, (POSTGRES_PORTS[0],)),
        Rule("redis-out", 110, "Outbound", "Allow", "Tcp", apps, endpoints, (REDIS_TLS_PORT,)),
        Rule("apps-out", 120, "Outbound", "Allow", "*", apps, apps, ("*",)),
    ]
    rules += [
        Rule(f"{tag.lower().replace('.', '-')}-out", 130 + 10 * index, "Outbound", "Allow", "Tcp", apps, tag,
             (HTTPS_PORT,))
        for index, tag in enumerate(PLATFORM_SERVICES)
    ]  # fmt: skip
    return rules + _deny_all()


def database_rules(ranges: SubnetRanges) -> list[Rule]:
    apps, database = str(ranges.apps), str(ranges.database)
    rules = [
        Rule("apps-in", 100, "Inbound", "Allow", "Tcp", apps, database, (POSTGRES_PORTS[0],)),
        Rule("standby-in", 110, "Inbound", "Allow", "Tcp", database, database, POSTGRES_PORTS),
        Rule("standby-out", 100, "Outbound", "Allow", "Tcp", database, database, POSTGRES_PORTS),
        # Write-ahead log archiving and backups go to Azure Storage.
        Rule("storage-out", 120, "Outbound", "Allow", "Tcp", database, "Storage", (HTTPS_PORT,)),
    ]
    if ranges.peer_database is not None:
        # The cross-region replica streams from the primary over the peering (both directions: after a
        # promotion and fail-back the roles swap).
        peer = str(ranges.peer_database)
        rules += [
            Rule("peer-in", 130, "Inbound", "Allow", "Tcp", peer, database, (POSTGRES_PORTS[0],)),
            Rule("peer-out", 130, "Outbound", "Allow", "Tcp", database, peer, (POSTGRES_PORTS[0],)),
        ]
    return rules + _deny_all()


def endpoints_rules(ranges: SubnetRanges) -> list[Rule]:
    rule = Rule("apps-in", 100, "Inbound", "Allow", "Tcp", str(ranges.apps), str(ranges.endpoints), (REDIS_TLS_PORT,))
    return [rule, *_deny_all()]


RULES = {"apps": apps_rules, "database": database_rules, "endpoints": endpoints_rules}
