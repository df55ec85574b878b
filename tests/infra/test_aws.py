"""The `aws` target (infra/aws/) run for real under Pulumi mocks (`infra.plan.run_stack`), once per stack in
`stacks/` whose target is `aws`, and checked for the invariants its issue asks for: redundancy per environment,
a second region in prod with DNS failover, cost tags on every resource, encryption at rest and in transit, a
least-privilege security-group chain, a hardened load balancer and tasks, no secret value outside a Pulumi
secret, and one clear refusal per kind of bad configuration."""

from __future__ import annotations

import importlib
import inspect
import json
import re
from functools import cache
from pathlib import Path

import pytest

from infra.aws.config import AWS_KEYS, load
from infra.aws.tags import TAG_KEYS
from infra.plan import Plan, PlanError, Resource, Secret, run_stack
from infra.plan.values import reveal
from infra.stack_config import StackConfig
from tests.support.plans import assert_counts, config_of, named, of_type, planned, refusal, stacks_of, walk
from tests.support.sdk_inputs import sdk_problems
from tests.support.targets import assert_components_name_their_children, assert_settings_declared, plain_copies

ROOT = Path(__file__).resolve().parents[2]
AWS_STACKS = stacks_of("aws")
# Resources per stack, components included; docs/aws.md's table shows the same numbers.
RESOURCE_COUNTS = {"aws-dev": 104, "aws-prod": 248, "aws-staging": 115}
ENVIRONMENTS = {"aws-dev": "dev", "aws-staging": "staging", "aws-prod": "prod"}
MODERN_TLS_POLICIES = {"ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"}
ANYWHERE = "0.0.0.0/0"
ELB_ACCOUNTS = {"us-east-1": "127311923021", "us-west-2": "797873946194"}  # AWS's ALB log writers there
# pulumi-aws warns about its own deprecated modules as they are imported.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_aws")


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {stack: planned(stack) for stack in AWS_STACKS}


def regions_of(plan: Plan) -> dict[str, str]:
    """Each aws provider's URN and the region it deploys to."""
    return {r.urn: r.inputs["region"] for r in plan.resources if r.type == "pulumi:providers:aws"}


def region(plan: Plan, resource: Resource) -> str:
    return regions_of(plan)[resource.provider]


def ids(plan: Plan, kind: str, name_part: str) -> set[str]:
    return {r.id for r in of_type(plan, kind) if name_part in r.name and r.id}


def test_the_aws_stacks_are_dev_staging_and_prod() -> None:
    assert AWS_STACKS == ["aws-dev", "aws-prod", "aws-staging"]


def test_resource_counts(plans: dict[str, Plan]) -> None:
    assert_counts(plans, RESOURCE_COUNTS, ROOT / "docs" / "aws.md")


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_aws_resource_carries_the_cost_tags(stack: str, plans: dict[str, Plan]) -> None:
    """No resource uses the default provider; every provider stamps the four tags on what it creates."""
    plan = plans[stack]
    providers = {r.urn: json.loads(r.inputs["defaultTags"])["tags"] for r in of_type(plan, "providers:aws")}
    wanted = {
        "parley:stack": stack,
        "parley:environment": ENVIRONMENTS[stack],
        "pulumi:project": "parley",
        "pulumi:stack": stack,
    }
    assert set(wanted) == set(TAG_KEYS)
    assert all(tags == wanted for tags in providers.values())
    taggable = 0
    for resource in plan.resources:
        if not resource.type.startswith("aws:"):
            continue
        assert resource.provider in providers, resource.name
        if _takes_tags(resource.type):
            taggable += 1
            effective = {**providers[resource.provider], **(resource.inputs.get("tags") or {})}
            assert effective.items() >= wanted.items(), resource.name
    assert taggable > 50


@cache
def _takes_tags(type_: str) -> bool:
    module_path, class_name = type_.split(":")[1].split("/")[0], type_.split(":")[2]
    resource_class = getattr(importlib.import_module(f"pulumi_aws.{module_path}"), class_name)
    return "tags" in inspect.signature(resource_class._internal_init).parameters


