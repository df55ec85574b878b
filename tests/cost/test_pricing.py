"""Pricing math on tiny plans: each expected figure is computed here from the catalog's own prices."""

from __future__ import annotations

import pytest

from infra.cost.engine import price_resources
from infra.cost.prices import load_catalog
from infra.cost.report import build_report
from infra.cost.usage import HOURS_PER_MONTH, load_profile, quantities
from tests.cost.factories import plan, resource

RDS = "aws:rds/instance:Instance"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def profile():
    return load_profile()


def usd(catalog, sku, region="us-east-1", cloud="aws"):
    return catalog.prices[(cloud, sku, region)].usd


def costs(catalog, planned, profile=None, region="us-east-1"):
    usage = quantities(profile) if profile else None
    return {c.name: c for c in price_resources(planned, catalog=catalog, usage=usage, region=region)[1]}


def test_multi_az_database_bills_a_standby(catalog):
    db = resource(
        RDS, "db", {"instanceClass": "db.r6g.large", "multiAz": True, "allocatedStorage": 100, "storageType": "gp3"}
    )
    cost = costs(catalog, plan(db))["db"]
    expected = 2 * HOURS_PER_MONTH * usd(catalog, "rds.postgres.db.r6g.large") + 2 * 100 * usd(
        catalog, "rds.storage.gp3"
    )
    assert cost.status == "priced"
    assert cost.monthly == pytest.approx(expected)
    assert {c.kind for c in cost.components} == {"hourly"}


def test_cross_region_replica_pays_replication_in_its_region(catalog, profile):
    source = "arn:aws:rds:us-east-1:123456789012:db:primary"
    replica = resource(
        RDS,
        "replica",
        {"instanceClass": "db.t4g.micro", "allocatedStorage": 20, "replicateSourceDb": source},
        region="us-west-2",
    )
    cost = costs(catalog, plan(replica), profile)["replica"]
    assert cost.region == "us-west-2"
    transfer = next(c for c in cost.components if c.sku == "transfer.inter-region.gb")
    assert transfer.monthly == pytest.approx(
        quantities(profile).replication_gb * usd(catalog, "transfer.inter-region.gb")
    )


def test_fargate_minimum_is_hourly_and_peak_tasks_are_usage(catalog, profile):
    task = resource("aws:ecs/taskDefinition:TaskDefinition", "task", {"cpu": "512", "memory": "1024"})
    service = resource(
        "aws:ecs/service:Service", "service", {"desiredCount": 1, "launchType": "FARGATE"}, dependencies=[task.urn]
    )
    target = resource(
        "aws:appautoscaling/target:Target", "scaling", {"minCapacity": 1, "maxCapacity": 2}, dependencies=[service.urn]
    )
    found = costs(catalog, plan(task, service, target), profile)
    cost = found["service"]
    per_task = 0.5 * usd(catalog, "fargate.vcpu.x86_64") + 1 * usd(catalog, "fargate.memory.x86_64")
    hourly = sum(c.monthly for c in cost.components if c.kind == "hourly")
    usage = sum(c.monthly for c in cost.components if c.kind == "usage")
    assert hourly == pytest.approx(HOURS_PER_MONTH * per_task)
    # The profile needs 3 tasks at peak; the autoscaler stops at 2, so one more task runs.
    assert quantities(profile).instances_needed == 3
    assert usage == pytest.approx(HOURS_PER_MONTH * per_task)
    assert found["task"].status == "free"


def test_failover_region_carries_no_usage(catalog, profile):
    nat = resource("aws:ec2/natGateway:NatGateway", "nat", region="us-west-2")
    cost = costs(catalog, plan(nat), profile)["nat"]
    assert [c.kind for c in cost.components] == ["hourly"]
    assert cost.monthly == pytest.approx(HOURS_PER_MONTH * usd(catalog, "vpc.nat.hour", "us-west-2"))


def test_nat_gateways_share_the_traffic_and_carry_logs_without_an_endpoint(catalog, profile):
    nats = [resource("aws:ec2/natGateway:NatGateway", f"nat-{i}") for i in range(2)]
    cost = costs(catalog, plan(*nats), profile)["nat-0"]
    q = quantities(profile)
    data = next(c for c in cost.components if c.sku == "vpc.nat.gb")
    assert data.quantity == pytest.approx((q.nat_gb + q.log_gb) / 2)


