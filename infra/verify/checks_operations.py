"""The checks of the serverless and logging resources: API Gateway routing, stages and access logs; Lambda
runtimes, roles, URLs, concurrency and logs; the access-log buckets and the load balancer's logging into them;
VPC flow logs; ECR scanning and tags; alarms; ECS autoscaling. Each only judges what `discover_operations` found,
and only where Parley's programs configure that thing (infra/aws), so every shipped stack passes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from infra.verify.discover import Described, Region
from infra.verify.discover_operations import Api, Bucket, Function, Operations

if TYPE_CHECKING:  # checks.py imports this module
    from infra.verify.checks import Finding

# The WebSocket API picks a route by each frame's `type` (infra/aws/serverless_region.py); API Gateway's own
# three routes must exist or connections are never opened, closed or answered.
ROUTE_SELECTION = "$request.body.type"
REQUIRED_ROUTES = ("$connect", "$disconnect", "$default")
# Python runtimes Lambda supports that Parley runs on (pyproject's requires-python >= 3.11).
SUPPORTED_RUNTIMES = ("python3.11", "python3.12", "python3.13")
OWNER_ENFORCED = "BucketOwnerEnforced"
PUBLIC_ACCESS_SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")

# checks.py's `_finding`: (check, resource, region, problems, ok, fix) -> a Finding, passed or failed.
MakeFinding = Callable[[str, str, str, list[str], str, str], "Finding"]


def operations_checks(region: Region, operations: Operations, finding: MakeFinding) -> Iterator[Finding]:
    """Every check of this module for one region; `finding` is checks.py's `_finding`."""
    for api in operations.apis:
        yield from _api(region.name, api, finding)
    for function in operations.functions:
        yield from _function(region.name, function, finding)
    for bucket in operations.buckets:
        yield from _bucket(region.name, bucket, finding)
    yield from _access_logs(region, operations, finding)
    for vpc in operations.vpcs:
        yield _flow_logs(region.name, vpc, operations.flow_logs, finding)
    for repository in operations.repositories:
        yield from _repository(region.name, repository, finding)
    if region.services or region.load_balancers:
        yield _alarms(region.name, operations, finding)
    for service in region.services:
        yield _autoscaling(region.name, service, operations.scalable_targets, finding)


def _api(region: str, api: Api, finding: MakeFinding) -> Iterator[Finding]:
    api_id, name = api.api["ApiId"], api.api.get("Name", api.api["ApiId"])
    if api.api.get("ProtocolType") == "WEBSOCKET":
        problems = []
        expression = api.api.get("RouteSelectionExpression")
        if expression != ROUTE_SELECTION:
            problems.append(f"routes on {expression!r}, not {ROUTE_SELECTION!r}")
        routes = {r["RouteKey"]: r for r in api.routes}
        for key in REQUIRED_ROUTES:
            target = str((routes.get(key) or {}).get("Target") or "")
            integration = api.integrations.get(target.removeprefix("integrations/"))
            if key not in routes:
                problems.append(f"no {key} route")
            elif integration is None or ":lambda:path/" not in str(integration.get("IntegrationUri", "")):
                problems.append(f"{key} has no Lambda integration")
        yield finding(
            "apigw.route-selection",
            api_id,
            region,
            problems,
            f"routes on {ROUTE_SELECTION} with {', '.join(REQUIRED_ROUTES)} to Lambda",
            f"API {name}: set --route-selection-expression '{ROUTE_SELECTION}' and create the missing routes "
            "with an AWS_PROXY integration of the WebSocket function (pulumi up restores them)",
        )
    for stage in api.stages:
        yield from _stage(region, api_id, name, stage, finding)


def _stage(region: str, api_id: str, name: str, stage: Described, finding: MakeFinding) -> Iterator[Finding]:
    stage_name = stage["StageName"]
    resource = f"{api_id}/{stage_name}"
    settings = stage.get("DefaultRouteSettings") or {}
    unthrottled = [
        f"no {label} limit" for label in ("ThrottlingBurstLimit", "ThrottlingRateLimit") if not settings.get(label)
    ]
    yield finding(
        "apigw.throttling",
        resource,
        region,
        unthrottled,
        f"burst {settings.get('ThrottlingBurstLimit')}, rate {settings.get('ThrottlingRateLimit')}",
        f"aws apigatewayv2 update-stage --api-id {api_id} --stage-name '{stage_name}' --default-route-settings "
        "ThrottlingBurstLimit=...,ThrottlingRateLimit=...",
    )
    destination = (stage.get("AccessLogSettings") or {}).get("DestinationArn")
    yield finding(
        "apigw.access-logs",
        resource,
        region,
        [] if destination else [f"stage {stage_name} of API {name} writes no access log"],
        f"access logs to {destination}",
        f"aws apigatewayv2 update-stage --api-id {api_id} --stage-name '{stage_name}' --access-log-settings "
        "DestinationArn=<the stack's /aws/apigateway/... log group>,Format=...",
    )


