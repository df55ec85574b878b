"""`Network`: a VPC over two or three availability zones, in three tiers.

- public: the load balancer and the NAT gateways; the only tier routed to the internet gateway.
- private: the tasks and the cache; out to the internet only through NAT (one per zone, or one in all).
- isolated: the database; no route out of the VPC at all.

Flow logs of all traffic go to CloudWatch Logs. An S3 gateway endpoint (free) keeps image layers off NAT;
`Endpoints` adds the interface endpoints the tasks need, so that they can run without the internet at all.
Nothing here is specific to the container target."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.aws.policies import assume_role_policy, policy_document

TIERS = ("public", "private", "isolated")
INTERFACE_SERVICES = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")


@dataclass(frozen=True)
class NetworkArgs:
    region: str
    cidr: ipaddress.IPv4Network
    availability_zones: int
    nat_per_az: bool
    flow_log_retention_days: int


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    subnet_ids: dict[str, list[pulumi.Output[str]]]
    private_route_table_ids: list[pulumi.Output[str]]
    s3_prefix_list_id: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:aws:Network", name, None, opts)
        self._name = name
        child = pulumi.ResourceOptions(parent=self)
        zones = aws.get_availability_zones_output(
            state="available",
            filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],  # no Local Zones
            opts=pulumi.InvokeOutputOptions(parent=self),
        ).names
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(args.cidr),
            enable_dns_support=True,
            enable_dns_hostnames=True,  # interface endpoints' private DNS needs both
            tags={"Name": f"{name}-vpc"},
            opts=child,
        )
        self.vpc_id = vpc.id
        # Sixteen equal blocks: four per tier, so a zone can be added without renumbering.
        blocks = list(args.cidr.subnets(new_prefix=args.cidr.prefixlen + 4))
        self.subnet_ids = {}
        subnets: dict[str, list[aws.ec2.Subnet]] = {}
        for index, tier in enumerate(TIERS):
            subnets[tier] = [
                aws.ec2.Subnet(
                    f"{name}-{tier}-{zone}",
                    vpc_id=vpc.id,
                    cidr_block=str(blocks[4 * index + zone]),
                    availability_zone=_zone(zones, zone, args.region),
                    map_public_ip_on_launch=False,  # the ALB and NAT gateways bring their own addresses
                    tags={"Name": f"{name}-{tier}-{zone}", "parley:tier": tier},
                    opts=child,
                )
                for zone in range(args.availability_zones)
            ]
            self.subnet_ids[tier] = [subnet.id for subnet in subnets[tier]]

        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{name}-igw"}, opts=child)
        public = self._route_table("public", vpc, _labelled("public", subnets["public"]))
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=gateway.id,
            opts=child,
        )
        nats = [
            self._nat(zone, subnets["public"][zone], gateway)
            for zone in range(args.availability_zones if args.nat_per_az else 1)
        ]
        private = []
        for zone, subnet in enumerate(subnets["private"]):
            table = self._route_table(f"private-{zone}", vpc, {f"private-{zone}": subnet})
            aws.ec2.Route(
                f"{name}-private-{zone}-default",
                route_table_id=table.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nats[zone % len(nats)].id,
                opts=child,
            )
            private.append(table)
        self._route_table("isolated", vpc, _labelled("isolated", subnets["isolated"]))  # the local route only
        self.private_route_table_ids = [table.id for table in private]

        s3 = aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=self.private_route_table_ids,
            tags={"Name": f"{name}-s3"},
            opts=child,
        )
        self.s3_prefix_list_id = s3.prefix_list_id
        self._flow_logs(vpc, args.flow_log_retention_days)
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "subnet_ids": self.subnet_ids,
                "private_route_table_ids": self.private_route_table_ids,
                "s3_prefix_list_id": self.s3_prefix_list_id,
            }
        )

    def _route_table(self, label: str, vpc: aws.ec2.Vpc, subnets: Mapping[str, aws.ec2.Subnet]) -> aws.ec2.RouteTable:
        """A route table for `subnets` (keyed by their labels); routes are added by the caller."""
        child = pulumi.ResourceOptions(parent=self)
        table = aws.ec2.RouteTable(
            f"{self._name}-{label}", vpc_id=vpc.id, tags={"Name": f"{self._name}-{label}"}, opts=child
        )
        for subnet_label, subnet in subnets.items():
            aws.ec2.RouteTableAssociation(
                f"{self._name}-{subnet_label}", route_table_id=table.id, subnet_id=subnet.id, opts=child
            )
        return table

    def _nat(self, zone: int, subnet: aws.ec2.Subnet, gateway: aws.ec2.InternetGateway) -> aws.ec2.NatGateway:
        child = pulumi.ResourceOptions(parent=self)
        address = aws.ec2.Eip(
            f"{self._name}-nat-{zone}", domain="vpc", tags={"Name": f"{self._name}-nat-{zone}"}, opts=child
        )
        return aws.ec2.NatGateway(
            f"{self._name}-nat-{zone}",
            allocation_id=address.id,
            subnet_id=subnet.id,
            tags={"Name": f"{self._name}-nat-{zone}"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
        )

    def _flow_logs(self, vpc: aws.ec2.Vpc, retention_days: int) -> None:
        child = pulumi.ResourceOptions(parent=self)
        group = aws.cloudwatch.LogGroup(f"{self._name}-flow-logs", retention_in_days=retention_days, opts=child)
        role = aws.iam.Role(
            f"{self._name}-flow-logs",
            assume_role_policy=json.dumps(assume_role_policy("vpc-flow-logs.amazonaws.com")),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-flow-logs",
            role=role.id,
            policy=group.arn.apply(
                lambda arn: json.dumps(
                    policy_document(
                        {
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                            "Resource": [arn, f"{arn}:*"],
                        }
                    )
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{self._name}-flow-logs",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            opts=child,
        )


@dataclass(frozen=True)
class EndpointsArgs:
    region: str
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    services: Sequence[str] = INTERFACE_SERVICES


class Endpoints(pulumi.ComponentResource):
    """Interface endpoints with private DNS, so the AWS APIs the tasks call resolve to addresses in the VPC
    and their traffic never crosses a NAT gateway (nor needs one)."""

    endpoint_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: EndpointsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:aws:Endpoints", name, None, opts)
        self.endpoint_ids = {
            service: aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}",
                vpc_id=args.vpc_id,
                service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=list(args.subnet_ids),
                security_group_ids=[args.security_group_id],
                tags={"Name": f"{name}-{service}"},
                opts=pulumi.ResourceOptions(parent=self),
            ).id
            for service in args.services
        }
        self.register_outputs({"endpoint_ids": self.endpoint_ids})


def _labelled(tier: str, subnets: Sequence[aws.ec2.Subnet]) -> dict[str, aws.ec2.Subnet]:
    return {f"{tier}-{zone}": subnet for zone, subnet in enumerate(subnets)}


def _zone(names: pulumi.Output[list[str]], index: int, region: str) -> pulumi.Output[str]:
    """The `index`th zone of those the region offers the account (zone names differ between accounts)."""

    def pick(offered: list[str]) -> str:
        if index >= len(offered):
            raise pulumi.RunError(f"{region} offers {len(offered)} availability zones; the stack asks for {index + 1}")
        return offered[index]

    return names.apply(pick)
