"""The `aws-serverless` target (infra/aws/serverless.py) run for real under Pulumi mocks (`infra.plan.run_stack`):
the WebSocket routes and their selection expression, the functions, the tables' protection and replication,
least privilege scoped to this stack's API and tables, the custom domains and Route 53 failover between the
regions, tags on every resource, and refused configuration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.api.routes.ops import router as ops_routes
from app.settings import Settings
from infra.aws.dns import SERVERLESS_CHECK_INTERVAL
from infra.aws.edge import HEALTH_PATH
from infra.aws.serverless_region import (
    RATELIMIT_ACTIONS,
    ROUTE_SELECTION_EXPRESSION,
    TABLE_ACTIONS,
    WEBSOCKET_ROUTES,
)
from infra.aws.tags import TAG_KEYS
from infra.plan import Plan, PlanError, Resource, Secret, run_stack
from tests.support.plans import assert_counts, of_type, planned
from tests.support.sdk_inputs import sdk_problems

STACK = "aws-serverless-prod"
REGIONS = ["us-east-1", "us-west-2"]
HOST, WEBSOCKET_HOST, ZONE = "chat-sls.example.com", "ws.chat-sls.example.com", "Z0123456789SLSEXAMPLE"
ONE_REGION_DEV = {"parley:environment": "dev", "parley:secondaryRegion": ""}
# Resources per plan, components included; docs/aws.md's serverless table shows the same numbers.
RESOURCE_COUNTS = {"aws-serverless-prod": 100, "dev, one region": 53, "dev, no host": 39}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "aws.md"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_aws")


@pytest.fixture(scope="module")
def prod() -> Plan:
    return planned(STACK)


@pytest.fixture(scope="module")
def dev() -> Plan:
    return run_stack(STACK, config_overrides=ONE_REGION_DEV)


@pytest.fixture(scope="module")
def dev_without_host() -> Plan:
    return run_stack(STACK, config_overrides={**ONE_REGION_DEV, "parley:host": "", "parley:hostedZoneId": ""})


def region_of(plan: Plan, resource: Resource) -> str:
    providers = {r.urn: r.inputs["region"] for r in plan.resources if r.type == "pulumi:providers:aws"}
    return providers[resource.provider]


def in_region(plan: Plan, kind: str, region: str) -> list[Resource]:
    return [r for r in of_type(plan, kind) if region_of(plan, r) == region]


def websocket_api(plan: Plan, region: str) -> Resource:
    (api,) = [a for a in in_region(plan, "apigatewayv2/api:Api", region) if a.inputs["protocolType"] == "WEBSOCKET"]
    return api


def function_variables(plan: Plan, region: str, kind: str) -> dict[str, Any]:
    (function,) = [f for f in in_region(plan, "function:Function", region) if f.name.endswith(f"-{kind}")]
    variables: dict[str, Any] = function.inputs["environment"]["variables"]
    return variables


def statements(plan: Plan, region: str) -> dict[str, dict[str, Any]]:
    (policy,) = in_region(plan, "iam/rolePolicy:RolePolicy", region)
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


@pytest.mark.parametrize("region", REGIONS)
def test_every_websocket_route_goes_to_the_function_selected_by_frame_type(prod: Plan, region: str) -> None:
    api = websocket_api(prod, region)
    assert api.inputs["routeSelectionExpression"] == ROUTE_SELECTION_EXPRESSION == "$request.body.type"
    routes = [r for r in in_region(prod, "apigatewayv2/route:Route", region) if r.inputs["apiId"] == api.id]
    assert sorted(r.inputs["routeKey"] for r in routes) == sorted(WEBSOCKET_ROUTES)
    assert {"$connect", "$disconnect", "$default"} <= set(WEBSOCKET_ROUTES)
    (integration,) = [i for i in in_region(prod, "integration:Integration", region) if i.inputs["apiId"] == api.id]
    assert {r.inputs["target"] for r in routes} == {f"integrations/{integration.id}"}
    (function,) = [f for f in in_region(prod, "function:Function", region) if f.name.endswith("-websocket")]
    assert integration.inputs["integrationUri"] == function.outputs["invokeArn"]
    assert integration.inputs["integrationType"] == "AWS_PROXY"


def test_the_rest_api_is_an_http_api_in_front_of_its_own_function(prod: Plan) -> None:
    for region in REGIONS:
        (api,) = [a for a in in_region(prod, "apigatewayv2/api:Api", region) if a.inputs["protocolType"] == "HTTP"]
        (route,) = [r for r in of_type(prod, "route:Route") if r.inputs["apiId"] == api.id]
        (integration,) = [i for i in of_type(prod, "integration:Integration") if i.inputs["apiId"] == api.id]
        assert route.inputs["routeKey"] == "$default" and integration.inputs["payloadFormatVersion"] == "2.0"
        (function,) = [f for f in in_region(prod, "function:Function", region) if f.name.endswith("-http")]
        assert function.inputs["handler"] == "app.serverless.handlers.http"
        assert integration.inputs["integrationUri"] == function.outputs["invokeArn"]


def test_stages_are_throttled_and_keep_access_logs(prod: Plan) -> None:
    log_groups = {g.outputs["arn"]: g for g in of_type(prod, "cloudwatch/logGroup:LogGroup")}
    stages = of_type(prod, "apigatewayv2/stage:Stage")
    assert len(stages) == 2 * len(REGIONS)
    for stage in stages:
        throttling = stage.inputs["defaultRouteSettings"]
        assert throttling["throttlingBurstLimit"] > 0 and throttling["throttlingRateLimit"] > 0
        destination = log_groups[stage.inputs["accessLogSettings"]["destinationArn"]]
        assert destination.inputs["retentionInDays"] == 90
        assert json.loads(stage.inputs["accessLogSettings"]["format"])["requestId"] == "$context.requestId"


def test_functions_run_python_312_on_arm_with_secrets_by_arn_and_their_own_logs(prod: Plan) -> None:
    functions = of_type(prod, "function:Function")
    assert len(functions) == 2 * len(REGIONS)
    log_groups = {g.inputs["name"]: g for g in of_type(prod, "cloudwatch/logGroup:LogGroup")}
    for function in functions:
        inputs = function.inputs
        assert (inputs["runtime"], inputs["architectures"]) == ("python3.12", ["arm64"])
        assert inputs["memorySize"] == 1024 and inputs["reservedConcurrentExecutions"] == 200
        assert inputs["code"]["archive"]["path"].endswith("build/lambda/parley-lambda.zip")
        variables = inputs["environment"]["variables"]
        assert "PARLEY_SECRET_KEY" not in variables
        assert variables["PARLEY_SECRET_KEY_ARN"].startswith(f"arn:aws:secretsmanager:{region_of(prod, function)}:")
        assert variables["PARLEY_DATABASE_URL"].startswith("dynamodb://?region=")
        assert variables["PARLEY_BUS_URL"].startswith("apigateway://") and variables["PARLEY_ENV"] == "production"
        (ratelimit,) = [
            t for t in in_region(prod, "dynamodb/table:Table", region_of(prod, function)) if "ratelimit" in t.name
        ]
        expected = f"dynamodb://?region={region_of(prod, function)}&table={ratelimit.outputs['name']}"
        assert variables["PARLEY_RATELIMIT_URL"] == expected
        assert log_groups[inputs["loggingConfig"]["logGroup"]].inputs["retentionInDays"] == 90


def test_every_table_is_on_demand_encrypted_with_a_key_and_recoverable(prod: Plan, dev: Plan) -> None:
    for plan in (prod, dev):
        keys = {k.outputs["arn"]: k for k in of_type(plan, "kms/key:Key")}
        tables = of_type(plan, "dynamodb/table:Table")
        assert len(tables) == 1 + 2 * len(keys)  # the store, and a connections and a rate-limit table per region
        for table in tables:
            assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
            assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
            encryption = table.inputs["serverSideEncryption"]
            assert encryption["enabled"] is True
            assert keys[encryption["kmsKeyArn"]].inputs["enableKeyRotation"] is True
            assert region_of(plan, keys[encryption["kmsKeyArn"]]) == region_of(plan, table)
        for regional in [t for t in tables if t.name.endswith(("-connections", "-ratelimit"))]:
            assert regional.inputs["ttl"] == {"attributeName": "expires_at", "enabled": True}


def test_prod_replicates_the_store_to_the_second_region_and_dev_does_not(prod: Plan, dev: Plan) -> None:
    (store,) = [t for t in of_type(prod, "dynamodb/table:Table") if t.name.endswith("-store")]
    assert region_of(prod, store) == "us-east-1" and store.inputs["deletionProtectionEnabled"] is True
    (replica,) = store.inputs["replicas"]
    assert replica["regionName"] == "us-west-2" and replica["pointInTimeRecovery"] is True
    assert replica["kmsKeyArn"].startswith("arn:aws:kms:us-west-2:")
    assert store.inputs["streamEnabled"] is True
    # A connection lives in one region's API, and send budgets are per region: their tables are never replicated.
    for kind in ("-connections", "-ratelimit"):
        regional = [t for t in of_type(prod, "dynamodb/table:Table") if t.name.endswith(kind)]
        assert sorted(region_of(prod, t) for t in regional) == REGIONS
        assert not any(t.inputs.get("replicas") or t.inputs.get("streamEnabled") for t in regional)

    (dev_store,) = [t for t in of_type(dev, "dynamodb/table:Table") if t.name.endswith("-store")]
    assert not dev_store.inputs.get("replicas") and dev_store.inputs["deletionProtectionEnabled"] is False
    assert {region_of(dev, r) for r in of_type(dev, "function:Function")} == {"us-east-1"}


@pytest.mark.parametrize("region", REGIONS)
def test_the_functions_may_manage_this_apis_connections_and_these_tables_only(prod: Plan, region: str) -> None:
    granted = statements(prod, region)
    api_arn = websocket_api(prod, region).outputs["executionArn"]
    assert api_arn.startswith(f"arn:aws:execute-api:{region}:123456789012:")
    assert granted["Connections"]["Action"] == ["execute-api:ManageConnections"]
    assert granted["Connections"]["Resource"] == [
        f"{api_arn}/prod/POST/@connections/*",
        f"{api_arn}/prod/DELETE/@connections/*",
    ]
    tables = {t.name.rsplit("-", 1)[1]: t.outputs["arn"] for t in in_region(prod, "dynamodb/table:Table", region)}
    store_arn = f"arn:aws:dynamodb:{region}:123456789012:table/parley-{STACK}-store"
    assert granted["Tables"]["Resource"] == [store_arn, tables["connections"]]
    assert granted["Tables"]["Action"] == TABLE_ACTIONS
    # The limiter's counters: read and add, on this region's rate-limit table only.
    assert granted["RateLimit"]["Resource"] == [tables["ratelimit"]]
    assert granted["RateLimit"]["Action"] == RATELIMIT_ACTIONS == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    (secret,) = in_region(prod, "secretsmanager/secret:Secret", region)
    assert granted["SecretKey"]["Resource"] == [secret.outputs["arn"]]
    for statement in granted.values():
        resources = statement["Resource"]
        assert all(r != "*" and ":*:" not in r for r in resources), statement
        assert not any(a.endswith("*") for a in statement["Action"]), statement


def test_the_jwt_secret_is_generated_and_stored_as_a_secret_in_each_region(prod: Plan) -> None:
    versions = of_type(prod, "secretsmanager/secretVersion:SecretVersion")
    assert len(versions) == len(REGIONS)
    assert all(isinstance(v.inputs["secretString"], Secret) for v in versions)
    assert len({v.inputs["secretString"].value for v in versions}) == 1  # one key: tokens work in both regions
    assert all(len(v.inputs["secretString"].value) == 64 for v in versions)


def test_every_aws_resource_carries_the_cost_tags(prod: Plan) -> None:
    providers = {r.urn: json.loads(r.inputs["defaultTags"])["tags"] for r in of_type(prod, "providers:aws")}
    assert sorted(p["region"] for p in [r.inputs for r in of_type(prod, "providers:aws")]) == REGIONS
    for tags in providers.values():
        assert set(TAG_KEYS) <= tags.keys()
        assert tags["parley:environment"] == "prod" and tags["parley:stack"] == STACK
    aws_resources = [r for r in prod.resources if r.type.startswith("aws:")]
    assert len(aws_resources) > 50
    assert all(r.provider in providers for r in aws_resources), [r.name for r in aws_resources if not r.provider]


def test_components_are_typed_and_own_their_children(prod: Plan) -> None:
    (top,) = of_type(prod, "parley:aws:Serverless")
    regions = of_type(prod, "parley:aws:ServerlessRegion")
    assert [r.parent for r in regions] == [top.urn] * len(REGIONS)
    domains = of_type(prod, "parley:aws:ApiDomains")
    assert sorted(d.parent for d in domains) == sorted(r.urn for r in regions)
    by_urn = prod.by_urn()

    def descends_from_top(resource: Resource) -> bool:
        return resource.parent == top.urn or (resource.parent in by_urn and descends_from_top(by_urn[resource.parent]))

    assert all(descends_from_top(r) for r in prod.resources if r is not top)
    assert prod.outputs["storeTable"] == f"parley-{STACK}-store"
    assert sorted(prod.outputs["websocketUrls"]) == REGIONS
    assert (prod.outputs["url"], prod.outputs["websocketUrl"]) == (f"https://{HOST}", f"wss://{WEBSOCKET_HOST}")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"parley:secondaryRegion": ""}, "parley:secondaryRegion: is required in prod"),
        ({"parley:secondaryRegion": "us-east-1"}, "parley:secondaryRegion: must differ from aws:region"),
        ({"parley:environment": "qa"}, "parley:environment: 'qa' is not one of dev, staging, prod"),
        ({"parley:imageTag": "1.0"}, "parley:imageTag: is not a setting of the aws-serverless target"),
        ({"aws:region": "mars-north-1"}, "aws:region: 'mars-north-1' is not an AWS region"),
        ({"parley:host": ""}, "parley:host: is required with parley:secondaryRegion, Route 53 fails the API names"),
        ({"parley:hostedZoneId": ""}, "parley:hostedZoneId: is required with parley:secondaryRegion"),
        ({"parley:host": "Chat.Example.com"}, "parley:host: 'Chat.Example.com' is not a lower-case DNS name"),
        ({"parley:hostedZoneId": "example.com"}, "parley:hostedZoneId: 'example.com' is not a Route 53 zone id"),
        ({**ONE_REGION_DEV, "parley:hostedZoneId": ""}, "parley:hostedZoneId: is required with parley:host"),
        ({**ONE_REGION_DEV, "parley:host": ""}, "parley:host: is required with parley:hostedZoneId"),
    ],
)
def test_bad_configuration_is_refused(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(PlanError, match=message.replace("(", r"\(")):
        run_stack(STACK, config_overrides=overrides)


def test_resource_counts(prod: Plan, dev: Plan, dev_without_host: Plan) -> None:
    plans = {"aws-serverless-prod": prod, "dev, one region": dev, "dev, no host": dev_without_host}
    assert_counts(plans, RESOURCE_COUNTS, DOCS)


@pytest.mark.parametrize("region", REGIONS)
def test_each_region_serves_both_names_on_its_own_validated_certificate(prod: Plan, region: str) -> None:
    (certificate,) = in_region(prod, "acm/certificate:Certificate", region)
    assert certificate.inputs["domainName"] == HOST and certificate.inputs["subjectAlternativeNames"] == [
        WEBSOCKET_HOST
    ]
    assert certificate.inputs["validationMethod"] == "DNS"
    (validation,) = in_region(prod, "certificateValidation:CertificateValidation", region)
    assert validation.inputs["certificateArn"] == certificate.outputs["arn"]
    # One validation record per name (ACM asks the same of every region), owned once, waited for by both regions.
    records = [r for r in of_type(prod, "route53/record:Record") if r.inputs["type"] == "CNAME"]
    assert sorted(validation.inputs["validationRecordFqdns"]) == sorted(r.outputs["fqdn"] for r in records)
    assert sorted(r.inputs["name"].rstrip(".").split(".", 1)[1] for r in records) == sorted([HOST, WEBSOCKET_HOST])
    assert all(region_of(prod, r) == REGIONS[0] for r in records)

    apis = {a.inputs["protocolType"]: a for a in in_region(prod, "apigatewayv2/api:Api", region)}
    domains = {d.inputs["domainName"]: d for d in in_region(prod, "domainName:DomainName", region)}
    mappings = {m.inputs["domainName"]: m for m in in_region(prod, "apiMapping:ApiMapping", region)}
    for host, protocol, stage in ((HOST, "HTTP", "$default"), (WEBSOCKET_HOST, "WEBSOCKET", "prod")):
        configuration = domains[host].inputs["domainNameConfiguration"]
        assert configuration == {
            "certificateArn": validation.outputs["certificateArn"],
            "endpointType": "REGIONAL",
            "securityPolicy": "TLS_1_2",
        }
        mapping = mappings[domains[host].id]
        assert (mapping.inputs["apiId"], mapping.inputs["stage"]) == (apis[protocol].id, stage)


def test_route53_fails_each_name_over_to_the_second_region_on_health_checks(prod: Plan) -> None:
    checks = {region_of(prod, c): c for c in of_type(prod, "route53/healthCheck:HealthCheck")}
    assert sorted(checks) == REGIONS
    for region, check in checks.items():
        (http_api,) = [a for a in in_region(prod, "apigatewayv2/api:Api", region) if a.inputs["protocolType"] == "HTTP"]
        inputs = check.inputs
        # The region's own HTTP API, on the route its function serves: /readyz reads the region's tables.
        assert inputs["fqdn"] == http_api.outputs["apiEndpoint"].removeprefix("https://")
        assert inputs["resourcePath"] == HEALTH_PATH and HEALTH_PATH in {r.path for r in ops_routes.routes}
        assert (inputs["type"], inputs["port"], inputs["enableSni"]) == ("HTTPS", 443, True)
        assert (inputs["requestInterval"], inputs["failureThreshold"]) == (SERVERLESS_CHECK_INTERVAL, 3)
    assert prod.outputs["healthCheckIds"] == {region: c.id for region, c in checks.items()}

    aliases = [r for r in of_type(prod, "route53/record:Record") if r.inputs["type"] == "A"]
    targets = {d.outputs["domainNameConfiguration"]["targetDomainName"]: d for d in of_type(prod, "DomainName")}
    for host in (HOST, WEBSOCKET_HOST):
        records = {r.inputs["failoverRoutingPolicies"][0]["type"]: r for r in aliases if r.inputs["name"] == host}
        assert sorted(records) == ["PRIMARY", "SECONDARY"]
        for role, region in (("PRIMARY", REGIONS[0]), ("SECONDARY", REGIONS[1])):
            record = records[role]
            assert record.inputs["zoneId"] == ZONE and record.inputs["setIdentifier"] == role.lower()
            (alias,) = record.inputs["aliases"]
            domain = targets[alias["name"]]
            assert domain.inputs["domainName"] == host and region_of(prod, domain) == region
            assert alias["zoneId"] == domain.outputs["domainNameConfiguration"]["hostedZoneId"]
            assert alias["evaluateTargetHealth"] is True
            assert record.inputs["healthCheckId"] == checks[region].id


def test_one_region_gets_plain_aliases_and_no_host_no_names(dev: Plan, dev_without_host: Plan) -> None:
    aliases = [r for r in of_type(dev, "route53/record:Record") if r.inputs["type"] == "A"]
    assert sorted(r.inputs["name"] for r in aliases) == sorted([HOST, WEBSOCKET_HOST])
    assert not any(r.inputs.get("failoverRoutingPolicies") or r.inputs.get("healthCheckId") for r in aliases)
    assert of_type(dev, "route53/healthCheck:HealthCheck") == []  # nothing to fail over to: no check to pay for
    assert dev.outputs["url"] == f"https://{HOST}" and dev.outputs["healthCheckIds"] == {}

    for kind in ("route53/record:Record", "acm/certificate:Certificate", "DomainName", "parley:aws:PublicName"):
        assert of_type(dev_without_host, kind) == [], kind
    assert "url" not in dev_without_host.outputs
    assert dev_without_host.outputs["httpUrls"]["us-east-1"].startswith("https://")


def test_every_input_is_one_the_provider_declares(prod: Plan) -> None:
    problems = [p for r in prod.resources for p in sdk_problems(r.type, r.inputs)]
    assert problems == []


def test_the_http_function_tells_clients_the_public_websocket_name(prod: Plan, dev: Plan) -> None:
    """With a host, every region serves the same `wss://ws.<host>`: Route 53 decides which region answers it."""
    for plan, regions in ((prod, REGIONS), (dev, REGIONS[:1])):
        for region in regions:
            served = function_variables(plan, region, "http")["PARLEY_PUBLIC_WEBSOCKET_URL"]
            assert served == f"wss://{WEBSOCKET_HOST}" == plan.outputs["websocketUrl"]
            assert Settings(public_websocket_url=served).public_websocket_url == served
            # The WebSocket function serves no REST: it is not told its own address.
            assert "PARLEY_PUBLIC_WEBSOCKET_URL" not in function_variables(plan, region, "websocket")


def test_without_a_host_clients_are_sent_to_the_regions_websocket_stage(dev_without_host: Plan) -> None:
    region = REGIONS[0]
    api = websocket_api(dev_without_host, region)
    (stage,) = [s for s in in_region(dev_without_host, "stage:Stage", region) if s.inputs["apiId"] == api.id]
    served = function_variables(dev_without_host, region, "http")["PARLEY_PUBLIC_WEBSOCKET_URL"]
    assert served == stage.outputs["invokeUrl"] == dev_without_host.outputs["websocketUrls"][region]
    assert served.startswith(f"wss://{api.id}.execute-api.{region}.amazonaws.com/")
    assert Settings(public_websocket_url=served).public_websocket_url == served