def _function(region: str, function: Function, finding: MakeFinding) -> Iterator[Finding]:
    config = function.configuration
    name, arn, runtime = config["FunctionName"], config["FunctionArn"], config.get("Runtime")
    yield finding(
        "lambda.runtime",
        arn,
        region,
        [] if runtime in SUPPORTED_RUNTIMES else [f"runtime {runtime} is not one of {', '.join(SUPPORTED_RUNTIMES)}"],
        f"runtime {runtime}",
        f"aws lambda update-function-configuration --function-name {name} --runtime {SUPPORTED_RUNTIMES[-2]}",
    )
    yield finding(
        "lambda.role",
        arn,
        region,
        [] if function.role_is_stacks else [f"role {config.get('Role')} is not tagged for the stack"],
        "runs as the stack's own role",
        f"aws lambda update-function-configuration --function-name {name} --role <the stack's function role>",
    )
    public = [u.get("FunctionUrl", "?") for u in function.urls if u.get("AuthType") == "NONE"]
    yield finding(
        "lambda.function-url",
        arn,
        region,
        [f"public function URL {url} (auth NONE)" for url in public],
        "no unauthenticated function URL",
        f"aws lambda delete-function-url-config --function-name {name} (clients come through API Gateway)",
    )
    if function.environment == "prod":
        yield finding(
            "lambda.reserved-concurrency",
            arn,
            region,
            [] if function.reserved else ["no reserved concurrency in prod"],
            f"{function.reserved} reserved executions",
            f"aws lambda put-function-concurrency --function-name {name} --reserved-concurrent-executions 200",
        )
    yield _function_logs(region, function, finding)


def _function_logs(region: str, function: Function, finding: MakeFinding) -> Finding:
    config = function.configuration
    name = config["FunctionName"]
    group = function.log_group
    traced = (config.get("TracingConfig") or {}).get("Mode") == "Active"
    if group is None:
        problems = [] if traced else ["its log group does not exist and tracing is off"]
    else:
        problems = [] if group.get("retentionInDays") or traced else [f"{group['logGroupName']} keeps logs forever"]
    log_name = (group or {}).get("logGroupName") or f"/aws/lambda/{name}"
    return finding(
        "lambda.logs",
        config["FunctionArn"],
        region,
        problems,
        f"logs to {log_name}" + (", traced" if traced else ""),
        f"create {log_name} with a retention (aws logs put-retention-policy --log-group-name {log_name} "
        "--retention-in-days 90), or turn on active tracing",
    )


def _bucket(region: str, bucket: Bucket, finding: MakeFinding) -> Iterator[Finding]:
    name = bucket.name
    block = bucket.public_access_block or {}
    open_settings = [s for s in PUBLIC_ACCESS_SETTINGS if not block.get(s)]
    yield finding(
        "s3.public-access",
        name,
        region,
        [f"{', '.join(open_settings)} off"] if open_settings else [],
        "blocks all public access",
        f"aws s3api put-public-access-block --bucket {name} --public-access-block-configuration "
        "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
    )
    rules = (bucket.encryption or {}).get("Rules") or []
    algorithms = [(r.get("ApplyServerSideEncryptionByDefault") or {}).get("SSEAlgorithm") for r in rules]
    yield finding(
        "s3.encrypted",
        name,
        region,
        [] if any(algorithms) else ["no default encryption"],
        f"encrypted by default ({', '.join(a for a in algorithms if a)})",
        f"aws s3api put-bucket-encryption --bucket {name} --server-side-encryption-configuration "
        '\'{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}\' '
        "(ALB access logs need S3-managed keys)",
    )
    yield finding(
        "s3.ownership",
        name,
        region,
        [] if bucket.ownership == OWNER_ENFORCED else [f"object ownership {bucket.ownership or 'not set'}"],
        "bucket owner enforced (ACLs off)",
        f"aws s3api put-bucket-ownership-controls --bucket {name} --ownership-controls "
        f"Rules=[{{ObjectOwnership={OWNER_ENFORCED}}}]",
    )


