"""AWS rules over who may reach what: security groups, IAM, flow logs and cost-allocation tags."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policies.model import ResourceView
from policies.props import WORLD, as_dict, as_list, ports_of
from policies.registry import resource_rule, stack_rule

INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
# What else can wear a security group; none of them may wear one open to the world.
SG_CONSUMERS = (
    "aws:ecs/service:Service",
    "aws:rds/instance:Instance",
    "aws:rds/cluster:Cluster",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:lambda/function:Function",
    "aws:ec2/instance:Instance",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
)
WEB_PORTS = {80, 443}
POLICY_DOCUMENTS = {
    "aws:iam/policy:Policy": "policy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
# Actions IAM only grants on Resource "*": allowing them there is as narrow as it gets.
STAR_ONLY_ACTIONS = {
    "ecr:getauthorizationtoken",
    "xray:puttracesegments",
    "xray:puttelemetryrecords",
    "cloudwatch:putmetricdata",
    "ec2:createnetworkinterface",
    "ec2:describenetworkinterfaces",
    "ec2:deletenetworkinterface",
    "ec2:assignprivateipaddresses",
    "ec2:unassignprivateipaddresses",
    "sts:getcalleridentity",
}
# Resources worth a bill line: the ones cost-allocation tags must reach.
COSTLY = (
    "aws:ec2/vpc:Vpc",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/eip:Eip",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:rds/instance:Instance",
    "aws:rds/cluster:Cluster",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:ecs/cluster:Cluster",
    "aws:ecs/service:Service",
    "aws:dynamodb/table:Table",
    "aws:lambda/function:Function",
    "aws:s3/bucket:Bucket",
    "aws:kms/key:Key",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:secretsmanager/secret:Secret",
    "aws:apigatewayv2/api:Api",
)
COST_TAGS = ("parley:stack", "parley:environment")


def world_ingress(view: ResourceView) -> Iterator[tuple[str, set[int] | None]]:
    """(source, ports or None for all) of each rule of `view` that admits the whole internet."""
    props = view.props
    if view.type == INGRESS_RULE:
        entries: list[Mapping[str, Any]] = [
            {"cidrBlocks": [props.get("cidrIpv4")], "ipv6CidrBlocks": [props.get("cidrIpv6")], **props}
        ]
        protocol_key = "ipProtocol"
    elif view.type == LEGACY_RULE:
        entries = [props] if props.get("type") == "ingress" else []
        protocol_key = "protocol"
    else:
        entries = [as_dict(entry) for entry in as_list(props.get("ingress"))]
        protocol_key = "protocol"
    for entry in entries:
        sources = [c for c in as_list(entry.get("cidrBlocks")) + as_list(entry.get("ipv6CidrBlocks")) if c in WORLD]
        everything = str(entry.get(protocol_key, "")) in ("-1", "all")
        for source in sources:
            yield source, None if everything else ports_of(entry.get("fromPort"), entry.get("toPort"))


@resource_rule(
    "aws-sg-no-public-ingress",
    description="No security group admits 0.0.0.0/0 or ::/0 except on 80 and 443.",
    enforcement="mandatory",
    severity="critical",
    types=(INGRESS_RULE, LEGACY_RULE, SECURITY_GROUP),
    remediation="Admit the internet on 80/443 to the load balancer's group only; reach everything else from "
    "other security groups (referencedSecurityGroupId) or the VPC's range.",
)
def sg_no_public_ingress(view: ResourceView) -> list[str]:
    problems = []
    for source, ports in world_ingress(view):
        if ports is None or not ports <= WEB_PORTS:
            shown = "every port" if ports is None else f"ports {min(ports)}-{max(ports)}"
            problems.append(f"{source} may reach {shown}")
    return problems


@stack_rule(
    "aws-public-ingress-load-balancers-only",
    description="Only load balancers wear a security group that admits the internet.",
    enforcement="mandatory",
    severity="critical",
    types=(INGRESS_RULE, LEGACY_RULE, SECURITY_GROUP, *SG_CONSUMERS),
    remediation="Give the service, database or function its own security group that admits only the load "
    "balancer's group.",
)
def public_ingress_load_balancers_only(views: Sequence[ResourceView]) -> list[tuple[ResourceView, str]]:
    groups = {v.urn for v in views if v.type == SECURITY_GROUP}
    open_groups: set[str] = set()
    for view in views:
        if any(True for _ in world_ingress(view)):
            # A standalone rule names its group through its dependencies; an inline rule is the group itself.
            open_groups |= {view.urn} if view.type == SECURITY_GROUP else groups.intersection(view.dependencies)
    return [
        (view, f"wears security group {urn.rsplit('::', 1)[-1]}, which admits the internet")
        for view in views
        if view.type in SG_CONSUMERS
        for urn in sorted(open_groups.intersection(view.dependencies))
    ]


def statements(document: Any) -> list[Mapping[str, Any]]:
    """The statements of an IAM policy document given as JSON text or an object."""
    found = as_dict(document).get("Statement")
    return [as_dict(s) for s in (found if isinstance(found, list) else [found]) if isinstance(s, Mapping)]


def _strings(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in as_list(value)]


def documents(view: ResourceView) -> list[Any]:
    if view.type in POLICY_DOCUMENTS:
        return [view.props.get(POLICY_DOCUMENTS[view.type])]
    return [as_dict(p).get("policy") for p in as_list(view.props.get("inlinePolicies"))]


def managed_policies(view: ResourceView) -> list[str]:
    if view.type == "aws:iam/role:Role":
        return _strings(view.props.get("managedPolicyArns"))
    return _strings(view.props.get("policyArn"))


IAM_TYPES = (*POLICY_DOCUMENTS, "aws:iam/role:Role", *ATTACHMENTS)


@resource_rule(
    "aws-iam-no-admin",
    description="No IAM policy grants every action on every resource.",
    enforcement="mandatory",
    severity="critical",
    types=IAM_TYPES,
    remediation="List the actions and resource ARNs the principal needs; never Action '*' on Resource '*' or "
    "AdministratorAccess.",
)
def iam_no_admin(view: ResourceView) -> list[str]:
    problems = [f"attaches {arn}" for arn in managed_policies(view) if arn == ADMIN_POLICY]
    for document in documents(view):
        for statement in statements(document):
            actions = _strings(statement.get("Action"))
            if statement.get("Effect") == "Allow" and {"*", "*:*"} & set(actions):
                if "*" in _strings(statement.get("Resource")):
                    problems.append("a statement allows Action '*' on Resource '*'")
    return problems


@resource_rule(
    "aws-iam-least-privilege",
    description="Role policies (Lambda functions, ECS tasks) name their actions and resources.",
    enforcement="mandatory",
    severity="high",
    types=IAM_TYPES,
    remediation="Replace 'service:*' with the actions used and Resource '*' with the ARNs used; attach no "
    "*FullAccess or PowerUserAccess managed policy.",
)
def iam_least_privilege(view: ResourceView) -> list[str]:
    problems = [
        f"attaches the broad managed policy {arn.rsplit('/', 1)[-1]}"
        for arn in managed_policies(view)
        if arn.endswith("FullAccess") or arn.endswith("/PowerUserAccess")
    ]
    for document in documents(view):
        for statement in statements(document):
            if statement.get("Effect") != "Allow":
                continue
            if "NotAction" in statement or "NotResource" in statement:
                problems.append("an Allow statement uses NotAction or NotResource")
            actions = [a.lower() for a in _strings(statement.get("Action"))]
            problems += [f"action {a} is a wildcard" for a in actions if a == "*" or a.endswith(":*")]
            if "*" in _strings(statement.get("Resource")) and not set(actions) <= STAR_ONLY_ACTIONS:
                problems.append(f"actions {', '.join(sorted(set(actions) - STAR_ONLY_ACTIONS))} on Resource '*'")
    return problems


@stack_rule(
    "aws-vpc-flow-logs",
    description="Every VPC records flow logs.",
    enforcement="mandatory",
    severity="medium",
    types=("aws:ec2/vpc:Vpc", "aws:ec2/flowLog:FlowLog"),
    remediation="Add an aws.ec2.FlowLog with vpc_id=<the VPC>, traffic_type='ALL', to CloudWatch Logs or S3.",
)
def vpc_flow_logs(views: Sequence[ResourceView]) -> list[tuple[ResourceView, str]]:
    logged = {urn for v in views if v.type == "aws:ec2/flowLog:FlowLog" for urn in v.dependencies}
    return [(v, "the VPC has no flow log") for v in views if v.type == "aws:ec2/vpc:Vpc" and v.urn not in logged]


@resource_rule(
    "aws-cost-allocation-tags",
    description="Billable AWS resources carry the parley:stack and parley:environment tags.",
    enforcement="mandatory",
    severity="low",
    types=COSTLY,
    remediation="Create resources through a provider whose default_tags carry parley:stack and "
    "parley:environment (infra/aws/tags.py regional_provider), or tag them.",
)
def cost_allocation_tags(view: ResourceView) -> list[str]:
    tags = {**as_dict(as_dict(view.provider.get("defaultTags")).get("tags"))}
    for key in ("tagsAll", "tags"):
        tags.update(as_dict(view.props.get(key)))
    missing = [key for key in COST_TAGS if not tags.get(key)]
    return [f"missing cost-allocation tag {', '.join(missing)}"] if missing else []