def test_prod_runs_in_two_regions_and_dev_and_staging_in_one(plans: dict[str, Plan]) -> None:
    assert sorted(regions_of(plans["aws-prod"]).values()) == ["us-east-1", "us-west-2"]
    assert list(regions_of(plans["aws-dev"]).values()) == ["us-east-1"]
    assert list(regions_of(plans["aws-staging"]).values()) == ["us-east-1"]
    prod = plans["aws-prod"]
    in_secondary = {r.type.split(":")[-1] for r in prod.resources if r.provider and region(prod, r) == "us-west-2"}
    assert {"Vpc", "NatGateway", "SecurityGroup", "Instance", "ReplicationGroup", "Service", "LoadBalancer"} <= (
        in_secondary
    )


@pytest.mark.parametrize(("stack", "zones", "nats"), [("aws-dev", 2, 1), ("aws-staging", 2, 2), ("aws-prod", 3, 3)])
def test_zones_and_nat_gateways(stack: str, zones: int, nats: int, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    for where in regions_of(plan).values():
        subnets = [r for r in of_type(plan, "ec2/subnet:Subnet") if region(plan, r) == where]
        tiers = [s.inputs["tags"]["parley:tier"] for s in subnets]
        assert sorted(tiers) == sorted(["public", "private", "isolated"] * zones)
        assert len({s.inputs["availabilityZone"] for s in subnets}) == zones
        assert not any(s.inputs["mapPublicIpOnLaunch"] for s in subnets)
        assert len([r for r in of_type(plan, "NatGateway") if region(plan, r) == where]) == nats


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_only_public_and_private_subnets_route_out(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    tables = {r.id: r for r in of_type(plan, "RouteTable")}
    default_routes = {r.inputs["routeTableId"]: r.inputs for r in of_type(plan, "ec2/route:Route")}
    for table_id, table in tables.items():
        route = default_routes.get(table_id)
        if "-isolated" in table.name:
            assert route is None
        elif "-public" in table.name:
            assert route is not None and route["gatewayId"] and "natGatewayId" not in route
        else:
            assert route is not None and route["natGatewayId"] and "gatewayId" not in route


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_flow_logs_and_endpoints(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    vpcs = of_type(plan, "ec2/vpc:Vpc")
    flow_logs = of_type(plan, "FlowLog")
    assert sorted(f.inputs["vpcId"] for f in flow_logs) == sorted(v.id for v in vpcs)
    assert all(f.inputs["trafficType"] == "ALL" and f.inputs["iamRoleArn"] for f in flow_logs)
    endpoints = [e.inputs for e in of_type(plan, "VpcEndpoint")]
    gateways = [e for e in endpoints if e["vpcEndpointType"] == "Gateway"]
    assert [e["serviceName"].rsplit(".", 1)[-1] for e in gateways] == ["s3"] * len(vpcs)
    interfaces = sorted(e["serviceName"].split(".", 3)[-1] for e in endpoints if e["vpcEndpointType"] == "Interface")
    wanted = [] if stack == "aws-dev" else sorted(["ecr.api", "ecr.dkr", "logs", "secretsmanager"] * len(vpcs))
    assert interfaces == wanted
    assert all(e["privateDnsEnabled"] for e in endpoints if e["vpcEndpointType"] == "Interface")


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_only_the_load_balancer_is_open_to_the_internet(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    groups = of_type(plan, "ec2/securityGroup:SecurityGroup")
    assert not any(g.inputs.get("ingress") or g.inputs.get("egress") for g in groups), "inline rules"
    albs = ids(plan, "ec2/securityGroup:SecurityGroup", "-sg-alb")
    ingress = [r.inputs for r in of_type(plan, "SecurityGroupIngressRule")]
    from_anywhere = [r for r in ingress if r.get("cidrIpv4") == ANYWHERE or r.get("cidrIpv6") == "::/0"]
    assert sorted(r["fromPort"] for r in from_anywhere) == sorted([80, 443] * len(albs))
    assert all(r["securityGroupId"] in albs and r["fromPort"] == r["toPort"] for r in from_anywhere)
    assert all(r.get("referencedSecurityGroupId") for r in ingress if r not in from_anywhere)


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_the_datastores_are_reachable_from_the_app_only(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    sg = "ec2/securityGroup:SecurityGroup"
    app, database, cache_ = ids(plan, sg, "-sg-app"), ids(plan, sg, "-sg-database"), ids(plan, sg, "-sg-cache")
    ingress = [r.inputs for r in of_type(plan, "SecurityGroupIngressRule")]
    egress = [r.inputs for r in of_type(plan, "SecurityGroupEgressRule")]
    for groups, port in ((database, 5432), (cache_, 6379)):
        rules = [r for r in ingress if r["securityGroupId"] in groups]
        assert len(rules) == len(groups)
        assert all(r["referencedSecurityGroupId"] in app and r["fromPort"] == r["toPort"] == port for r in rules)
        assert not [r for r in egress if r["securityGroupId"] in groups]
        to_them = [r for r in egress if r.get("referencedSecurityGroupId") in groups]
        assert all(r["securityGroupId"] in app and r["fromPort"] == port for r in to_them)
    app_egress = {(r["fromPort"], r.get("cidrIpv4")) for r in egress if r["securityGroupId"] in app}
    open_https = {(443, ANYWHERE)} if stack == "aws-dev" else {(443, None)}
    assert app_egress == {(5432, None), (6379, None)} | open_https
    alb_egress = [r for r in egress if r["securityGroupId"] in ids(plan, sg, "-sg-alb")]
    assert all(r["referencedSecurityGroupId"] in app and r["fromPort"] == 8000 for r in alb_egress)
    if stack != "aws-dev":
        # HTTPS only to the interface endpoints, and to S3's prefix list (which the mocks do not know, so the
        # plan cannot show it: the rule's only check here is that it opens nothing to 0.0.0.0/0).
        https = [r for r in of_type(plan, "SecurityGroupEgressRule") if r.inputs["fromPort"] == 443]
        endpoints = ids(plan, sg, "-sg-endpoints")
        assert sorted(r.name.rsplit("-", 1)[-1] for r in https) == sorted(["endpoints", "s3"] * len(app))
        assert len([r for r in https if r.inputs.get("referencedSecurityGroupId") in endpoints]) == len(app)


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_the_database_is_postgres_16_encrypted_and_private(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    keys = {r.outputs["arn"]: region(plan, r) for r in of_type(plan, "kms/key:Key") if "-key" in r.name}
    for database in of_type(plan, "rds/instance:Instance"):
        inputs = database.inputs
        assert inputs["storageEncrypted"] and keys[inputs["kmsKeyId"]] == region(plan, database)
        assert inputs["performanceInsightsEnabled"] and inputs["performanceInsightsKmsKeyId"] == inputs["kmsKeyId"]
        assert inputs["publiclyAccessible"] is False
        assert inputs.get("replicateSourceDb") or (inputs["engine"], inputs["engineVersion"]) == ("postgres", "16")
        assert isinstance(inputs.get("password"), Secret | None)
    assert all(r.inputs["enableKeyRotation"] for r in of_type(plan, "kms/key:Key"))


def test_prod_database_is_multi_az_protected_and_replicated(plans: dict[str, Plan]) -> None:
    plan = plans["aws-prod"]
    primary, replica = named(plan, "primary-db-postgres"), named(plan, "secondary-db-postgres")
    for database in (primary, replica):
        assert database.inputs["multiAz"] and database.inputs["deletionProtection"]
        assert database.inputs["skipFinalSnapshot"] is False and database.inputs["finalSnapshotIdentifier"]
        assert 14 <= database.inputs["backupRetentionPeriod"] <= 30
    assert (region(plan, primary), region(plan, replica)) == ("us-east-1", "us-west-2")
    assert replica.inputs["replicateSourceDb"] == primary.outputs["arn"]
    assert ":us-west-2:" in replica.inputs["kmsKeyId"]
    assert "password" not in replica.inputs and "username" not in replica.inputs
    (lag,) = [a for a in of_type(plan, "MetricAlarm") if a.inputs["metricName"] == "ReplicaLag"]
    assert lag.inputs["dimensions"] == {"DBInstanceIdentifier": replica.outputs["identifier"]}


def test_dev_database_is_single_az_and_disposable(plans: dict[str, Plan]) -> None:
    (database,) = of_type(plans["aws-dev"], "rds/instance:Instance")
    assert database.inputs["multiAz"] is False and database.inputs["deletionProtection"] is False
    assert database.inputs["backupRetentionPeriod"] == 7 and database.inputs["skipFinalSnapshot"] is True
    assert database.inputs["instanceClass"] == "db.t4g.micro"


@pytest.mark.parametrize(("stack", "nodes"), [("aws-dev", 1), ("aws-staging", 2), ("aws-prod", 2)])
def test_redis_is_encrypted_authenticated_and_redundant_outside_dev(
    stack: str, nodes: int, plans: dict[str, Plan]
) -> None:
    plan = plans[stack]
    private = {r.id for r in of_type(plan, "ec2/subnet:Subnet") if r.inputs["tags"]["parley:tier"] == "private"}
    for group in of_type(plan, "ReplicationGroup"):
        inputs = group.inputs
        assert inputs["transitEncryptionEnabled"] and inputs["transitEncryptionMode"] == "required"
        assert inputs["atRestEncryptionEnabled"] and inputs["kmsKeyId"]
        assert isinstance(inputs["authToken"], Secret)
        assert inputs["numCacheClusters"] == nodes
        assert inputs["automaticFailoverEnabled"] is inputs["multiAzEnabled"] is (nodes > 1)
    for subnet_group in of_type(plan, "elasticache/subnetGroup:SubnetGroup"):
        assert set(subnet_group.inputs["subnetIds"]) <= private


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_the_load_balancer_redirects_http_and_speaks_modern_tls(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    for listener in of_type(plan, "Listener"):
        inputs = listener.inputs
        (action,) = inputs["defaultActions"]
        if inputs["port"] == 80:
            assert action["type"] == "redirect"
            assert action["redirect"] == {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"}
        else:
            assert (inputs["port"], inputs["protocol"]) == (443, "HTTPS")
            assert inputs["sslPolicy"] in MODERN_TLS_POLICIES and inputs["certificateArn"]
            assert action["type"] == "forward"
    for alb in of_type(plan, "lb/loadBalancer:LoadBalancer"):
        assert alb.inputs["idleTimeout"] == 3600 and alb.inputs["dropInvalidHeaderFields"] is True
        assert alb.inputs["accessLogs"]["enabled"] and alb.inputs["accessLogs"]["bucket"]
    for group in of_type(plan, "TargetGroup"):
        assert group.inputs["healthCheck"]["path"] == "/readyz"
        assert group.inputs["stickiness"]["enabled"] is False and group.inputs["deregistrationDelay"] == 60


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_the_access_log_buckets_are_private_and_encrypted(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    buckets = {r.id for r in of_type(plan, "s3/bucket:Bucket")}
    blocks = of_type(plan, "BucketPublicAccessBlock")
    assert {b.inputs["bucket"] for b in blocks} == buckets
    assert all(
        all(b.inputs[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
        for b in blocks
    )
    encryption = of_type(plan, "BucketServerSideEncryptionConfiguration")
    assert {e.inputs["bucket"] for e in encryption} == buckets
    for lifecycle in of_type(plan, "BucketLifecycleConfiguration"):
        (rule,) = lifecycle.inputs["rules"]
        assert rule["status"] == "Enabled" and rule["expiration"]["days"] > 0
    for policy in of_type(plan, "BucketPolicy"):
        statements = json.loads(policy.inputs["policy"])["Statement"]
        assert {s["Sid"] for s in statements} == {"AlbAccessLogs", "TlsOnly"}
        elb_account = ELB_ACCOUNTS[region(plan, policy)]
        assert statements[0]["Principal"] == {"AWS": f"arn:aws:iam::{elb_account}:root"}


def test_prod_fails_over_to_the_secondary_region_on_readyz(plans: dict[str, Plan]) -> None:
    plan = plans["aws-prod"]
    (check,) = of_type(plan, "HealthCheck")
    albs = {region(plan, r): r.outputs["dnsName"] for r in of_type(plan, "lb/loadBalancer:LoadBalancer")}
    assert (check.inputs["type"], check.inputs["resourcePath"], check.inputs["port"]) == ("HTTPS", "/readyz", 443)
    assert check.inputs["fqdn"] == albs["us-east-1"]
    records = {
        r.inputs["failoverRoutingPolicies"][0]["type"]: r.inputs
        for r in of_type(plan, "route53/record:Record")
        if r.inputs.get("failoverRoutingPolicies")
    }
    assert records.keys() == {"PRIMARY", "SECONDARY"}
    assert records["PRIMARY"]["healthCheckId"] == check.id
    assert records["PRIMARY"]["aliases"][0]["name"] == albs["us-east-1"]
    assert records["SECONDARY"]["aliases"][0]["name"] == albs["us-west-2"]
    assert {r["name"] for r in records.values()} == {"chat.example.com"}


@pytest.mark.parametrize("stack", ["aws-dev", "aws-staging"])
def test_one_region_stacks_have_a_plain_alias(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    assert not of_type(plan, "HealthCheck")
    aliases = [r.inputs for r in of_type(plan, "route53/record:Record") if r.inputs.get("aliases")]
    assert len(aliases) == 1 and "failoverRoutingPolicies" not in aliases[0]


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_tasks_are_private_read_only_non_root_and_get_secrets_by_arn(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    secret_arns = {r.outputs["arn"] for r in of_type(plan, "secretsmanager/secret:Secret")}
    private = {r.id for r in of_type(plan, "ec2/subnet:Subnet") if r.inputs["tags"]["parley:tier"] == "private"}
    for definition in of_type(plan, "TaskDefinition"):
        (container,) = json.loads(definition.inputs["containerDefinitions"])
        assert container["readonlyRootFilesystem"] is True and container["user"] == "10001:10001"
        assert container["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
        assert {s["valueFrom"] for s in container["secrets"]} <= secret_arns
        assert not {e["name"] for e in container["environment"]} & {s["name"] for s in container["secrets"]}
        migration = definition.name.endswith("-migrate")
        assert container["command"] == (["migrate"] if migration else ["serve", "--host", "0.0.0.0", "--port", "8000"])
        wanted = (
            {"PARLEY_DATABASE_URL"} if migration else {"PARLEY_DATABASE_URL", "PARLEY_BUS_URL", "PARLEY_SECRET_KEY"}
        )
        assert {s["name"] for s in container["secrets"]} == wanted
    for service in of_type(plan, "ecs/service:Service"):
        network = service.inputs["networkConfiguration"]
        assert network["assignPublicIp"] is False and set(network["subnets"]) <= private
        assert service.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_the_roles_are_least_privilege(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    for policy in of_type(plan, "RolePolicy"):
        statements = json.loads(policy.inputs["policy"])["Statement"]
        for statement in statements:
            if statement["Resource"] == ["*"]:
                assert statement["Action"] == ["ecr:GetAuthorizationToken"], policy.name
        if policy.name.endswith("-execution"):
            secrets = [s for s in statements if "secretsmanager:GetSecretValue" in s["Action"]]
            assert [s["Action"] for s in secrets] == [["secretsmanager:GetSecretValue"]]
            assert len(secrets[0]["Resource"]) == 3 and all(":secret:" in arn for arn in secrets[0]["Resource"])
    task_roles = {r.name for r in of_type(plan, "iam/role:Role") if r.name.endswith("-task")}
    policies_of = {p.inputs["role"] for p in of_type(plan, "RolePolicy")}
    assert task_roles and not {r.id for r in of_type(plan, "iam/role:Role") if r.name in task_roles} & policies_of


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_no_secret_value_appears_outside_a_pulumi_secret(stack: str, plans: dict[str, Plan]) -> None:
    """The generated passwords (the mocks' random values) may travel only inside secrets: in the RDS and
    Redis inputs and the Secrets Manager versions, never in plain inputs, outputs or stack outputs."""
    plan = plans[stack]
    generated = [r.outputs["result"].value for r in of_type(plan, "RandomPassword")]
    assert len(generated) == 2 + len(regions_of(plan)) and all(len(value) >= 40 for value in generated)
    assert plain_copies(plan, generated) == []
    # The check can fail: the values are there, inside the secrets.
    versions = [reveal(r.inputs["secretString"]) for r in of_type(plan, "SecretVersion")]
    assert all(any(g in version for version in versions) for g in generated)


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_alarms_watch_the_service_and_datastores(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    topics = {r.outputs["arn"] for r in of_type(plan, "sns/topic:Topic")}
    assert all(t.inputs["kmsMasterKeyId"] for t in of_type(plan, "sns/topic:Topic"))
    alarms = of_type(plan, "MetricAlarm")
    metrics = {(a.inputs["namespace"], a.inputs["metricName"]) for a in alarms}
    assert metrics >= {
        ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/ApplicationELB", "UnHealthyHostCount"),
        ("AWS/ECS", "CPUUtilization"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "FreeStorageSpace"),
        ("AWS/ElastiCache", "EngineCPUUtilization"),
    }
    assert all(set(a.inputs["alarmActions"]) <= topics and a.inputs["alarmActions"] for a in alarms)


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_images_and_autoscaling(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    (repository,) = of_type(plan, "ecr/repository:Repository")
    assert repository.inputs["name"] == f"parley/{stack}"
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert of_type(plan, "ecr/lifecyclePolicy:LifecyclePolicy")
    replication = of_type(plan, "ReplicationConfiguration")
    destinations = [
        d["region"]
        for r in replication
        for rule in r.inputs["replicationConfiguration"]["rules"]
        for d in rule["destinations"]
    ]
    assert destinations == (["us-west-2"] if stack == "aws-prod" else [])
    for target in of_type(plan, "appautoscaling/target:Target"):
        assert 1 <= target.inputs["minCapacity"] <= target.inputs["maxCapacity"]
    kinds = sorted(
        p.inputs["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"]["predefinedMetricType"]
        for p in of_type(plan, "appautoscaling/policy:Policy")
    )
    assert kinds == sorted(["ALBRequestCountPerTarget", "ECSServiceAverageCPUUtilization"] * len(regions_of(plan)))


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_components_are_typed_and_name_their_children(stack: str, plans: dict[str, Plan]) -> None:
    assert_components_name_their_children(plans[stack], "aws")


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_stack_outputs_name_things_but_hold_no_secrets(stack: str, plans: dict[str, Plan]) -> None:
    outputs = plans[stack].outputs
    host = config_of(stack)["parley:host"]
    assert outputs["url"] == f"https://{host}"
    assert outputs["ecrRepositoryUrl"].endswith(f"/parley/{stack}")
    assert set(outputs["albDnsNames"]) == set(regions_of(plans[stack]).values())
    for arns in outputs["secretArns"].values():
        assert set(arns) == {"PARLEY_SECRET_KEY", "PARLEY_DATABASE_URL", "PARLEY_BUS_URL"}
        assert all(arn.startswith("arn:aws:secretsmanager:") for arn in arns.values())
    assert outputs["migration"]["taskDefinition"].endswith("-migrate")
    assert set(outputs["databaseIdentifiers"]) == set(outputs["albDnsNames"])
    assert (outputs.get("healthCheckId") is not None) == (stack == "aws-prod")
    assert not [path for path, leaf in walk(outputs) if isinstance(leaf, Secret)]


BAD_CONFIG = [
    ({"parley:dbInstanceClas": "db.t4g.micro"}, "parley:dbInstanceClas: is not a setting of the aws target"),
    ({"parley:namespace": "chat"}, "parley:namespace: is not a setting of the aws target"),
    ({"parley:vpcCidr": "10.0.0.0/33"}, "parley:vpcCidr: '10.0.0.0/33' is not an IPv4 CIDR block"),
    ({"parley:vpcCidr": "10.0.0.1/16"}, "parley:vpcCidr: '10.0.0.1/16' is not an IPv4 CIDR block"),
    ({"parley:vpcCidr": "8.8.0.0/16"}, "parley:vpcCidr: 8.8.0.0/16 is not a private"),
    ({"parley:vpcCidr": "10.0.0.0/8"}, "parley:vpcCidr: 10.0.0.0/8 must have a prefix length from /16 to /24"),
    ({"aws:region": "us-middle-1"}, "aws:region: 'us-middle-1' is not an AWS region"),
    ({"parley:secondaryRegion": "mars-north-1"}, "parley:secondaryRegion: 'mars-north-1' is not an AWS region"),
    ({"parley:secondaryRegion": "us-east-1"}, "parley:secondaryRegion: must differ from aws:region"),
    ({"parley:dbPassword": "hunter2"}, "parley:dbPassword: holds a secret in plain text"),
    ({"parley:secretKey": "not-so-secret"}, "parley:secretKey: holds a secret in plain text"),
    ({"aws:secretKey": "AKIA-not-secret"}, "aws:secretKey: holds a secret in plain text"),
    ({"parley:environment": "qa"}, "parley:environment: 'qa' is not one of dev, staging, prod"),
    ({"parley:host": "Chat Example"}, "parley:host: 'Chat Example' is not a lower-case DNS name"),
    ({"parley:hostedZoneId": ""}, "parley:hostedZoneId: is required"),
    ({"parley:taskCpu": "256", "parley:taskMemory": "4096"}, "parley:taskMemory: Fargate pairs 256 CPU units"),
    ({"parley:availabilityZones": "5"}, "parley:availabilityZones: must be 2 or 3, not 5"),
    ({"parley:replicas": "4", "parley:maxReplicas": "2"}, "parley:maxReplicas: 2 is below parley:replicas (4)"),
    ({"parley:replicaPromoted": "yes"}, "parley:replicaPromoted: 'yes' is not true or false"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_CONFIG, ids=[next(iter(o)) for o, _ in BAD_CONFIG])
def test_bad_configuration_is_refused_with_one_clear_message(overrides: dict[str, str], message: str) -> None:
    # One line, and the key comes first: "<key>: <problem>".
    assert refusal("aws-dev", overrides).startswith(message)


def test_a_secret_set_as_a_secret_is_not_refused_as_plain_text() -> None:
    """The plain-text check reads which keys are secret: the same key set with --secret passes it (and is
    then refused only because the aws target generates that secret itself)."""
    with pytest.raises(PlanError, match="parley:dbPassword: is not a setting of the aws target"):
        run_stack("aws-dev", config_overrides={"parley:dbPassword": Secret("hunter2")})


def test_prod_requires_a_secondary_region() -> None:
    with pytest.raises(PlanError, match="parley:secondaryRegion: is required in prod"):
        run_stack("aws-prod", config_overrides={"parley:secondaryRegion": ""})


def test_the_configuration_is_checked_without_declaring_anything() -> None:
    """`load` is pure: it takes the config map and names the bad key, so it runs before any resource."""
    values = {
        "aws:region": "eu-west-1",
        "parley:target": "aws",
        "parley:host": "chat.example.org",
        "parley:hostedZoneId": "Z123",
        "parley:imageTag": "1.0.0",
        "parley:environment": "staging",
    }
    config = load(StackConfig(values, frozenset()), "aws-staging")
    assert (config.region, config.sizing.availability_zones, config.sizing.db_multi_az) == ("eu-west-1", 2, True)
    assert config.secondary_region is None and config.regions == ["eu-west-1"]
    with pytest.raises(Exception, match=re.escape("parley:vpcCidr: 192.168.0.0/15 is not a private")):
        load(StackConfig({**values, "parley:vpcCidr": "192.168.0.0/15"}, frozenset()), "aws-staging")


def test_a_promoted_replica_is_declared_standalone() -> None:
    plan = run_stack("aws-prod", config_overrides={"parley:replicaPromoted": "true"})
    replica = named(plan, "secondary-db-postgres")
    assert "replicateSourceDb" not in replica.inputs
    assert not [a for a in of_type(plan, "MetricAlarm") if a.inputs["metricName"] == "ReplicaLag"]


def test_pulumi_yaml_declares_every_setting_the_aws_target_reads() -> None:
    assert_settings_declared(AWS_KEYS, AWS_STACKS)


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_input_is_one_the_provider_declares(stack: str, plans: dict[str, Plan]) -> None:
    problems = [p for r in plans[stack].resources for p in sdk_problems(r.type, r.inputs)]
    assert problems == []
