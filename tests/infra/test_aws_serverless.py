"""The `aws-serverless` target (infra/aws/serverless.py) run for real under Pulumi mocks (`infra.plan.run_stack`):
the WebSocket routes and their selection expression, the functions, the tables' protection and replication,
least privilege scoped to this stack's API and tables, tags on every resource, and refused configuration."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.aws.serverless_region import ROUTE_SELECTION_EXPRESSION, TABLE_ACTIONS, WEBSOCKET_ROUTES
from infra.aws.tags import TAG_KEYS
from infra.plan import Plan, PlanError, Resource, Secret, run_stack

STACK = "aws-serverless-prod"
REGIONS = ["us-east-1", "us-west-2"]
ONE_REGION_DEV = {"parley:environment": "dev", "parley:secondaryRegion": ""}
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_aws")


@pytest.fixture(scope="module")
def prod() -> Plan:
    return run_stack(STACK)


@pytest.fixture(scope="module")
def dev() -> Plan:
    return run_stack(STACK, config_overrides=ONE_REGION_DEV)


def of_type(plan: Plan, kind: str) -> list[Resource]:
    return [r for r in plan.resources if r.type.endswith(kind)]


def region_of(plan: Plan, resource: Resource) -> str:
    providers = {r.urn: r.inputs["region"] for r in plan.resources if r.type == "pulumi:providers:aws"}
    return providers[resource.provider]


def in_region(plan: Plan, kind: str, region: str) -> list[Resource]:
    return [r for r in of_type(plan, kind) if region_of(plan, r) == region]


def websocket_api(plan: Plan, region: str) -> Resource:
    (api,) = [a for a in in_region(plan, "apigatewayv2/api:Api", region) if a.inputs["protocolType"] == "WEBSOCKET"]
    return api


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
        assert log_groups[inputs["loggingConfig"]["logGroup"]].inputs["retentionInDays"] == 90


def test_every_table_is_on_demand_encrypted_with_a_key_and_recoverable(prod: Plan, dev: Plan) -> None:
    for plan in (prod, dev):
        keys = {k.outputs["arn"]: k for k in of_type(plan, "kms/key:Key")}
        tables = of_type(plan, "dynamodb/table:Table")
        assert len(tables) == 1 + len(keys)  # the store, and one connections table per region
        for table in tables:
            assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
            assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
            encryption = table.inputs["serverSideEncryption"]
            assert encryption["enabled"] is True
            assert keys[encryption["kmsKeyArn"]].inputs["enableKeyRotation"] is True
            assert region_of(plan, keys[encryption["kmsKeyArn"]]) == region_of(plan, table)
        for connections in [t for t in tables if t.name.endswith("-connections")]:
            assert connections.inputs["ttl"] == {"attributeName": "expires_at", "enabled": True}


def test_prod_replicates_the_store_to_the_second_region_and_dev_does_not(prod: Plan, dev: Plan) -> None:
    (store,) = [t for t in of_type(prod, "dynamodb/table:Table") if t.name.endswith("-store")]
    assert region_of(prod, store) == "us-east-1" and store.inputs["deletionProtectionEnabled"] is True
    (replica,) = store.inputs["replicas"]
    assert replica["regionName"] == "us-west-2" and replica["pointInTimeRecovery"] is True
    assert replica["kmsKeyArn"].startswith("arn:aws:kms:us-west-2:")
    assert store.inputs["streamEnabled"] is True
    # A connection lives in one region's API: its table is regional, never replicated.
    connections = [t for t in of_type(prod, "dynamodb/table:Table") if t.name.endswith("-connections")]
    assert sorted(region_of(prod, t) for t in connections) == REGIONS
    assert not any(t.inputs.get("replicas") for t in connections)

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
    tables = {t.outputs["arn"] for t in in_region(prod, "dynamodb/table:Table", region)}
    store_arn = f"arn:aws:dynamodb:{region}:123456789012:table/parley-{STACK}-store"
    assert set(granted["Tables"]["Resource"]) == (tables - {store_arn}) | {store_arn}
    assert len(granted["Tables"]["Resource"]) == 2 and granted["Tables"]["Action"] == TABLE_ACTIONS
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
    owners = {top.urn, *(r.urn for r in regions)}
    assert all(r.parent in owners for r in prod.resources if r is not top)
    assert prod.outputs["storeTable"] == f"parley-{STACK}-store"
    assert sorted(prod.outputs["websocketUrls"]) == REGIONS


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"parley:secondaryRegion": ""}, "parley:secondaryRegion: is required in prod"),
        ({"parley:secondaryRegion": "us-east-1"}, "parley:secondaryRegion: must differ from aws:region"),
        ({"parley:environment": "qa"}, "parley:environment: 'qa' is not one of dev, staging, prod"),
        ({"parley:imageTag": "1.0"}, "parley:imageTag: is not a setting of the aws-serverless target"),
        ({"aws:region": "mars-north-1"}, "aws:region: 'mars-north-1' is not an AWS region"),
    ],
)
def test_bad_configuration_is_refused(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(PlanError, match=message.replace("(", r"\(")):
        run_stack(STACK, config_overrides=overrides)