def _access_logs(region: Region, operations: Operations, finding: MakeFinding) -> Iterator[Finding]:
    buckets = {b.name for b in operations.buckets}
    for balancer in region.load_balancers:
        arn = balancer["LoadBalancerArn"]
        attributes = operations.balancer_attributes.get(arn) or {}
        target = attributes.get("access_logs.s3.bucket") or ""
        if attributes.get("access_logs.s3.enabled") != "true":
            problems = ["access logs off"]
        elif target not in buckets:
            problems = [f"logs to {target or 'no bucket'}, not a bucket of the stack in {region.name}"]
        else:
            problems = []
        yield finding(
            "alb.access-logs",
            arn,
            region.name,
            problems,
            f"access logs to s3://{target}",
            f"aws elbv2 modify-load-balancer-attributes --load-balancer-arn {arn} --attributes "
            "Key=access_logs.s3.enabled,Value=true Key=access_logs.s3.bucket,Value=<the stack's log bucket>",
        )


def _flow_logs(region: str, vpc: Described, flow_logs: list[Described], finding: MakeFinding) -> Finding:
    vpc_id = vpc["VpcId"]
    active = [f for f in flow_logs if f.get("ResourceId") == vpc_id and f.get("FlowLogStatus", "ACTIVE") == "ACTIVE"]
    return finding(
        "vpc.flow-logs",
        vpc_id,
        region,
        [] if active else ["no active flow log"],
        f"flow logs to {active[0].get('LogDestination') or active[0].get('LogGroupName')}" if active else "",
        f"aws ec2 create-flow-logs --resource-type VPC --resource-ids {vpc_id} --traffic-type ALL "
        "--log-destination-type cloud-watch-logs ... (pulumi up restores the stack's)",
    )


def _repository(region: str, repository: Described, finding: MakeFinding) -> Iterator[Finding]:
    name, arn = repository["repositoryName"], repository["repositoryArn"]
    scan = (repository.get("imageScanningConfiguration") or {}).get("scanOnPush")
    yield finding(
        "ecr.scan",
        arn,
        region,
        [] if scan else ["images are not scanned on push"],
        "scans on push",
        f"aws ecr put-image-scanning-configuration --repository-name {name} --image-scanning-configuration "
        "scanOnPush=true",
    )
    mutability = repository.get("imageTagMutability")
    yield finding(
        "ecr.immutable-tags",
        arn,
        region,
        [] if mutability == "IMMUTABLE" else [f"tags are {mutability}: a tag can name another image later"],
        "tags are immutable",
        f"aws ecr put-image-tag-mutability --repository-name {name} --image-tag-mutability IMMUTABLE",
    )


def _alarms(region: str, operations: Operations, finding: MakeFinding) -> Finding:
    acting = [a for a in operations.alarms if a.get("AlarmActions")]
    problems = [] if acting else [f"{len(operations.alarms)} alarms of the stack, none with an action"]
    for alarm in acting:
        missing = [t for t in alarm["AlarmActions"] if t.startswith("arn:aws:sns:") and t not in operations.topics]
        problems.extend(f"{alarm['AlarmName']} notifies {t}, which does not exist" for t in missing)
    return finding(
        "alarms.present",
        region,
        region,
        problems,
        f"{len(acting)} alarms with actions",
        "pulumi up (infra/aws/alarms.py): the service's alarms notify the region's SNS topic",
    )


def _autoscaling(region: str, service: Described, targets: list[Described], finding: MakeFinding) -> Finding:
    cluster = str(service.get("clusterArn", "")).rsplit("/", 1)[-1]
    resource_id = f"service/{cluster}/{service['serviceName']}"
    target = next((t for t in targets if t.get("ResourceId") == resource_id), None)
    if target is None:
        problems = ["no scalable target"]
    elif target["MaxCapacity"] <= target["MinCapacity"]:
        problems = [f"min {target['MinCapacity']} = max {target['MaxCapacity']}: it cannot scale"]
    else:
        problems = []
    bounds = f"{target['MinCapacity']} to {target['MaxCapacity']} tasks" if target else ""
    return finding(
        "ecs.autoscaling",
        service["serviceArn"],
        region,
        problems,
        f"scales {bounds}",
        f"aws application-autoscaling register-scalable-target --service-namespace ecs --resource-id {resource_id} "
        "--scalable-dimension ecs:service:DesiredCount --min-capacity ... --max-capacity ...",
    )
