"""`Network`: one global VPC with a subnet per region, the range reserved for Google's managed services
(Private Service Access: Cloud SQL and Memorystore get private addresses in it), and the firewall.

GCP firewall rules belong to the VPC, not to an instance, and Cloud SQL and Memorystore live in Google's
peered network, where this VPC's ingress rules do not reach. So the least-privilege boundary is egress:

    Cloud Run (Direct VPC egress, tag parley-app) --5432, 6378--> services range (Cloud SQL, Memorystore)
    everything else in the VPC, either direction: denied and logged

Cloud Run sends only private-range traffic into the VPC (`PRIVATE_RANGES_ONLY`); its calls to Google APIs
(Secret Manager, logging) take Cloud Run's own path, so the egress deny does not cut them off."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

ANYWHERE = "0.0.0.0/0"
# Lowest priority a rule can have; GCP's implied rules sit below it (65535), unlogged.
DENY_PRIORITY = 65534


@dataclass(frozen=True)
class NetworkArgs:
    """`subnets` maps each region to its subnet's range; `app_tag` is the network tag Cloud Run's instances
    carry into the VPC; `datastore_ports` the ports they may open in `datastore_cidr`."""

    subnets: Mapping[str, ipaddress.IPv4Network]
    datastore_cidr: ipaddress.IPv4Network
    app_tag: str
    datastore_ports: Sequence[int]


class Network(pulumi.ComponentResource):
    network_id: pulumi.Output[str]
    subnet_ids: dict[str, pulumi.Output[str]]
    services_range_name: pulumi.Output[str]
    services_connection: gcp.servicenetworking.Connection

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:gcp:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        vpc = gcp.compute.Network(
            f"{name}-vpc",
            auto_create_subnetworks=False,
            routing_mode="GLOBAL",
            description="Parley: Cloud Run's egress and the private addresses of Cloud SQL and Memorystore",
            opts=child,
        )
        self.subnet_ids = {}
        for region, cidr in args.subnets.items():
            subnet = gcp.compute.Subnetwork(
                f"{name}-{region}",
                region=region,
                network=vpc.id,
                ip_cidr_range=str(cidr),
                private_ip_google_access=True,
                stack_type="IPV4_ONLY",
                log_config={
                    "aggregation_interval": "INTERVAL_5_SEC",
                    "flow_sampling": 0.5,
                    "metadata": "INCLUDE_ALL_METADATA",
                },
                opts=child,
            )
            self.subnet_ids[region] = subnet.id
        services_range = gcp.compute.GlobalAddress(
            f"{name}-services",
            purpose="VPC_PEERING",
            address_type="INTERNAL",
            address=str(args.datastore_cidr.network_address),
            prefix_length=args.datastore_cidr.prefixlen,
            network=vpc.id,
            description="Private Service Access: Cloud SQL and Memorystore addresses",
            opts=child,
        )
        self.services_connection = gcp.servicenetworking.Connection(
            f"{name}-psa",
            network=vpc.id,
            service="servicenetworking.googleapis.com",
            reserved_peering_ranges=[services_range.name],
            # Google refuses to delete the peering while any Cloud SQL instance that used it still exists
            # (deleted instances linger for days), so `pulumi destroy` leaves the peering behind.
            deletion_policy="ABANDON",
            opts=child,
        )
        self._firewall(name, vpc, args)
        self.network_id, self.services_range_name = vpc.id, services_range.name
        self.register_outputs(
            {"network_id": self.network_id, "subnet_ids": self.subnet_ids, "services_range": self.services_range_name}
        )

    def _firewall(self, name: str, vpc: gcp.compute.Network, args: NetworkArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        logged = {"metadata": "INCLUDE_ALL_METADATA"}
        gcp.compute.Firewall(
            f"{name}-allow-app-datastores",
            network=vpc.id,
            direction="EGRESS",
            priority=1000,
            target_tags=[args.app_tag],
            destination_ranges=[str(args.datastore_cidr)],
            allows=[{"protocol": "tcp", "ports": [str(port) for port in args.datastore_ports]}],
            log_config=logged,
            description="Cloud Run to Cloud SQL and Memorystore, on their TLS ports only",
            opts=child,
        )
        for direction, field in (("INGRESS", "source_ranges"), ("EGRESS", "destination_ranges")):
            gcp.compute.Firewall(
                f"{name}-deny-{direction.lower()}",
                network=vpc.id,
                direction=direction,
                priority=DENY_PRIORITY,
                denies=[{"protocol": "all"}],
                log_config=logged,
                description=f"Nothing else, logged ({direction.lower()})",
                opts=child,
                **{field: [ANYWHERE]},
            )
