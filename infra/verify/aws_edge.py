"""Materialise the edge: ACM certificates, the load balancer with its target group and listeners, and Route 53
health checks and records (failover included)."""

from __future__ import annotations

import hashlib
from typing import Any

from infra.plan.model import Resource
from infra.verify.materialise import Context, Handler, Outputs, Unmaterialisable, physical_name

RECORD_TYPE = "aws:route53/record:Record"


def certificate(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    args: dict[str, Any] = {
        "DomainName": inputs["domainName"],
        "ValidationMethod": inputs.get("validationMethod") or "DNS",
        "Tags": context.tag_list(),
    }
    if inputs.get("subjectAlternativeNames"):
        args["SubjectAlternativeNames"] = inputs["subjectAlternativeNames"]
    arn = context.client("acm").request_certificate(**args)["CertificateArn"]
    return {"id": arn, "arn": arn}


def load_balancer(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    elbv2 = context.client("elbv2")
    name = physical_name(resource, inputs)
    created = elbv2.create_load_balancer(
        Name=name,
        Subnets=inputs["subnets"],
        SecurityGroups=inputs.get("securityGroups") or [],
        Scheme="internal" if inputs.get("internal") else "internet-facing",
        Type=inputs.get("loadBalancerType") or "application",
        IpAddressType=inputs.get("ipAddressType") or "ipv4",
        Tags=context.tag_list(),
    )["LoadBalancers"][0]
    attributes = {
        "routing.http.drop_invalid_header_fields.enabled": inputs.get("dropInvalidHeaderFields"),
        "deletion_protection.enabled": inputs.get("enableDeletionProtection"),
        "idle_timeout.timeout_seconds": inputs.get("idleTimeout"),
        **_access_logs(inputs.get("accessLogs") or {}),
    }
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=created["LoadBalancerArn"],
        Attributes=[{"Key": k, "Value": _attribute(v)} for k, v in attributes.items() if v is not None],
    )
    arn = created["LoadBalancerArn"]
    return {
        "id": arn,
        "arn": arn,
        "name": name,
        "arnSuffix": arn.split(":loadbalancer/", 1)[-1],
        "dnsName": created["DNSName"],
        "zoneId": created["CanonicalHostedZoneId"],
    }


def _attribute(value: Any) -> str:
    """An attribute's value as ELBv2 takes it: text, booleans in lower case."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _access_logs(settings: Outputs) -> dict[str, Any]:
    """The load balancer attributes of its `accessLogs` input (bucket, prefix, on or off)."""
    if not settings:
        return {}
    return {
        "access_logs.s3.enabled": bool(settings.get("enabled", True)),
        "access_logs.s3.bucket": settings.get("bucket"),
        "access_logs.s3.prefix": settings.get("prefix"),
    }


def target_group(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    name = physical_name(resource, inputs)
    check = inputs.get("healthCheck") or {}
    args: dict[str, Any] = {
        "Name": name,
        "Protocol": inputs.get("protocol") or "HTTP",
        "Port": int(inputs.get("port", 80)),
        "VpcId": inputs["vpcId"],
        "TargetType": inputs.get("targetType") or "instance",
        "Tags": context.tag_list(),
    }
    for pulumi_name, api in (
        ("protocol", "HealthCheckProtocol"),
        ("path", "HealthCheckPath"),
        ("port", "HealthCheckPort"),
        ("interval", "HealthCheckIntervalSeconds"),
        ("timeout", "HealthCheckTimeoutSeconds"),
        ("healthyThreshold", "HealthyThresholdCount"),
        ("unhealthyThreshold", "UnhealthyThresholdCount"),
    ):
        if check.get(pulumi_name) is not None:
            args[api] = str(check[pulumi_name]) if api == "HealthCheckPort" else check[pulumi_name]
    if check.get("matcher"):
        args["Matcher"] = {"HttpCode": check["matcher"]}
    arn = context.client("elbv2").create_target_group(**args)["TargetGroups"][0]["TargetGroupArn"]
    return {"id": arn, "arn": arn, "name": name, "arnSuffix": arn.split(":", 5)[-1]}


def _action(action: Outputs) -> dict[str, Any]:
    """A listener action from Pulumi's shape (`redirect`, `fixedResponse`, `targetGroupArn`) to ELBv2's."""
    converted: dict[str, Any] = {"Type": action["type"]}
    if action.get("targetGroupArn"):
        converted["TargetGroupArn"] = action["targetGroupArn"]
    if redirect := action.get("redirect"):
        converted["RedirectConfig"] = {k[0].upper() + k[1:]: str(v) for k, v in redirect.items() if v is not None}
    if fixed := action.get("fixedResponse"):
        converted["FixedResponseConfig"] = {k[0].upper() + k[1:]: str(v) for k, v in fixed.items() if v is not None}
    return converted


def listener(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    args: dict[str, Any] = {
        "LoadBalancerArn": inputs["loadBalancerArn"],
        "Protocol": inputs.get("protocol") or "HTTP",
        "Port": int(inputs["port"]),
        "DefaultActions": [_action(a) for a in inputs.get("defaultActions") or []],
        "Tags": context.tag_list(),
    }
    if inputs.get("sslPolicy"):
        args["SslPolicy"] = inputs["sslPolicy"]
    if inputs.get("certificateArn"):
        args["Certificates"] = [{"CertificateArn": inputs["certificateArn"]}]
    arn = context.client("elbv2").create_listener(**args)["Listeners"][0]["ListenerArn"]
    return {"id": arn, "arn": arn}


def health_check(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    route53 = context.client("route53")
    config: dict[str, Any] = {"Type": inputs["type"]}
    for pulumi_name, api in (
        ("fqdn", "FullyQualifiedDomainName"),
        ("ipAddress", "IPAddress"),
        ("port", "Port"),
        ("resourcePath", "ResourcePath"),
        ("requestInterval", "RequestInterval"),
        ("failureThreshold", "FailureThreshold"),
        ("enableSni", "EnableSNI"),
        ("searchString", "SearchString"),
    ):
        if inputs.get(pulumi_name) is not None:
            config[api] = inputs[pulumi_name]
    reference = hashlib.sha256(resource.urn.encode()).hexdigest()[:32]
    check_id = route53.create_health_check(CallerReference=reference, HealthCheckConfig=config)["HealthCheck"]["Id"]
    route53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=check_id, AddTags=context.tag_list())
    return {"id": check_id, "arn": f"arn:aws:route53:::healthcheck/{check_id}"}


def _zone_domain(context: Context, zone_id: str) -> str:
    """The domain of a zone the plan names but does not create: the parent of its shortest record name (the
    stack's host), which every record of the zone ends with."""
    names = [
        str(r.inputs.get("name", "")).rstrip(".")
        for r in context.plan.resources
        if r.type == RECORD_TYPE and r.inputs.get("zoneId") == zone_id
    ]
    host = min(names, key=lambda n: n.count("."))
    labels = host.split(".")
    return ".".join(labels[1:]) if len(labels) > 2 else host


def _zone(context: Context, zone_id: str) -> str:
    """The real zone for a plan's `zoneId`: itself when the endpoint has it, else one created for its domain."""
    if zone_id in context.zones:
        return context.zones[zone_id]
    route53 = context.client("route53")
    try:
        route53.get_hosted_zone(Id=zone_id)
        context.zones[zone_id] = zone_id
    except route53.exceptions.NoSuchHostedZone:
        domain = _zone_domain(context, zone_id)
        created = route53.create_hosted_zone(Name=domain, CallerReference=f"parley-verify-{zone_id}")
        context.zones[zone_id] = created["HostedZone"]["Id"].rsplit("/", 1)[-1]
    return context.zones[zone_id]


def _record_set(inputs: Outputs) -> dict[str, Any]:
    record: dict[str, Any] = {"Name": inputs["name"], "Type": inputs["type"]}
    if inputs.get("setIdentifier"):
        record["SetIdentifier"] = inputs["setIdentifier"]
    if inputs.get("healthCheckId"):
        record["HealthCheckId"] = inputs["healthCheckId"]
    if failover := inputs.get("failoverRoutingPolicies"):
        record["Failover"] = failover[0]["type"]
    if weighted := inputs.get("weightedRoutingPolicies"):
        record["Weight"] = int(weighted[0]["weight"])
    if latency := inputs.get("latencyRoutingPolicies"):
        record["Region"] = latency[0]["region"]
    if aliases := inputs.get("aliases"):
        alias = aliases[0]
        record["AliasTarget"] = {
            "HostedZoneId": alias["zoneId"],
            "DNSName": alias["name"],
            "EvaluateTargetHealth": bool(alias.get("evaluateTargetHealth")),
        }
    else:
        record["TTL"] = int(inputs.get("ttl", 300))
        record["ResourceRecords"] = [{"Value": v} for v in inputs.get("records") or []]
    return record


def record(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    for alias in inputs.get("aliases") or []:
        if not isinstance(alias.get("name"), str) or not isinstance(alias.get("zoneId"), str):
            raise Unmaterialisable("the plan does not know its alias target (name and zoneId are null)")
    zone_id = _zone(context, inputs["zoneId"])
    # UPSERT, as the provider does with `allowOverwrite`: both regions write the same validation record.
    context.client("route53").change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": _record_set(inputs)}]},
    )
    name = str(inputs["name"]).rstrip(".")
    return {"id": f"{zone_id}_{name}_{inputs['type']}", "fqdn": name}


def api_domain_name(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    """An API Gateway custom domain; its regional target is what Route 53 aliases point at."""
    config = inputs.get("domainNameConfiguration") or {}
    created = context.client("apigatewayv2").create_domain_name(
        DomainName=inputs["domainName"],
        DomainNameConfigurations=[
            {
                "CertificateArn": config.get("certificateArn"),
                "EndpointType": config.get("endpointType") or "REGIONAL",
                "SecurityPolicy": config.get("securityPolicy") or "TLS_1_2",
            }
        ],
        Tags=context.tags,
    )
    real = (created.get("DomainNameConfigurations") or [{}])[0]
    target = {"targetDomainName": real.get("ApiGatewayDomainName"), "hostedZoneId": real.get("HostedZoneId")}
    return {"id": inputs["domainName"], "domainNameConfiguration": target}


HANDLERS: dict[str, Handler] = {
    "aws:apigatewayv2/domainName:DomainName": api_domain_name,
    "aws:acm/certificate:Certificate": certificate,
    "aws:lb/loadBalancer:LoadBalancer": load_balancer,
    "aws:lb/targetGroup:TargetGroup": target_group,
    "aws:lb/listener:Listener": listener,
    "aws:route53/healthCheck:HealthCheck": health_check,
    RECORD_TYPE: record,
}
