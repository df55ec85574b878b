"""`parley verify` and the materialisation of AWS plans: every AWS stack in `stacks/` planned under mocks,
created in an in-process moto through boto3, and checked through boto3 only. Then reality is broken through
boto3, one way per test, and verify must name exactly that failure."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from infra.plan import Plan
from infra.verify.checks import Finding, verify
from infra.verify.cli import MOTO_CONFIG, app
from infra.verify.materialise import Clients, Materialised, materialise
from tests.support.plans import planned, stacks_of

ROOT = Path(__file__).resolve().parents[2]
AWS_TARGETS = {"aws", "aws-serverless"}
AWS_STACKS = stacks_of(*AWS_TARGETS)
# What the issue asks materialise to cover, wherever a plan has them: none may be skipped.
REQUIRED_TYPES = {
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/eip:Eip",
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:kms/key:Key",
    "aws:rds/subnetGroup:SubnetGroup",
    "aws:rds/instance:Instance",
    "aws:elasticache/subnetGroup:SubnetGroup",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:ecs/cluster:Cluster",
    "aws:ecs/taskDefinition:TaskDefinition",
    "aws:ecs/service:Service",
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:lb/targetGroup:TargetGroup",
    "aws:lb/listener:Listener",
    "aws:acm/certificate:Certificate",
    "aws:route53/healthCheck:HealthCheck",
    "aws:route53/record:Record",
    "aws:dynamodb/table:Table",
    "aws:iam/role:Role",
    "aws:secretsmanager/secret:Secret",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:apigatewayv2/api:Api",
    "aws:apigatewayv2/route:Route",
    "aws:apigatewayv2/integration:Integration",
    "aws:apigatewayv2/stage:Stage",
    "aws:apigatewayv2/apiMapping:ApiMapping",
    "aws:lambda/function:Function",
    "aws:lambda/permission:Permission",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:sns/topic:Topic",
    "aws:ecr/repository:Repository",
    "aws:ec2/flowLog:FlowLog",
    "aws:appautoscaling/target:Target",
}


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto accepts any credentials; never the caller's real ones."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


class Plans(dict[str, Plan]):
    """Each stack planned once per module, when a test first asks, so one stack that cannot be planned fails
    its own tests only."""

    def __missing__(self, stack: str) -> Plan:
        self[stack] = planned(stack)
        return self[stack]


# pulumi-aws warns about its own deprecated modules as they are imported.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_aws")


@pytest.fixture(scope="module")
def plans() -> Plans:
    return Plans()


@pytest.fixture(scope="module")
def session() -> boto3.Session:
    # One session for the module: it loads each service's model once.
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")


@dataclass
class Deployed:
    stack: str
    clients: Clients
    materialised: Materialised

    def verify(self, extra_regions: tuple[str, ...] = ()) -> list[Finding]:
        return verify(self.stack, clients=self.clients, regions=[*self.materialised.regions, *extra_regions])

    def client(self, service: str, region: str = "us-east-1") -> object:
        return self.clients(service, region)


@pytest.fixture
def deploy(plans: Plans, session: boto3.Session) -> Iterator[object]:
    """`deploy(stack)` materialises the stack into a moto that lives for the test."""
    with mock_aws(config=MOTO_CONFIG):  # type: ignore[arg-type]

        def deployed(stack: str) -> Deployed:
            clients = Clients(session)
            return Deployed(stack, clients, materialise(plans[stack], clients=clients))

        yield deployed


def failed(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.check, f.resource) for f in findings if not f.passed}


def expected_failures(plan: Plan, materialised: Materialised) -> set[str]:
    """What verify must fail, and nothing else: failover on a multi-region stack whose records could not be
    materialised because the plan does not know their alias targets (plans under mocks give API Gateway
    domain names no `domainNameConfiguration` outputs yet), or which has no records at all."""
    regions = {r.inputs.get("region") for r in plan.resources if r.type == "pulumi:providers:aws"}
    records = plan.counts().get("aws:route53/record:Record", 0)
    if len(regions) < 2:
        return set()
    if not records:
        return {"dns.health-check", "dns.failover"}
    return {"dns.failover"} if materialised.skipped["aws:route53/record:Record"] else set()


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_a_materialised_stack_passes_every_check(stack: str, deploy, plans: Plans) -> None:
    deployed = deploy(stack)
    skipped = set(deployed.materialised.skipped) - {"aws:route53/record:Record"}
    assert not REQUIRED_TYPES & skipped, deployed.materialised.summary()
    findings = deployed.verify()
    assert {check for check, _ in failed(findings)} == expected_failures(plans[stack], deployed.materialised), [
        f for f in findings if not f.passed
    ]
    checks = {f.check for f in findings}
    assert "stack.tagged" in checks and "secrets.present" in checks
    if "aws:rds/instance:Instance" in plans[stack].counts():
        assert {"rds.private", "rds.encrypted", "sg.database-from-app", "alb.https", "tg.health-check"} <= checks
    if "aws:dynamodb/table:Table" in plans[stack].counts():
        assert {"dynamodb.sse", "dynamodb.pitr"} <= checks
    if "aws:lambda/function:Function" in plans[stack].counts():
        assert {"apigw.route-selection", "apigw.throttling", "lambda.runtime", "lambda.logs"} <= checks
    if "aws:lb/loadBalancer:LoadBalancer" in plans[stack].counts():
        assert {"alb.access-logs", "s3.public-access", "vpc.flow-logs", "alarms.present", "ecs.autoscaling"} <= checks


def test_tags_come_from_the_provider_and_each_region_gets_its_own(deploy) -> None:
    deployed = deploy("aws-prod")
    assert deployed.materialised.regions == ["us-east-1", "us-west-2"]
    for region in deployed.materialised.regions:
        vpcs = deployed.client("ec2", region).describe_vpcs(
            Filters=[{"Name": "tag:parley:stack", "Values": ["aws-prod"]}]
        )
        assert len(vpcs["Vpcs"]) == 1
        tags = {t["Key"]: t["Value"] for t in vpcs["Vpcs"][0]["Tags"]}
        assert tags["parley:environment"] == "prod" and tags["Name"].startswith("parley-")
    assert deployed.materialised.skipped["random:index/randomPassword:RandomPassword"] == 4


def _database(deployed: Deployed) -> dict:
    return deployed.client("rds").describe_db_instances()["DBInstances"][0]


def test_a_database_group_open_to_the_internet_fails_twice(deploy) -> None:
    deployed = deploy("aws-dev")
    group = _database(deployed)["VpcSecurityGroups"][0]["VpcSecurityGroupId"]
    open_5432 = [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    deployed.client("ec2").authorize_security_group_ingress(GroupId=group, IpPermissions=open_5432)
    findings = deployed.verify()
    assert failed(findings) == {("sg.public-ingress", group), ("sg.database-from-app", group)}
    message = next(f.message for f in findings if f.check == "sg.public-ingress" and not f.passed)
    assert "tcp 5432 open to 0.0.0.0/0" in message and "Fix:" in message


def test_a_public_database_fails_rds_private(deploy) -> None:
    deployed = deploy("aws-dev")
    database = _database(deployed)
    deployed.client("rds").modify_db_instance(
        DBInstanceIdentifier=database["DBInstanceIdentifier"], PubliclyAccessible=True
    )
    assert failed(deployed.verify()) == {("rds.private", database["DBInstanceArn"])}


def test_a_new_unencrypted_database_tagged_for_the_stack_fails_rds_encrypted(deploy) -> None:
    deployed = deploy("aws-dev")
    database = _database(deployed)
    created = deployed.client("rds").create_db_instance(
        DBInstanceIdentifier="rogue",
        Engine="postgres",
        DBInstanceClass="db.t4g.micro",
        AllocatedStorage=20,
        MasterUsername="rogue",
        MasterUserPassword="rogue-password-123",
        DBSubnetGroupName=database["DBSubnetGroup"]["DBSubnetGroupName"],
        VpcSecurityGroupIds=[g["VpcSecurityGroupId"] for g in database["VpcSecurityGroups"]],
        BackupRetentionPeriod=7,
        StorageEncrypted=False,
        Tags=[{"Key": "parley:stack", "Value": "aws-dev"}],
    )["DBInstance"]
    assert failed(deployed.verify()) == {("rds.encrypted", created["DBInstanceArn"])}


def _listeners(deployed: Deployed) -> tuple[str, dict[str, dict]]:
    elbv2 = deployed.client("elbv2")
    balancer = elbv2.describe_load_balancers()["LoadBalancers"][0]["LoadBalancerArn"]
    listeners = elbv2.describe_listeners(LoadBalancerArn=balancer)["Listeners"]
    return balancer, {item["Protocol"]: item for item in listeners}


def test_without_the_https_listener_alb_https_fails(deploy) -> None:
    deployed = deploy("aws-dev")
    balancer, listeners = _listeners(deployed)
    deployed.client("elbv2").delete_listener(ListenerArn=listeners["HTTPS"]["ListenerArn"])
    findings = deployed.verify()
    assert failed(findings) == {("alb.https", balancer)}
    assert "alb.tls-policy" not in {f.check for f in findings}


def test_an_http_listener_that_forwards_fails_alb_http_redirects(deploy) -> None:
    deployed = deploy("aws-dev")
    _, listeners = _listeners(deployed)
    target_group = listeners["HTTPS"]["DefaultActions"][0]["TargetGroupArn"]
    http = listeners["HTTP"]["ListenerArn"]
    deployed.client("elbv2").modify_listener(
        ListenerArn=http, DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}]
    )
    findings = deployed.verify()
    assert failed(findings) == {("alb.http-redirects", http)}
    assert "does forward, not a redirect to HTTPS" in next(f.message for f in findings if not f.passed)


def test_an_old_tls_policy_and_a_health_check_off_readyz_fail(deploy) -> None:
    deployed = deploy("aws-dev")
    elbv2 = deployed.client("elbv2")
    _, listeners = _listeners(deployed)
    https = listeners["HTTPS"]["ListenerArn"]
    elbv2.modify_listener(ListenerArn=https, SslPolicy="ELBSecurityPolicy-2016-08")
    group = elbv2.describe_target_groups()["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group(TargetGroupArn=group, HealthCheckPath="/")
    assert failed(deployed.verify()) == {("alb.tls-policy", https), ("tg.health-check", group)}


def test_without_the_secondary_failover_record_dns_failover_fails(deploy) -> None:
    deployed = deploy("aws-prod")
    assert failed(deployed.verify()) == set()
    route53 = deployed.client("route53")
    zone = route53.list_hosted_zones()["HostedZones"][0]["Id"]
    records = route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    secondary = next(r for r in records if r.get("Failover") == "SECONDARY")
    route53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": secondary}]}
    )
    findings = deployed.verify()
    assert failed(findings) == {("dns.failover", "chat.example.com.")}
    assert "no SECONDARY failover record" in next(f.message for f in findings if not f.passed)


def test_a_table_without_point_in_time_recovery_fails_dynamodb_pitr(deploy, plans: Plans) -> None:
    deployed = deploy("aws-serverless-prod")
    before = failed(deployed.verify())
    dynamodb = deployed.client("dynamodb", "us-west-2")
    table = dynamodb.describe_table(TableName="parley-aws-serverless-prod-store")["Table"]
    dynamodb.update_continuous_backups(
        TableName=table["TableName"], PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
    )
    assert failed(deployed.verify()) - before == {("dynamodb.pitr", table["TableArn"])}


def test_a_region_without_the_stack_fails_stack_tagged(deploy) -> None:
    deployed = deploy("aws-dev")
    findings = deployed.verify(extra_regions=("eu-west-1",))
    assert failed(findings) == {("stack.tagged", "aws-dev")}
    assert "no resources tagged parley:stack=aws-dev in eu-west-1" in next(f.message for f in findings if not f.passed)


runner = CliRunner()


def test_cli_offline_verifies_aws_dev_and_exits_0() -> None:
    result = runner.invoke(app, ["--stack", "aws-dev", "--offline", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["passed"] is True and document["findings"]
    assert document["materialised"]["created"]["aws:rds/instance:Instance"] == 1
    assert document["materialised"]["skipped"]["random:index/randomPassword:RandomPassword"] == 3


def test_cli_checks_an_account_and_exits_1_on_a_failed_check(deploy) -> None:
    deployed = deploy("aws-dev")
    database = _database(deployed)
    deployed.client("rds").modify_db_instance(
        DBInstanceIdentifier=database["DBInstanceIdentifier"], PubliclyAccessible=True
    )
    result = runner.invoke(app, ["--stack", "aws-dev"])
    assert result.exit_code == 1, result.output
    assert "FAIL  rds.private" in result.stdout and "--no-publicly-accessible" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("aws-dev: 30 passed, 1 failed")


def test_cli_refuses_an_unknown_stack_with_exit_2() -> None:
    result = runner.invoke(app, ["--stack", "aws-nope", "--offline"])
    assert result.exit_code == 2
    assert "unknown stack 'aws-nope'" in result.output and "aws-dev" in result.output


def test_cli_without_credentials_exits_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = runner.invoke(app, ["--stack", "aws-dev"])
    assert result.exit_code == 2
    assert "no AWS credentials" in result.output


def test_cli_refuses_offline_with_a_profile() -> None:
    result = runner.invoke(app, ["--stack", "aws-dev", "--offline", "--profile", "ops"])
    assert result.exit_code == 2
    assert "--offline" in result.output


# Breaking reality one way after another in one materialised stack (materialising costs seconds; a verify
# well under one): after each step verify must newly fail exactly the check that step targets, and nothing
# else. Each step touches a resource no other step touches.
Step = Callable[[Deployed], str]


def _websocket_api(deployed: Deployed) -> dict:
    apis = deployed.client("apigatewayv2").get_apis()["Items"]
    return next(a for a in apis if a["ProtocolType"] == "WEBSOCKET")


def _drop_disconnect_route(deployed: Deployed) -> str:
    client, api = deployed.client("apigatewayv2"), _websocket_api(deployed)
    routes = client.get_routes(ApiId=api["ApiId"])["Items"]
    disconnect = next(r for r in routes if r["RouteKey"] == "$disconnect")
    client.delete_route(ApiId=api["ApiId"], RouteId=disconnect["RouteId"])
    return api["ApiId"]


def _recreate_stage(deployed: Deployed, *, throttled: bool) -> str:
    """Replace the WebSocket stage by one that keeps everything but throttling or access logs (moto has no
    UpdateStage; the console's edit does the same)."""
    client, api_id = deployed.client("apigatewayv2"), _websocket_api(deployed)["ApiId"]
    if not throttled:
        # The other region's WebSocket API: each stage step needs a stage no other step replaced.
        client = deployed.client("apigatewayv2", "us-west-2")
        api_id = next(a for a in client.get_apis()["Items"] if a["ProtocolType"] == "WEBSOCKET")["ApiId"]
    stage = client.get_stages(ApiId=api_id)["Items"][0]
    client.delete_stage(ApiId=api_id, StageName=stage["StageName"])
    args = {"ApiId": api_id, "StageName": stage["StageName"]}
    if throttled:
        args["DefaultRouteSettings"] = stage["DefaultRouteSettings"]
    else:
        args["AccessLogSettings"] = stage["AccessLogSettings"]
    client.create_stage(**args)
    return f"{api_id}/{stage['StageName']}"


def _function(deployed: Deployed, kind: str, region: str = "us-east-1") -> dict:
    name = f"parley-aws-serverless-prod-{kind}"
    return deployed.client("lambda", region).get_function(FunctionName=name)["Configuration"]


def _old_runtime(deployed: Deployed) -> str:
    function = _function(deployed, "http")
    deployed.client("lambda").update_function_configuration(FunctionName=function["FunctionName"], Runtime="python3.8")
    return function["FunctionArn"]


def _foreign_role(deployed: Deployed) -> str:
    function = _function(deployed, "websocket")
    statement = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    trust = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    role = deployed.client("iam").create_role(RoleName="someone-elses", AssumeRolePolicyDocument=trust)["Role"]
    deployed.client("lambda").update_function_configuration(FunctionName=function["FunctionName"], Role=role["Arn"])
    return function["FunctionArn"]


def _public_url(deployed: Deployed) -> str:
    function = _function(deployed, "http", "us-west-2")
    deployed.client("lambda", "us-west-2").create_function_url_config(
        FunctionName=function["FunctionName"], AuthType="NONE"
    )
    return function["FunctionArn"]


def _unreserved(deployed: Deployed) -> str:
    function = _function(deployed, "websocket", "us-west-2")
    deployed.client("lambda", "us-west-2").delete_function_concurrency(FunctionName=function["FunctionName"])
    return function["FunctionArn"]


def _logs_kept_forever(deployed: Deployed) -> str:
    function = _function(deployed, "http")
    deployed.client("logs").delete_retention_policy(logGroupName=f"/aws/lambda/{function['FunctionName']}")
    return function["FunctionArn"]


SERVERLESS_STEPS: list[tuple[str, Step]] = [
    ("apigw.route-selection", _drop_disconnect_route),
    ("apigw.access-logs", lambda d: _recreate_stage(d, throttled=True)),
    ("apigw.throttling", lambda d: _recreate_stage(d, throttled=False)),
    ("lambda.runtime", _old_runtime),
    ("lambda.role", _foreign_role),
    ("lambda.function-url", _public_url),
    ("lambda.reserved-concurrency", _unreserved),
    ("lambda.logs", _logs_kept_forever),
]


def _log_bucket(deployed: Deployed) -> str:
    return deployed.client("s3").list_buckets()["Buckets"][0]["Name"]


def _open_bucket(deployed: Deployed) -> str:
    deployed.client("s3").delete_public_access_block(Bucket=_log_bucket(deployed))
    return _log_bucket(deployed)


def _unencrypted_bucket(deployed: Deployed) -> str:
    deployed.client("s3").delete_bucket_encryption(Bucket=_log_bucket(deployed))
    return _log_bucket(deployed)


def _acls_back_on(deployed: Deployed) -> str:
    controls = {"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    deployed.client("s3").put_bucket_ownership_controls(Bucket=_log_bucket(deployed), OwnershipControls=controls)
    return _log_bucket(deployed)


def _access_logs_off(deployed: Deployed) -> str:
    balancer, _ = _listeners(deployed)
    off = [{"Key": "access_logs.s3.enabled", "Value": "false"}]
    deployed.client("elbv2").modify_load_balancer_attributes(LoadBalancerArn=balancer, Attributes=off)
    return balancer


def _no_flow_logs(deployed: Deployed) -> str:
    ec2 = deployed.client("ec2")
    flow_log = ec2.describe_flow_logs()["FlowLogs"][0]
    ec2.delete_flow_logs(FlowLogIds=[flow_log["FlowLogId"]])
    return flow_log["ResourceId"]


def _repository(deployed: Deployed) -> dict:
    return deployed.client("ecr").describe_repositories()["repositories"][0]


def _unscanned(deployed: Deployed) -> str:
    repository = _repository(deployed)
    deployed.client("ecr").put_image_scanning_configuration(
        repositoryName=repository["repositoryName"], imageScanningConfiguration={"scanOnPush": False}
    )
    return repository["repositoryArn"]


def _mutable_tags(deployed: Deployed) -> str:
    repository = _repository(deployed)
    deployed.client("ecr").put_image_tag_mutability(
        repositoryName=repository["repositoryName"], imageTagMutability="MUTABLE"
    )
    return repository["repositoryArn"]


def _silent_alarms(deployed: Deployed) -> str:
    cloudwatch = deployed.client("cloudwatch")
    names = [a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]]
    cloudwatch.delete_alarms(AlarmNames=names)
    return "us-east-1"


def _fixed_size(deployed: Deployed) -> str:
    scaling = deployed.client("application-autoscaling")
    target = scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"][0]
    scaling.deregister_scalable_target(
        ServiceNamespace="ecs", ResourceId=target["ResourceId"], ScalableDimension=target["ScalableDimension"]
    )
    service = deployed.client("ecs").describe_services(
        cluster=target["ResourceId"].split("/")[1], services=[target["ResourceId"].split("/")[2]]
    )["services"][0]
    return service["serviceArn"]


CONTAINER_STEPS: list[tuple[str, Step]] = [
    ("s3.public-access", _open_bucket),
    ("s3.encrypted", _unencrypted_bucket),
    ("s3.ownership", _acls_back_on),
    ("alb.access-logs", _access_logs_off),
    ("vpc.flow-logs", _no_flow_logs),
    ("ecr.scan", _unscanned),
    ("ecr.immutable-tags", _mutable_tags),
    ("alarms.present", _silent_alarms),
    ("ecs.autoscaling", _fixed_size),
]


@pytest.mark.parametrize(
    ("stack", "steps"), [("aws-serverless-prod", SERVERLESS_STEPS), ("aws-dev", CONTAINER_STEPS)], ids=["lambda", "ecs"]
)
def test_each_break_fails_exactly_its_check(stack: str, steps: list[tuple[str, Step]], deploy) -> None:
    deployed = deploy(stack)
    before = failed(deployed.verify())
    assert before == set()
    for check, step in steps:
        resource = step(deployed)
        findings = deployed.verify()
        now = failed(findings)
        assert now - before == {(check, resource)}, f"after breaking {check}"
        message = next(f.message for f in findings if (f.check, f.resource) == (check, resource))
        assert "Fix:" in message, message
        before = now
