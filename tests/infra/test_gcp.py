"""The `gcp` target (infra/gcp/) run for real under Pulumi mocks (`infra.plan.run_stack`), once per stack in
`stacks/` whose target is `gcp`, and checked for the invariants its issue asks for: no public database, TLS
only, HA in prod, two regions wired to one global load balancer, least-privilege firewall and roles, secrets
only in Secret Manager and Pulumi secrets, cost labels on everything, and one clear refusal per kind of bad
configuration."""

from __future__ import annotations

import ipaddress
import re
from functools import cache
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from app.cli import cli
from infra.gcp.config import GCP_KEYS, load
from infra.plan import Plan, PlanError, Secret, run_stack
from infra.plan.values import reveal
from infra.stack_config import StackConfig
from tests.support.plans import assert_counts, config_of, named, of_type, planned, refusal, stacks_of, walk
from tests.support.sdk_inputs import sdk_problems
from tests.support.targets import assert_components_name_their_children, assert_settings_declared, plain_copies

ROOT = Path(__file__).resolve().parents[2]
GCP_STACKS = stacks_of("gcp")
# Resources per stack, components included; docs/gcp.md's table shows the same numbers.
RESOURCE_COUNTS = {"gcp-dev": 52, "gcp-prod": 70}
ENVIRONMENTS = {"gcp-dev": "dev", "gcp-prod": "prod"}
REGIONS = {"gcp-dev": ["us-central1"], "gcp-prod": ["us-central1", "us-east4"]}
ANYWHERE = "0.0.0.0/0"
# pulumi-gcp warns about its own deprecated modules as they are imported.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_gcp")


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {stack: planned(stack) for stack in GCP_STACKS}


def test_the_gcp_stacks_are_dev_and_prod() -> None:
    assert GCP_STACKS == ["gcp-dev", "gcp-prod"]


def test_resource_counts(plans: dict[str, Plan]) -> None:
    assert_counts(plans, RESOURCE_COUNTS, ROOT / "docs" / "gcp.md")


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_every_gcp_resource_carries_the_cost_labels(stack: str, plans: dict[str, Plan]) -> None:
    """One explicit provider stamps the labels (`default_labels`) on every resource that takes labels;
    Cloud SQL keeps its labels in `settings.userLabels`, which the program fills itself."""
    plan = plans[stack]
    (provider,) = of_type(plan, "providers:gcp")
    wanted = {
        "parley-stack": stack,
        "parley-environment": ENVIRONMENTS[stack],
        "pulumi-project": "parley",
        "pulumi-stack": stack,
    }
    assert yaml.safe_load(provider.inputs["defaultLabels"]) == wanted
    assert (provider.inputs["project"], provider.inputs["region"]) == (config_of(stack)["gcp:project"], "us-central1")
    gcp_resources = [r for r in plan.resources if r.type.startswith("gcp:")]
    assert all(r.provider == provider.urn for r in gcp_resources), "a resource on the default provider"
    labelable = [r for r in gcp_resources if _takes_labels(r.type)]
    assert {r.type.split(":")[-1] for r in labelable} >= {"Service", "Instance", "Secret", "Repository", "Job"}
    assert all(not r.inputs.get("labels") or r.inputs["labels"].items() >= wanted.items() for r in labelable)
    for database in of_type(plan, "DatabaseInstance"):
        assert database.inputs["settings"]["userLabels"] == wanted


