"""`Network`: one region's virtual network, in three delegated or dedicated subnets, each behind its own
network security group (rules: security.py).

- apps: the Container Apps environment (delegated to `Microsoft.App/environments`); a Key Vault service
  endpoint, so the vault's firewall can admit this subnet alone.
- database: PostgreSQL Flexible Server (delegated to `Microsoft.DBforPostgreSQL/flexibleServers`).
- endpoints: private endpoints (Redis), with network policies on so the NSG applies to them.

The range is cut in four equal blocks (the fourth is spare, for growth without renumbering). Also here: a
private DNS zone linked to the network, and the global peering of two regions' networks."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure

from infra.azure.security import RULES, SubnetRanges, Tier

DELEGATIONS: dict[Tier, str | None] = {
    "apps": "Microsoft.App/environments",
    "database": "Microsoft.DBforPostgreSQL/flexibleServers",
    "endpoints": None,
}
TIERS: tuple[Tier, ...] = ("apps", "database", "endpoints")


def subnet_ranges(cidr: ipaddress.IPv4Network, peer: ipaddress.IPv4Network | None = None) -> SubnetRanges:
    """The subnets of `cidr` (and the database subnet of the peered region's `peer` range)."""
    apps, database, endpoints, _spare = cidr.subnets(prefixlen_diff=2)
    peer_database = list(peer.subnets(prefixlen_diff=2))[1] if peer else None
    return SubnetRanges(apps, database, endpoints, peer_database)


@dataclass(frozen=True)
class NetworkArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    cidr: ipaddress.IPv4Network
    tags: Mapping[str, str]
    peer_cidr: ipaddress.IPv4Network | None = None


class Network(pulumi.ComponentResource):
    vnet_id: pulumi.Output[str]
    vnet_name: pulumi.Output[str]
    subnet_ids: dict[Tier, pulumi.Output[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:azure:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ranges = subnet_ranges(args.cidr, args.peer_cidr)
        vnet = azure.network.VirtualNetwork(
            f"{name}-vnet",
            resource_group_name=args.resource_group_name,
            location=args.location,
            address_space={"address_prefixes": [str(args.cidr)]},
            tags=dict(args.tags),
            opts=child,
        )
        self.subnet_ids = {}
        previous: list[pulumi.Resource] = []
        for tier in TIERS:
            group = azure.network.NetworkSecurityGroup(
                f"{name}-{tier}-nsg",
                resource_group_name=args.resource_group_name,
                location=args.location,
                security_rules=[rule.arm() for rule in RULES[tier](ranges)],
                tags=dict(args.tags),
                opts=child,
            )
            delegation = DELEGATIONS[tier]
            subnet = azure.network.Subnet(
                f"{name}-{tier}",
                subnet_name=tier,
                resource_group_name=args.resource_group_name,
                virtual_network_name=vnet.name,
                address_prefix=str(getattr(ranges, tier)),
                network_security_group={"id": group.id},
                delegations=[{"name": tier, "service_name": delegation}] if delegation else None,
                service_endpoints=[{"service": "Microsoft.KeyVault"}] if tier == "apps" else None,
                private_endpoint_network_policies="Enabled" if tier == "endpoints" else None,
                # Nothing in these two subnets opens connections to the internet.
                default_outbound_access=False if tier != "apps" else None,
                # Azure refuses concurrent changes to one network's subnets, so they are made one at a time.
                opts=pulumi.ResourceOptions(parent=self, depends_on=previous),
            )
            previous = [subnet]
            self.subnet_ids[tier] = subnet.id
        self.vnet_id, self.vnet_name = vnet.id, vnet.name
        self.register_outputs({"vnet_id": self.vnet_id, "vnet_name": self.vnet_name, "subnet_ids": self.subnet_ids})


def private_zone(
    name: str,
    *,
    zone: str,
    resource_group_name: pulumi.Input[str],
    vnet_ids: Sequence[pulumi.Input[str]],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> azure.privatedns.PrivateZone:
    """A private DNS zone resolvable from each of `vnet_ids` (no auto-registration of VMs)."""
    child = pulumi.ResourceOptions(parent=parent)
    private = azure.privatedns.PrivateZone(
        name,
        private_zone_name=zone,
        resource_group_name=resource_group_name,
        location="global",
        tags=dict(tags),
        opts=child,
    )
    for index, vnet_id in enumerate(vnet_ids):
        azure.privatedns.VirtualNetworkLink(
            f"{name}-link-{index}",
            private_zone_name=private.name,
            resource_group_name=resource_group_name,
            location="global",
            virtual_network={"id": vnet_id},
            registration_enabled=False,
            tags=dict(tags),
            opts=child,
        )
    return private


def peer(
    name: str,
    *,
    primary: tuple[Network, pulumi.Input[str]],
    secondary: tuple[Network, pulumi.Input[str]],
    parent: pulumi.Resource,
) -> list[azure.network.VirtualNetworkPeering]:
    """Global peering of two networks (each given with its resource group), both directions. Forwarded and
    gateway traffic stay off: only the two networks' own addresses talk, and the NSGs narrow that to the
    database subnets."""
    sides = (("primary", primary, secondary), ("secondary", secondary, primary))
    return [
        azure.network.VirtualNetworkPeering(
            f"{name}-{label}",
            resource_group_name=group,
            virtual_network_name=local.vnet_name,
            remote_virtual_network={"id": remote.vnet_id},
            allow_virtual_network_access=True,
            allow_forwarded_traffic=False,
            allow_gateway_transit=False,
            use_remote_gateways=False,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for label, (local, group), (remote, _) in sides
    ]
