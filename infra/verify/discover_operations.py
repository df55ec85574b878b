"""Find the stack's serverless and logging resources in one region, by the `parley:stack` tag: API Gateway v2
APIs with their routes, integrations and stages; Lambda functions with their concurrency, URLs, log groups
and roles; S3 buckets with their protection settings; VPCs with their flow logs; load balancer attributes;
CloudWatch alarms and the SNS topics they notify; ECR repositories; ECS autoscaling targets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from infra.verify.discover import STACK_TAG, Described, _pages, _tagged

Client = Callable[[str], Any]


@dataclass
class Api:
    api: Described
    routes: list[Described] = field(default_factory=list)
    integrations: dict[str, Described] = field(default_factory=dict)
    stages: list[Described] = field(default_factory=list)


@dataclass
class Function:
    """A function's configuration, its reserved concurrency (None: unreserved), its URL configs, its log group
    (None: missing), its environment tag and whether its role carries the stack's tag."""

    configuration: Described
    reserved: int | None
    urls: list[Described]
    log_group: Described | None
    environment: str
    role_is_stacks: bool


@dataclass
class Bucket:
    """A bucket and its settings; a setting the bucket lacks is None."""

    name: str
    public_access_block: Described | None
    encryption: Described | None
    ownership: str | None


@dataclass
class Operations:
    """What `discover_operations` finds in one region."""

    apis: list[Api] = field(default_factory=list)
    functions: list[Function] = field(default_factory=list)
    buckets: list[Bucket] = field(default_factory=list)
    vpcs: list[Described] = field(default_factory=list)
    flow_logs: list[Described] = field(default_factory=list)
    alarms: list[Described] = field(default_factory=list)
    topics: set[str] = field(default_factory=set)
    repositories: list[Described] = field(default_factory=list)
    scalable_targets: list[Described] = field(default_factory=list)
    # Each of the stack's load balancers' attributes (`access_logs.s3.enabled`, ...), by ARN.
    balancer_attributes: dict[str, dict[str, str]] = field(default_factory=dict)

    def found(self) -> int:
        lists = (self.apis, self.functions, self.buckets, self.vpcs, self.alarms, self.repositories)
        return sum(map(len, lists))


def discover_operations(stack: str, region: str, client: Client, balancers: list[str]) -> Operations:
    """The stack's resources in `region` (see the module); `balancers` are the ARNs of its load balancers."""
    operations = Operations()
    elbv2 = client("elbv2")
    for arn in balancers:
        attributes = elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
        operations.balancer_attributes[arn] = {a["Key"]: a["Value"] for a in attributes}
    _apis(stack, client("apigatewayv2"), operations)
    _functions(stack, client, operations)
    _buckets(stack, region, client("s3"), operations)
    ec2 = client("ec2")
    tag_filter = [{"Name": f"tag:{STACK_TAG}", "Values": [stack]}]
    operations.vpcs = list(_pages(ec2, "describe_vpcs", "Vpcs", Filters=tag_filter))
    if operations.vpcs:
        by_vpc = [{"Name": "resource-id", "Values": [v["VpcId"] for v in operations.vpcs]}]
        operations.flow_logs = ec2.describe_flow_logs(Filters=by_vpc)["FlowLogs"]
    _alarms(stack, client("cloudwatch"), client("sns"), operations)
    ecr = client("ecr")
    for repository in _pages(ecr, "describe_repositories", "repositories"):
        if _tagged(ecr.list_tags_for_resource(resourceArn=repository["repositoryArn"]).get("tags"), stack):
            operations.repositories.append(repository)
    scaling = client("application-autoscaling")
    operations.scalable_targets = list(
        _pages(scaling, "describe_scalable_targets", "ScalableTargets", ServiceNamespace="ecs")
    )
    return operations