@cache
def _takes_labels(type_: str) -> bool:
    import importlib
    import inspect

    module, class_name = type_.split(":")[1].split("/")[0], type_.split(":")[2]
    resource_class = getattr(importlib.import_module(f"pulumi_gcp.{module}"), class_name)
    return "labels" in inspect.signature(resource_class._internal_init).parameters


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_every_input_is_one_the_provider_declares(stack: str, plans: dict[str, Plan]) -> None:
    problems = [p for r in plans[stack].resources for p in sdk_problems(r.type, r.inputs)]
    assert problems == []
    # The check reads nested types: a Cloud Run template key in Python spelling would be caught.
    assert sdk_problems("gcp:cloudrunv2/service:Service", {"template": {"session_affinity": True}}) == [
        "gcp:cloudrunv2/service:Service.template.session_affinity: ServiceTemplateArgs has no such property"
    ]


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_each_region_has_a_subnet_a_database_a_cache_and_a_service(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    regions = REGIONS[stack]
    assert sorted(r.inputs["region"] for r in of_type(plan, "Subnetwork")) == regions
    assert sorted(r.inputs["region"] for r in of_type(plan, "DatabaseInstance")) == regions
    assert sorted(r.inputs["region"] for r in of_type(plan, "redis/instance:Instance")) == regions
    assert sorted(r.inputs["location"] for r in of_type(plan, "cloudrunv2/service:Service")) == regions
    (network,) = of_type(plan, "compute/network:Network")
    assert network.inputs["autoCreateSubnetworks"] is False and network.inputs["routingMode"] == "GLOBAL"
    for subnet in of_type(plan, "Subnetwork"):
        assert subnet.inputs["network"] == network.id and subnet.inputs["privateIpGoogleAccess"] is True
        assert subnet.inputs["logConfig"]["metadata"] == "INCLUDE_ALL_METADATA"


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_the_database_is_postgres_16_private_and_tls_only(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    (network,) = of_type(plan, "compute/network:Network")
    (peering,) = of_type(plan, "servicenetworking/connection:Connection")
    for database in of_type(plan, "DatabaseInstance"):
        ip = database.inputs["settings"]["ipConfiguration"]
        assert ip["ipv4Enabled"] is False and ip["privateNetwork"] == network.id
        assert ip["sslMode"] == "ENCRYPTED_ONLY" and not ip.get("authorizedNetworks")
        assert database.inputs["databaseVersion"] == "POSTGRES_16"
        assert peering.urn in database.dependencies
    (user,) = of_type(plan, "sql/user:User")
    assert isinstance(user.inputs["password"], Secret)


def test_prod_database_is_regional_backed_up_and_replicated(plans: dict[str, Plan]) -> None:
    plan = plans["gcp-prod"]
    primary, replica = named(plan, "primary-db-postgres"), named(plan, "secondary-db-postgres")
    settings = primary.inputs["settings"]
    assert settings["availabilityType"] == "REGIONAL"
    backups = settings["backupConfiguration"]
    assert backups["enabled"] and backups["pointInTimeRecoveryEnabled"]
    assert backups["backupRetentionSettings"]["retainedBackups"] == 30
    assert 1 <= backups["transactionLogRetentionDays"] <= 7
    for database in (primary, replica):
        assert database.inputs["deletionProtection"] and database.inputs["settings"]["deletionProtectionEnabled"]
    assert (primary.inputs["region"], replica.inputs["region"]) == ("us-central1", "us-east4")
    assert replica.inputs["masterInstanceName"] == primary.outputs["name"]
    # A replica keeps no backups of its own and no users: its source's apply.
    assert replica.inputs["settings"]["backupConfiguration"]["enabled"] is False
    assert len(of_type(plan, "sql/user:User")) == 1


def test_dev_database_is_zonal_and_disposable(plans: dict[str, Plan]) -> None:
    (database,) = of_type(plans["gcp-dev"], "DatabaseInstance")
    settings = database.inputs["settings"]
    assert settings["availabilityType"] == "ZONAL" and settings["tier"] == "db-f1-micro"
    assert database.inputs["deletionProtection"] is False and settings["backupConfiguration"]["enabled"] is True


@pytest.mark.parametrize(("stack", "tier"), [("gcp-dev", "BASIC"), ("gcp-prod", "STANDARD_HA")])
def test_redis_is_private_authenticated_and_encrypted_in_transit(stack: str, tier: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    (network,) = of_type(plan, "compute/network:Network")
    services = named(plan, "-net-services")
    for instance in of_type(plan, "redis/instance:Instance"):
        inputs = instance.inputs
        assert inputs["tier"] == tier and inputs["authEnabled"] is True
        assert inputs["transitEncryptionMode"] == "SERVER_AUTHENTICATION"
        assert inputs["connectMode"] == "PRIVATE_SERVICE_ACCESS" and inputs["authorizedNetwork"] == network.id
        assert inputs["reservedIpRange"] == services.outputs["name"]
        assert isinstance(instance.outputs["authString"], Secret)


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_the_firewall_lets_only_cloud_run_reach_the_datastores(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    rules = [r.inputs for r in of_type(plan, "Firewall")]
    allows = [r for r in rules if r.get("allows")]
    assert not [r for r in allows if ANYWHERE in (r.get("sourceRanges") or []) + (r.get("destinationRanges") or [])]
    (allow,) = allows
    datastores = config_of(stack).get("parley:datastoreCidr", "10.100.0.0/16")
    assert (allow["direction"], allow["targetTags"], allow["destinationRanges"]) == (
        "EGRESS",
        ["parley-app"],
        [datastores],
    )
    assert allow["allows"] == [{"protocol": "tcp", "ports": ["5432", "6378"]}]
    denies = {r["direction"]: r for r in rules if r.get("denies")}
    assert denies.keys() == {"INGRESS", "EGRESS"}
    assert all(
        r["priority"] == 65534 and r["denies"] == [{"protocol": "all"}] and r["logConfig"] for r in denies.values()
    )
    # What the allow rule opens is where Cloud SQL and Memorystore actually live (the services range).
    services = named(plan, "-net-services").inputs
    assert f"{services['address']}/{services['prefixLength']}" == datastores
    addresses = [d.outputs["privateIpAddress"] for d in of_type(plan, "DatabaseInstance")]
    addresses += [r.outputs["host"] for r in of_type(plan, "redis/instance:Instance")]
    assert all(ipaddress.IPv4Address(a) in ipaddress.IPv4Network(datastores) for a in addresses)


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_cloud_run_holds_websockets_and_reaches_the_vpc(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    subnets = {r.inputs["region"]: r.id for r in of_type(plan, "Subnetwork")}
    (account,) = of_type(plan, "serviceaccount/account:Account")
    (registry,) = of_type(plan, "Repository")
    for service in of_type(plan, "cloudrunv2/service:Service"):
        template = service.inputs["template"]
        assert template["timeout"] == "3600s" and template["sessionAffinity"] is True
        assert template["scaling"]["minInstanceCount"] >= 1 + (stack == "gcp-prod")
        assert template["serviceAccount"] == account.outputs["email"]
        (interface,) = template["vpcAccess"]["networkInterfaces"]
        assert template["vpcAccess"]["egress"] == "PRIVATE_RANGES_ONLY" and interface["tags"] == ["parley-app"]
        assert interface["subnetwork"] == subnets[service.inputs["location"]]
        (container,) = template["containers"]
        assert container["image"] == f"{registry.outputs['registryUri']}/parley:0.1.0"
        assert container["resources"]["cpuIdle"] is False
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        ingress = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" if stack == "gcp-prod" else "INGRESS_TRAFFIC_ALL"
        assert service.inputs["ingress"] == ingress
        assert service.inputs["deletionProtection"] is (stack == "gcp-prod")


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_secrets_come_from_secret_manager_in_the_services_region(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    stored = {r.inputs["secretId"]: r.inputs for r in of_type(plan, "secretmanager/secret:Secret")}
    for service in of_type(plan, "cloudrunv2/service:Service"):
        (container,) = service.inputs["template"]["containers"]
        refs = {e["name"]: e["valueSource"]["secretKeyRef"] for e in container["envs"] if "valueSource" in e}
        assert refs.keys() == {"PARLEY_SECRET_KEY", "PARLEY_DATABASE_URL", "PARLEY_BUS_URL"}
        plain = {e["name"] for e in container["envs"] if "value" in e}
        assert not plain & refs.keys()
        (volume,) = service.inputs["template"]["volumes"]
        for secret_id in [ref["secret"] for ref in refs.values()] + [volume["secret"]["secret"]]:
            replicas = stored[secret_id]["replication"]["userManaged"]["replicas"]
            assert service.inputs["location"] in [r["location"] for r in replicas], secret_id
    (job,) = of_type(plan, "cloudrunv2/job:Job")
    (container,) = job.inputs["template"]["template"]["containers"]
    assert container["args"] == ["migrate"]
    assert [e["name"] for e in container["envs"] if "valueSource" in e] == ["PARLEY_DATABASE_URL"]
    for version in of_type(plan, "SecretVersion"):
        assert isinstance(version.inputs["secretData"], Secret)
    urls = [reveal(v.inputs["secretData"]) for v in of_type(plan, "SecretVersion")]
    assert len([u for u in urls if u.startswith("postgresql+asyncpg://") and u.endswith("?ssl=require")]) == len(
        REGIONS[stack]
    )
    assert len([u for u in urls if u.startswith("rediss://") and ":6378/0?ssl_ca_certs=" in u]) == len(REGIONS[stack])


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_the_service_account_has_only_the_roles_it_needs(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    (account,) = of_type(plan, "serviceaccount/account:Account")
    member = f"serviceAccount:{account.outputs['email']}"
    project_roles = [r.inputs for r in of_type(plan, "projects/iAMMember:IAMMember")]
    # No roles/cloudsql.client: it authorizes the Cloud SQL connectors, and Parley dials the private address.
    assert sorted(r["role"] for r in project_roles) == ["roles/logging.logWriter", "roles/monitoring.metricWriter"]
    assert {r["member"] for r in project_roles} == {member}
    grants = [r.inputs for r in of_type(plan, "SecretIamMember")]
    secrets = {r.id for r in of_type(plan, "secretmanager/secret:Secret")}
    assert sorted(g["secretId"] for g in grants) == sorted(secrets)
    assert all(g["role"] == "roles/secretmanager.secretAccessor" and g["member"] == member for g in grants)
    iam = {r.type for r in plan.resources if "iam" in r.type.lower()}
    assert iam == {"gcp:projects/iAMMember:IAMMember", "gcp:secretmanager/secretIamMember:SecretIamMember"}


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_the_load_balancer_serves_every_region_over_tls_only(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    host = config_of(stack)["parley:host"]
    services = {r.inputs["location"]: r.inputs["name"] for r in of_type(plan, "cloudrunv2/service:Service")}
    negs = of_type(plan, "RegionNetworkEndpointGroup")
    assert {n.inputs["region"]: n.inputs["cloudRun"]["service"] for n in negs} == services
    assert all(n.inputs["networkEndpointType"] == "SERVERLESS" for n in negs)
    (backend,) = of_type(plan, "BackendService")
    assert backend.inputs["loadBalancingScheme"] == "EXTERNAL_MANAGED"
    assert sorted(b["group"] for b in backend.inputs["backends"]) == sorted(n.id for n in negs)
    assert "healthChecks" not in backend.inputs  # serverless NEGs take none
    outliers = backend.inputs.get("outlierDetection")
    assert (outliers is not None) == (len(negs) == 2)
    if outliers:
        assert outliers["maxEjectionPercent"] == 50 and outliers["consecutiveErrors"] == 5
    (certificate,) = of_type(plan, "ManagedSslCertificate")
    assert certificate.inputs["managed"]["domains"] == [host]
    (policy,) = of_type(plan, "SSLPolicy")
    assert (policy.inputs["profile"], policy.inputs["minTlsVersion"]) == ("MODERN", "TLS_1_2")
    (https,) = of_type(plan, "TargetHttpsProxy")
    assert https.inputs["sslCertificates"] == [certificate.id] and https.inputs["sslPolicy"] == policy.id
    maps = {m.id: m.inputs for m in of_type(plan, "URLMap")}
    assert maps[https.inputs["urlMap"]]["defaultService"] == backend.id
    (http,) = of_type(plan, "TargetHttpProxy")
    redirect = maps[http.inputs["urlMap"]]
    assert redirect["defaultUrlRedirect"]["httpsRedirect"] is True and "defaultService" not in redirect
    rules = {r.inputs["portRange"]: r.inputs for r in of_type(plan, "GlobalForwardingRule")}
    assert rules.keys() == {"443", "80"}
    assert (rules["443"]["target"], rules["80"]["target"]) == (https.id, http.id)
    (address,) = [a for a in of_type(plan, "GlobalAddress") if a.inputs.get("purpose") != "VPC_PEERING"]
    assert {r["ipAddress"] for r in rules.values()} == {address.id}
    assert plan.outputs["ipAddress"] == address.outputs["address"]


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_no_secret_value_appears_outside_a_pulumi_secret(stack: str, plans: dict[str, Plan]) -> None:
    """The generated passwords and Redis AUTH strings may travel only inside secrets: in the Cloud SQL user
    and the Secret Manager versions, never in plain inputs, outputs or stack outputs."""
    plan = plans[stack]
    generated = [r.outputs["result"].value for r in of_type(plan, "RandomPassword")]
    generated += [r.outputs["authString"].value for r in of_type(plan, "redis/instance:Instance")]
    assert len(generated) == 2 + len(REGIONS[stack]) and all(len(value) >= 32 for value in generated)
    assert plain_copies(plan, generated) == []
    # The check can fail: the values are there, inside the secrets.
    versions = [reveal(r.inputs["secretData"]) for r in of_type(plan, "SecretVersion")]
    assert all(any(g in version for version in versions) for g in generated)


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_components_are_typed_and_name_their_children(stack: str, plans: dict[str, Plan]) -> None:
    assert_components_name_their_children(plans[stack], "gcp")


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_stack_outputs_name_things_but_hold_no_secrets(stack: str, plans: dict[str, Plan]) -> None:
    outputs = plans[stack].outputs
    assert outputs["url"] == f"https://{config_of(stack)['parley:host']}"
    assert sorted(outputs["serviceUrls"]) == sorted(outputs["databaseInstances"]) == REGIONS[stack]
    for names in outputs["secretNames"].values():
        assert set(names) == {"PARLEY_SECRET_KEY", "PARLEY_DATABASE_URL", "PARLEY_BUS_URL"}
    assert outputs["migration"] == {"job": f"parley-{stack}-migrate", "region": "us-central1"}
    assert outputs["registryUrl"].endswith(f"/parley-{stack}")
    assert not [path for path, leaf in walk(outputs) if isinstance(leaf, Secret)]


BAD_CONFIG = [
    ({"parley:dbTeir": "db-f1-micro"}, "parley:dbTeir: is not a setting of the gcp target"),
    ({"parley:hostedZoneId": "Z123"}, "parley:hostedZoneId: is not a setting of the gcp target"),
    ({"gcp:project": "My_Project"}, "gcp:project: 'My_Project' is not a GCP project id"),
    ({"gcp:project": ""}, "gcp:project: is required: a GCP project id"),
    ({"gcp:region": "us-central"}, "gcp:region: 'us-central' is not a GCP region"),
    ({"parley:secondaryRegion": "us-east-1"}, "parley:secondaryRegion: 'us-east-1' is not a GCP region"),
    ({"parley:secondaryRegion": "us-central1"}, "parley:secondaryRegion: must differ from gcp:region"),
    ({"parley:vpcCidr": "10.0.0.0/33"}, "parley:vpcCidr: '10.0.0.0/33' is not an IPv4 CIDR block"),
    ({"parley:vpcCidr": "8.8.0.0/20"}, "parley:vpcCidr: 8.8.0.0/20 is not a private"),
    ({"parley:datastoreCidr": "10.0.0.0/16"}, "parley:datastoreCidr: 10.0.0.0/16 overlaps parley:vpcCidr"),
    ({"parley:datastoreCidr": "10.100.0.0/26"}, "parley:datastoreCidr: 10.100.0.0/26 is too small"),
    ({"parley:dbTier": "db.t4g.micro"}, "parley:dbTier: 'db.t4g.micro' is not a Cloud SQL tier"),
    ({"parley:cacheMemoryGb": "500"}, "parley:cacheMemoryGb: 500 GB is outside Memorystore's 1-300"),
    ({"parley:replicas": "4", "parley:maxReplicas": "2"}, "parley:maxReplicas: 2 is below parley:replicas (4)"),
    ({"parley:replicas": "two"}, "parley:replicas: 'two' is not a whole number"),
    ({"parley:dbPassword": "hunter2"}, "parley:dbPassword: holds a secret in plain text"),
    ({"gcp:credentials": "{}"}, "gcp:credentials: holds a secret in plain text"),
    ({"parley:environment": "qa"}, "parley:environment: 'qa' is not one of dev, staging, prod"),
    ({"parley:host": "Chat Example"}, "parley:host: 'Chat Example' is not a lower-case DNS name"),
    ({"parley:imageTag": ""}, "parley:imageTag: is required: a tag"),
    ({"parley:replicaPromoted": "yes"}, "parley:replicaPromoted: 'yes' is not true or false"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_CONFIG, ids=[next(iter(o)) for o, _ in BAD_CONFIG])
def test_bad_configuration_is_refused_with_one_clear_message(overrides: dict[str, str], message: str) -> None:
    # One line, and the key comes first: "<key>: <problem>".
    assert refusal("gcp-dev", overrides).startswith(message)


def test_prod_requires_a_secondary_region_that_does_not_overlap() -> None:
    with pytest.raises(PlanError, match="parley:secondaryRegion: is required in prod"):
        run_stack("gcp-prod", config_overrides={"parley:secondaryRegion": ""})
    with pytest.raises(PlanError, match=re.escape("parley:secondaryVpcCidr: 10.30.0.0/24 overlaps parley:vpcCidr")):
        run_stack("gcp-prod", config_overrides={"parley:secondaryVpcCidr": "10.30.0.0/24"})


def test_the_configuration_is_checked_without_declaring_anything() -> None:
    """`load` is pure: it takes the config map and names the bad key, so it runs before any resource."""
    values = {
        "gcp:project": "chat-staging-1",
        "gcp:region": "europe-west1",
        "parley:target": "gcp",
        "parley:host": "chat.example.org",
        "parley:imageTag": "1.0.0",
        "parley:environment": "staging",
        "parley:cacheMemoryGb": "3",
    }
    config = load(StackConfig(values, frozenset()), "gcp-staging")
    assert (config.region, config.sizing.db_regional, config.sizing.cache_tier) == ("europe-west1", True, "STANDARD_HA")
    assert config.sizing.cache_memory_gb == 3 and config.regions == ["europe-west1"]
    with pytest.raises(Exception, match=re.escape("parley:vpcCidr: 192.168.0.0/15 is not a private")):
        load(StackConfig({**values, "parley:vpcCidr": "192.168.0.0/15"}, frozenset()), "gcp-staging")


def test_a_promoted_replica_is_declared_standalone_with_backups() -> None:
    plan = run_stack("gcp-prod", config_overrides={"parley:replicaPromoted": "true"})
    replica = named(plan, "secondary-db-postgres")
    assert "masterInstanceName" not in replica.inputs
    assert replica.inputs["settings"]["backupConfiguration"]["enabled"] is True
    assert len(of_type(plan, "sql/user:User")) == 1  # the promoted replica keeps its source's users


def test_pulumi_yaml_declares_every_setting_the_gcp_target_reads() -> None:
    assert_settings_declared(GCP_KEYS, GCP_STACKS)


def test_parley_plan_shows_a_gcp_stack() -> None:
    result = CliRunner().invoke(cli, ["plan", "--stack", "gcp-dev"])
    assert result.exit_code == 0, result.output
    assert "gcp:cloudrunv2/service:Service" in result.output and "parley-primary-app-run" in result.output
