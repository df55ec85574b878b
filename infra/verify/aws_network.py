"""Materialise the network: VPC, subnets, gateways, routes, endpoints, security groups and their rules (EC2)."""

from __future__ import annotations

from typing import Any

from infra.plan.model import Resource
from infra.verify.materialise import Context, Handler, Outputs, physical_name


def _tag(context: Context, resource_id: str) -> None:
    if context.tags:
        context.client("ec2").create_tags(Resources=[resource_id], Tags=context.tag_list())


def vpc(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    ec2 = context.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock=inputs["cidrBlock"])["Vpc"]["VpcId"]
    # One attribute per call: the API refuses both at once.
    for name in ("enableDnsSupport", "enableDnsHostnames"):
        if name in inputs:
            ec2.modify_vpc_attribute(VpcId=vpc_id, **{name[0].upper() + name[1:]: {"Value": bool(inputs[name])}})
    _tag(context, vpc_id)
    return {"id": vpc_id}


def subnet(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    ec2 = context.client("ec2")
    args = {"VpcId": inputs["vpcId"], "CidrBlock": inputs["cidrBlock"]}
    if inputs.get("availabilityZone"):
        args["AvailabilityZone"] = inputs["availabilityZone"]
    subnet_id = ec2.create_subnet(**args)["Subnet"]["SubnetId"]
    if inputs.get("mapPublicIpOnLaunch"):
        ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
    _tag(context, subnet_id)
    return {"id": subnet_id}


def internet_gateway(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    ec2 = context.client("ec2")
    gateway_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    if inputs.get("vpcId"):
        ec2.attach_internet_gateway(InternetGatewayId=gateway_id, VpcId=inputs["vpcId"])
    _tag(context, gateway_id)
    return {"id": gateway_id}


def eip(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    allocation = context.client("ec2").allocate_address(Domain="vpc")
    _tag(context, allocation["AllocationId"])
    return {"id": allocation["AllocationId"], "publicIp": allocation["PublicIp"]}


def nat_gateway(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    created = context.client("ec2").create_nat_gateway(SubnetId=inputs["subnetId"], AllocationId=inputs["allocationId"])
    gateway_id = created["NatGateway"]["NatGatewayId"]
    _tag(context, gateway_id)
    return {"id": gateway_id}


# A route's target, by the Pulumi input that names it and the EC2 parameter that takes it.
ROUTE_TARGETS = {
    "gatewayId": "GatewayId",
    "natGatewayId": "NatGatewayId",
    "vpcEndpointId": "VpcEndpointId",
    "transitGatewayId": "TransitGatewayId",
    "vpcPeeringConnectionId": "VpcPeeringConnectionId",
    "networkInterfaceId": "NetworkInterfaceId",
}


def _route(ec2: Any, table_id: str, route: Outputs) -> None:
    args = {"RouteTableId": table_id}
    for pulumi_name, ec2_name in (*ROUTE_TARGETS.items(), ("destinationCidrBlock", "DestinationCidrBlock")):
        if route.get(pulumi_name):
            args[ec2_name] = route[pulumi_name]
    if route.get("destinationIpv6CidrBlock"):
        args["DestinationIpv6CidrBlock"] = route["destinationIpv6CidrBlock"]
    ec2.create_route(**args)


def route_table(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    ec2 = context.client("ec2")
    table_id = ec2.create_route_table(VpcId=inputs["vpcId"])["RouteTable"]["RouteTableId"]
    for route in inputs.get("routes") or []:
        _route(ec2, table_id, route)
    _tag(context, table_id)
    return {"id": table_id}


def route(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    _route(context.client("ec2"), inputs["routeTableId"], inputs)
    return {"id": f"r-{inputs['routeTableId']}{inputs.get('destinationCidrBlock', '')}"}


def route_table_association(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    ec2 = context.client("ec2")
    args = {"RouteTableId": inputs["routeTableId"]}
    if inputs.get("subnetId"):
        args["SubnetId"] = inputs["subnetId"]
    else:
        args["GatewayId"] = inputs["gatewayId"]
    return {"id": ec2.associate_route_table(**args)["AssociationId"]}


def vpc_endpoint(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    ec2 = context.client("ec2")
    args: dict[str, Any] = {
        "VpcId": inputs["vpcId"],
        "ServiceName": inputs["serviceName"],
        "VpcEndpointType": inputs.get("vpcEndpointType") or "Gateway",
    }
    for pulumi_name, ec2_name in (
        ("routeTableIds", "RouteTableIds"),
        ("subnetIds", "SubnetIds"),
        ("securityGroupIds", "SecurityGroupIds"),
        ("privateDnsEnabled", "PrivateDnsEnabled"),
    ):
        if inputs.get(pulumi_name) is not None:
            args[ec2_name] = inputs[pulumi_name]
    endpoint_id = ec2.create_vpc_endpoint(**args)["VpcEndpoint"]["VpcEndpointId"]
    _tag(context, endpoint_id)
    lists = ec2.describe_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": [inputs["serviceName"]]}])
    prefix_list = next((p["PrefixListId"] for p in lists["PrefixLists"]), None)
    return {"id": endpoint_id, "prefixListId": prefix_list}


def security_group(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    ec2 = context.client("ec2")
    name = physical_name(resource, inputs)
    args = {"GroupName": name, "Description": inputs.get("description") or "Managed by Pulumi"}
    if inputs.get("vpcId"):
        args["VpcId"] = inputs["vpcId"]
    group_id = ec2.create_security_group(**args)["GroupId"]
    # The AWS provider deletes the allow-all egress rule AWS adds to every new group; only declared rules stay.
    default_egress = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=default_egress)
    for rule in inputs.get("ingress") or []:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[_inline_permission(rule, group_id)])
    for rule in inputs.get("egress") or []:
        ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=[_inline_permission(rule, group_id)])
    _tag(context, group_id)
    return {"id": group_id, "name": name}


def _inline_permission(rule: Outputs, group_id: str) -> dict[str, Any]:
    """An inline rule of `aws.ec2.SecurityGroup` (also the shape of `aws.ec2.SecurityGroupRule`)."""
    groups = list(rule.get("securityGroups") or [])
    if rule.get("sourceSecurityGroupId"):
        groups.append(rule["sourceSecurityGroupId"])
    if rule.get("self"):
        groups.append(group_id)
    return {
        "IpProtocol": str(rule.get("protocol", "tcp")),
        "FromPort": int(rule.get("fromPort", 0)),
        "ToPort": int(rule.get("toPort", 0)),
        "IpRanges": [{"CidrIp": c} for c in rule.get("cidrBlocks") or []],
        "Ipv6Ranges": [{"CidrIpv6": c} for c in rule.get("ipv6CidrBlocks") or []],
        "PrefixListIds": [{"PrefixListId": p} for p in rule.get("prefixListIds") or [] if p],
        "UserIdGroupPairs": [{"GroupId": g} for g in groups],
    }


def security_group_rule(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    """`aws.ec2.SecurityGroupRule`: one ingress or egress rule by `type`."""
    ec2 = context.client("ec2")
    group_id = inputs["securityGroupId"]
    permission = _inline_permission(inputs, group_id)
    if inputs.get("type") == "egress":
        ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=[permission])
    else:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[permission])
    return {"id": f"sgrule-{group_id}-{resource.name}"}


def _vpc_rule_permission(inputs: Outputs) -> dict[str, Any]:
    """A rule of `aws.vpc.SecurityGroupIngressRule`/`EgressRule`: one peer, the protocol `-1` meaning all."""
    protocol = str(inputs.get("ipProtocol", "-1"))
    permission: dict[str, Any] = {"IpProtocol": protocol}
    if protocol != "-1":
        permission["FromPort"] = int(inputs.get("fromPort", 0))
        permission["ToPort"] = int(inputs.get("toPort", 0))
    described = {"Description": inputs["description"]} if inputs.get("description") else {}
    if inputs.get("cidrIpv4"):
        permission["IpRanges"] = [{"CidrIp": inputs["cidrIpv4"], **described}]
    if inputs.get("cidrIpv6"):
        permission["Ipv6Ranges"] = [{"CidrIpv6": inputs["cidrIpv6"], **described}]
    if inputs.get("referencedSecurityGroupId"):
        permission["UserIdGroupPairs"] = [{"GroupId": inputs["referencedSecurityGroupId"], **described}]
    if inputs.get("prefixListId"):
        permission["PrefixListIds"] = [{"PrefixListId": inputs["prefixListId"], **described}]
    return permission


def _vpc_rule(context: Context, inputs: Outputs, *, ingress: bool) -> Outputs:
    ec2 = context.client("ec2")
    authorize = ec2.authorize_security_group_ingress if ingress else ec2.authorize_security_group_egress
    created = authorize(GroupId=inputs["securityGroupId"], IpPermissions=[_vpc_rule_permission(inputs)])
    rules = created.get("SecurityGroupRules") or [{}]
    rule_id = rules[0].get("SecurityGroupRuleId") or f"sgr-{inputs['securityGroupId']}"
    return {"id": rule_id}


def ingress_rule(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    return _vpc_rule(context, inputs, ingress=True)


def egress_rule(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    return _vpc_rule(context, inputs, ingress=False)


HANDLERS: dict[str, Handler] = {
    "aws:ec2/vpc:Vpc": vpc,
    "aws:ec2/subnet:Subnet": subnet,
    "aws:ec2/internetGateway:InternetGateway": internet_gateway,
    "aws:ec2/eip:Eip": eip,
    "aws:ec2/natGateway:NatGateway": nat_gateway,
    "aws:ec2/routeTable:RouteTable": route_table,
    "aws:ec2/route:Route": route,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": route_table_association,
    "aws:ec2/vpcEndpoint:VpcEndpoint": vpc_endpoint,
    "aws:ec2/securityGroup:SecurityGroup": security_group,
    "aws:ec2/securityGroupRule:SecurityGroupRule": security_group_rule,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ingress_rule,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": egress_rule,
}