def _apis(stack: str, apigatewayv2: Any, operations: Operations) -> None:
    # GetApis has no paginator in boto3; it pages with NextToken.
    token: str | None = None
    while True:
        page = apigatewayv2.get_apis(**({"NextToken": token} if token else {}))
        for item in page.get("Items") or []:
            if (item.get("Tags") or {}).get(STACK_TAG) != stack:
                continue
            api_id = item["ApiId"]
            integrations = apigatewayv2.get_integrations(ApiId=api_id).get("Items") or []
            operations.apis.append(
                Api(
                    api=item,
                    routes=apigatewayv2.get_routes(ApiId=api_id).get("Items") or [],
                    integrations={i["IntegrationId"]: i for i in integrations},
                    stages=apigatewayv2.get_stages(ApiId=api_id).get("Items") or [],
                )
            )
        token = page.get("NextToken")
        if not token:
            return


def _functions(stack: str, client: Client, operations: Operations) -> None:
    lambdas, logs, iam = client("lambda"), client("logs"), client("iam")
    for configuration in _pages(lambdas, "list_functions", "Functions"):
        name, arn = configuration["FunctionName"], configuration["FunctionArn"]
        tags = lambdas.list_tags(Resource=arn).get("Tags") or {}
        if tags.get(STACK_TAG) != stack:
            continue
        reserved = lambdas.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
        urls = _function_urls(lambdas, name)
        group_name = (configuration.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{name}"
        groups = logs.describe_log_groups(logGroupNamePrefix=group_name)["logGroups"]
        operations.functions.append(
            Function(
                configuration=configuration,
                reserved=reserved,
                urls=urls,
                log_group=next((g for g in groups if g["logGroupName"] == group_name), None),
                environment=tags.get("parley:environment", ""),
                role_is_stacks=_role_is_stacks(iam, configuration.get("Role", ""), stack),
            )
        )


def _function_urls(lambdas: Any, name: str) -> list[Described]:
    """The function's own URL, if it has one. GetFunctionUrlConfig rather than ListFunctionUrlConfigs, which
    moto lacks: URLs of the function's aliases are not looked at (Parley's programs publish no aliases)."""
    try:
        return [lambdas.get_function_url_config(FunctionName=name)]
    except lambdas.exceptions.ResourceNotFoundException:
        return []


def _role_is_stacks(iam: Any, role_arn: str, stack: str) -> bool:
    name = role_arn.rsplit("/", 1)[-1]
    try:
        return _tagged(iam.list_role_tags(RoleName=name).get("Tags"), stack)
    except iam.exceptions.NoSuchEntityException:
        return False


def _bucket_setting(call: Callable[[], Described], key: str) -> Any:
    """One of a bucket's settings, None when the bucket has none (S3 answers with an error then)."""
    try:
        return call().get(key)
    except ClientError:
        return None


def _buckets(stack: str, region: str, s3: Any, operations: Operations) -> None:
    for listed in s3.list_buckets().get("Buckets") or []:
        name = listed["Name"]
        location = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
        if location != region:
            continue
        if not _tagged(_bucket_setting(lambda n=name: s3.get_bucket_tagging(Bucket=n), "TagSet"), stack):
            continue
        controls = _bucket_setting(lambda n=name: s3.get_bucket_ownership_controls(Bucket=n), "OwnershipControls")
        operations.buckets.append(
            Bucket(
                name=name,
                public_access_block=_bucket_setting(
                    lambda n=name: s3.get_public_access_block(Bucket=n), "PublicAccessBlockConfiguration"
                ),
                encryption=_bucket_setting(
                    lambda n=name: s3.get_bucket_encryption(Bucket=n), "ServerSideEncryptionConfiguration"
                ),
                ownership=((controls or {}).get("Rules") or [{}])[0].get("ObjectOwnership"),
            )
        )


def _alarms(stack: str, cloudwatch: Any, sns: Any, operations: Operations) -> None:
    for alarm in _pages(cloudwatch, "describe_alarms", "MetricAlarms"):
        if _tagged(cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"]).get("Tags"), stack):
            operations.alarms.append(alarm)
    operations.topics = {t["TopicArn"] for t in _pages(sns, "list_topics", "Topics")}