def test_lambda_requests_and_gb_seconds(catalog, profile):
    function = resource(
        "aws:lambda/function:Function",
        "websocket",
        {"memorySize": 512, "architectures": ["arm64"], "name": "x-websocket"},
    )
    cost = costs(catalog, plan(function), profile)["websocket"]
    q = quantities(profile)
    expected = q.websocket_invocations / 1e6 * usd(catalog, "lambda.requests") + q.websocket_invocations * (
        q.websocket_ms / 1000
    ) * 0.5 * usd(catalog, "lambda.duration.arm64")
    assert cost.monthly == pytest.approx(expected)


def test_websocket_api_messages_and_minutes(catalog, profile):
    api = resource("aws:apigatewayv2/api:Api", "ws", {"protocolType": "WEBSOCKET"})
    by_sku = {c.sku: c for c in costs(catalog, plan(api), profile)["ws"].components}
    q = quantities(profile)
    assert by_sku["apigateway.websocket.messages"].monthly == pytest.approx(
        q.websocket_messages / 1e6 * usd(catalog, "apigateway.websocket.messages")
    )
    assert by_sku["apigateway.websocket.minutes"].monthly == pytest.approx(
        q.connection_minutes / 1e6 * usd(catalog, "apigateway.websocket.minutes")
    )


def test_global_table_replica_billed_in_its_region(catalog, profile):
    table = resource(
        "aws:dynamodb/table:Table",
        "store",
        {
            "billingMode": "PAY_PER_REQUEST",
            "replicas": [{"regionName": "us-west-2"}],
            "pointInTimeRecovery": {"enabled": True},
        },
    )
    by_name = {c.name: c for c in costs(catalog, plan(table), profile)["store"].components}
    q = quantities(profile)
    replicated = by_name["replicated writes in us-west-2"]
    assert replicated.monthly == pytest.approx(
        q.store_writes / 1e6 * usd(catalog, "dynamodb.ondemand.replicated-write", "us-west-2")
    )
    assert by_name["write request units"].monthly == pytest.approx(
        q.store_writes / 1e6 * usd(catalog, "dynamodb.ondemand.write")
    )
    assert "point-in-time recovery in us-west-2" not in by_name  # the replica did not ask for it


def test_provisioned_table_is_listed_not_priced(catalog, profile):
    table = resource("aws:dynamodb/table:Table", "t", {"billingMode": "PROVISIONED"})
    cost = costs(catalog, plan(table), profile)["t"]
    assert cost.status == "not priced"
    assert "PROVISIONED" in cost.note


def test_unknown_type_is_listed_never_dropped(catalog):
    odd = resource("aws:sagemaker/endpoint:Endpoint", "odd")
    cost = costs(catalog, plan(odd))["odd"]
    assert (cost.status, cost.note, cost.monthly) == ("not priced", "no pricer for this type", 0)


def test_sku_missing_from_catalog_is_named(catalog):
    db = resource(RDS, "db", {"instanceClass": "db.x99.huge", "allocatedStorage": 20})
    cost = costs(catalog, plan(db))["db"]
    assert cost.status == "not priced"
    assert "rds.postgres.db.x99.huge" in cost.note


def test_region_without_prices_falls_back_with_a_note(catalog):
    key = resource("aws:kms/key:Key", "key", region="eu-north-1")
    cost = costs(catalog, plan(key, regions=("eu-north-1",)), region="eu-north-1")["key"]
    assert cost.monthly == pytest.approx(usd(catalog, "kms.key"))
    assert "us-east-1 price of kms.key" in cost.note


def test_unknown_preview_value_is_not_priced(catalog):
    db = resource(RDS, "db", {"instanceClass": "[unknown]", "allocatedStorage": 20})
    assert "instanceClass" in costs(catalog, plan(db))["db"].note


def test_free_and_kubernetes_resources(catalog):
    vpc = resource("aws:ec2/vpc:Vpc", "vpc")
    deployment = resource("kubernetes:apps/v1:Deployment", "app")
    found = costs(catalog, plan(vpc, deployment))
    assert found["vpc"].status == "free"
    assert found["app"].status == "outside"


def test_report_totals_by_kind_region_and_service(catalog, profile):
    planned = plan(
        resource("aws:kms/key:Key", "east"),
        resource("aws:kms/key:Key", "west", region="us-west-2"),
        resource("aws:apigatewayv2/api:Api", "http", {"protocolType": "HTTP"}),
    )
    report = build_report(planned, catalog=catalog, profile=profile, region="us-east-1")
    assert report.total == pytest.approx(report.kind_total("hourly") + report.kind_total("usage"))
    assert report.by_region()["us-west-2"] == pytest.approx(usd(catalog, "kms.key", "us-west-2"))
    assert report.by_service()["KMS"] == pytest.approx(2 * usd(catalog, "kms.key"))
    assert report.per_user == pytest.approx(report.total / 10_000)


def test_azure_postgres_with_zone_redundant_standby(catalog):
    server = resource(
        "azure-native:dbforpostgresql:Server",
        "pg",
        {
            "location": "eastus",
            "sku": {"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"},
            "storage": {"storageSizeGB": 128},
            "highAvailability": {"mode": "ZoneRedundant"},
        },
    )
    cost = costs(catalog, plan(server), region="eastus")["pg"]
    expected = 2 * HOURS_PER_MONTH * usd(catalog, "postgres.Standard_D2ds_v5", "eastus", "azure") + 2 * 128 * usd(
        catalog, "postgres.storage", "eastus", "azure"
    )
    assert cost.monthly == pytest.approx(expected)


def test_gcp_cloud_sql_custom_tier_regional(catalog):
    instance = resource(
        "gcp:sql/databaseInstance:DatabaseInstance",
        "sql",
        {
            "region": "us-central1",
            "settings": {"tier": "db-custom-2-7680", "availabilityType": "REGIONAL", "diskSize": 50},
        },
    )
    cost = costs(catalog, plan(instance), region="us-central1")["sql"]
    per_hour = 2 * usd(catalog, "sql.vcpu", "us-central1", "gcp") + 7.5 * usd(
        catalog, "sql.memory", "us-central1", "gcp"
    )
    expected = 2 * (HOURS_PER_MONTH * per_hour + 50 * usd(catalog, "sql.storage.ssd", "us-central1", "gcp"))
    assert cost.monthly == pytest.approx(expected)


def test_gcp_cloud_run_idle_in_failover_region(catalog, profile):
    service = resource(
        "gcp:cloudrunv2/service:Service",
        "run",
        {
            "location": "us-east1",
            "template": {
                "scaling": {"minInstanceCount": 1},
                "containers": [{"resources": {"limits": {"cpu": "1", "memory": "512Mi"}}}],
            },
        },
    )
    cost = costs(catalog, plan(service), profile, region="us-central1")["run"]
    seconds = HOURS_PER_MONTH * 3600
    expected = seconds * usd(catalog, "run.vcpu.idle", "us-east1", "gcp") + seconds * 0.5 * usd(
        catalog, "run.memory.idle", "us-east1", "gcp"
    )
    assert cost.monthly == pytest.approx(expected)


def test_the_first_five_forwarding_rules_share_one_hourly_price(catalog):
    rule = "gcp:compute/globalForwardingRule:GlobalForwardingRule"
    rules = [resource(rule, f"rule-{n}", {"portRange": "443" if n == 0 else "80"}) for n in range(6)]
    priced = costs(catalog, plan(*rules), region="europe-west1")
    hourly = sum(c.monthly for n in range(5) for c in priced[f"rule-{n}"].components)
    assert hourly == pytest.approx(HOURS_PER_MONTH * usd(catalog, "lb.forwarding-rule", "europe-west1", "gcp"))
    assert priced["rule-5"].status == "not priced" and "first five" in priced["rule-5"].note


def test_ecr_replication_sends_each_pushed_image_once(catalog, profile):
    replication = resource(
        "aws:ecr/replicationConfiguration:ReplicationConfiguration",
        "images",
        {"replicationConfiguration": {"rules": [{"destinations": [{"region": "us-west-2"}]}]}},
    )
    usage = quantities(profile)
    assert usage.instances_needed > 1, "the profile should need several tasks, or pulls and pushes look alike"
    copies = costs(catalog, plan(replication), profile)["images"].components[1]
    assert copies.name == "image copies to us-west-2"
    assert copies.quantity == pytest.approx(profile.image_gb * profile.deployments_per_month)
