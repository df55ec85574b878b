"""The `azure` target (infra/azure/) run for real under Pulumi mocks (`infra.plan.run_stack`), once per stack in
`stacks/` whose target is `azure`, and checked for the invariants its issue asks for: no public database or
cache, TLS only, zone redundancy and geo-redundant backups in prod, a replica in the secondary region, two
regions behind Front Door with priorities and a /readyz probe, secrets only as Key Vault references read by a
managed identity with two narrow roles, a least-privilege NSG chain, cost tags on every taggable resource, and
one clear refusal per kind of bad configuration."""

from __future__ import annotations

import importlib
import inspect
import ipaddress
import re
from functools import cache
from pathlib import Path

import pytest

from app.settings import Settings
from infra.azure.access import ROLE_IDS
from infra.azure.config import AZURE_KEYS, load
from infra.plan import Plan, PlanError, Resource, Secret, run_stack
from infra.plan.azure_mocks import CALLS, SUBSCRIPTION_ID
from infra.plan.values import reveal
from infra.stack_config import StackConfig
from tests.support.plans import assert_counts, config_of, of_type, planned, refusal, stacks_of, walk
from tests.support.sdk_inputs import sdk_problems
from tests.support.targets import assert_components_name_their_children, assert_settings_declared, plain_copies

ROOT = Path(__file__).resolve().parents[2]
AZURE_STACKS = stacks_of("azure")
# Resources per stack, components included; docs/azure.md's table shows the same numbers.
RESOURCE_COUNTS = {"azure-dev": 50, "azure-prod": 90}
ENVIRONMENTS = {"azure-dev": "dev", "azure-prod": "prod"}
LOCATIONS = {"azure-dev": ["eastus2"], "azure-prod": ["eastus2", "centralus"]}
MIN_REPLICAS = {"azure-dev": 1, "azure-prod": 3}
SECRET_VARIABLES = {"PARLEY_DATABASE_URL", "PARLEY_BUS_URL", "PARLEY_SECRET_KEY"}


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {stack: planned(stack) for stack in AZURE_STACKS}


def in_location(plan: Plan, kind: str) -> dict[str, Resource]:
    """The one resource of `kind` per location."""
    found = {r.inputs["location"]: r for r in of_type(plan, kind)}
    assert len(found) == len(of_type(plan, kind)), kind
    return found


def test_the_azure_stacks_are_dev_and_prod() -> None:
    assert AZURE_STACKS == ["azure-dev", "azure-prod"]


def test_resource_counts(plans: dict[str, Plan]) -> None:
    assert_counts(plans, RESOURCE_COUNTS, ROOT / "docs" / "azure.md")


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_every_taggable_resource_carries_the_cost_tags(stack: str, plans: dict[str, Plan]) -> None:
    # `-`, not `:`: Front Door refuses `:` in tag names and private DNS zones drop such tags.
    wanted = {
        "parley-stack": stack,
        "parley-environment": ENVIRONMENTS[stack],
        "pulumi-project": "parley",
        "pulumi-stack": stack,
    }
    taggable = [r for r in plans[stack].resources if r.type.startswith("azure-native:") and _takes_tags(r.type)]
    untagged = [r.name for r in taggable if (r.inputs.get("tags") or {}) != wanted]
    assert untagged == []
    assert len(taggable) >= 25


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_every_input_is_one_the_provider_declares(stack: str, plans: dict[str, Plan]) -> None:
    problems = [p for r in plans[stack].resources for p in sdk_problems(r.type, r.inputs)]
    assert problems == []


def test_the_declared_inputs_check_catches_misspellings_and_bad_enum_values() -> None:
    app = {"configuration": {"ingress": {"sticky_sessions": {"affinity": "none"}, "transport": "websocket"}}}
    assert sdk_problems("azure-native:app:ContainerApp", app) == [
        "azure-native:app:ContainerApp.configuration.ingress.sticky_sessions: IngressArgs has no such property",
        "azure-native:app:ContainerApp.configuration.ingress.transport: 'websocket' is not one of "
        "['auto', 'http', 'http2', 'tcp']",
    ]
    subnet = {"subnetName": "apps", "delegations": [{"name": "apps", "service": "Microsoft.App/environments"}]}
    assert sdk_problems("azure-native:network:Subnet", subnet) == [
        "azure-native:network:Subnet.delegations[0].service: DelegationArgs has no such property"
    ]


@cache
def _takes_tags(type_: str) -> bool:
    _, module, class_name = type_.split(":")
    resource_class = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), class_name)
    return "tags" in inspect.signature(resource_class._internal_init).parameters


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_components_are_typed_and_name_their_children(stack: str, plans: dict[str, Plan]) -> None:
    assert_components_name_their_children(plans[stack], "azure")


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_a_resource_group_per_region_and_everything_in_the_stacks_regions(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    groups = in_location(plan, "resources:ResourceGroup")
    assert list(groups) == LOCATIONS[stack]
    assert {g.inputs["resourceGroupName"] for g in groups.values()} == {f"parley-{stack}-{loc}" for loc in groups}
    for resource in plan.resources:
        location = resource.inputs.get("location")
        group = resource.inputs.get("resourceGroupName")
        if location and location != "global" and group:
            # A regional resource sits in its own region's group (ACR replicas excepted: they are the registry's).
            if not resource.type.endswith("Replication"):
                assert group == f"parley-{stack}-{location}", resource.name
    # The mocks answer with ARM ids, parents in the path.
    subnet = of_type(plan, "network:Subnet")[0]
    assert re.fullmatch(
        rf"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/parley-{stack}-eastus2/providers/Microsoft.Network/"
        r"virtualNetworks/[\w-]+/subnets/(apps|database|endpoints)",
        subnet.outputs["id"],
    )


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_the_database_is_private_tls_only_postgres_16(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    subnets = {r.id: r for r in of_type(plan, "network:Subnet")}
    zones = {r.id: r for r in of_type(plan, "privatedns:PrivateZone")}
    for server in of_type(plan, "dbforpostgresql:Server"):
        network = server.inputs["network"]
        assert network["publicNetworkAccess"] == "Disabled"
        subnet = subnets[network["delegatedSubnetResourceId"]]
        assert subnet.inputs["subnetName"] == "database"
        assert subnet.inputs["delegations"][0]["serviceName"] == "Microsoft.DBforPostgreSQL/flexibleServers"
        assert (
            zones[network["privateDnsZoneArmResourceId"]]
            .inputs["privateZoneName"]
            .endswith(".postgres.database.azure.com")
        )
        assert server.inputs["version"] == "16"
    parameters = {
        (r.inputs["serverName"], r.inputs["configurationName"]): r.inputs["value"]
        for r in of_type(plan, "Configuration")
    }
    for server in of_type(plan, "dbforpostgresql:Server"):
        name = server.outputs["name"]
        assert parameters[(name, "require_secure_transport")] == "on"
        assert parameters[(name, "ssl_min_protocol_version")] == "TLSv1.2"
    links = of_type(plan, "VirtualNetworkLink")
    assert {link.inputs["privateZoneName"] for link in links} == {z.outputs["name"] for z in zones.values()}


def test_prod_database_is_zone_redundant_geo_backed_up_and_replicated(plans: dict[str, Plan]) -> None:
    plan = plans["azure-prod"]
    servers = in_location(plan, "dbforpostgresql:Server")
    primary, replica = servers["eastus2"], servers["centralus"]
    assert primary.inputs["highAvailability"] == {"mode": "ZoneRedundant"}
    assert primary.inputs["backup"] == {"backupRetentionDays": 35, "geoRedundantBackup": "Enabled"}
    assert primary.inputs["sku"]["tier"] == "GeneralPurpose"
    assert isinstance(primary.inputs["administratorLoginPassword"], Secret)
    assert replica.inputs["createMode"] == "Replica" and replica.inputs["sourceServerResourceId"] == primary.id
    assert "administratorLoginPassword" not in replica.inputs
    # The replica streams over a global peering made before it, and the database NSGs admit each other.
    peerings = of_type(plan, "VirtualNetworkPeering")
    vnets = {r.id: r for r in of_type(plan, "network:VirtualNetwork")}
    assert sorted(vnets[p.inputs["remoteVirtualNetwork"]["id"]].inputs["location"] for p in peerings) == [
        "centralus",
        "eastus2",
    ]
    assert all(p.inputs["allowForwardedTraffic"] is False for p in peerings)
    assert {p.urn for p in peerings} <= set(replica.dependencies) | _ancestor_dependencies(plan, replica)
    (database,) = of_type(plan, "dbforpostgresql:Database")
    assert database.inputs["serverName"] == primary.outputs["name"]


def _ancestor_dependencies(plan: Plan, resource: Resource) -> set[str]:
    """What a resource waits for through its parents' `depends_on` (Pulumi passes it down to children)."""
    by_urn, waits = plan.by_urn(), set()
    parent = by_urn.get(resource.parent)
    while parent is not None:
        waits |= set(parent.dependencies)
        parent = by_urn.get(parent.parent)
    return waits


def test_dev_database_is_burstable_without_standby(plans: dict[str, Plan]) -> None:
    (server,) = of_type(plans["azure-dev"], "dbforpostgresql:Server")
    assert server.inputs["highAvailability"] == {"mode": "Disabled"}
    assert server.inputs["backup"] == {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"}
    assert server.inputs["sku"] == {"name": "Standard_B1ms", "tier": "Burstable"}


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_redis_is_private_and_tls_only(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    endpoints_subnets = {r.id for r in of_type(plan, "network:Subnet") if r.inputs["subnetName"] == "endpoints"}
    caches = {r.id: r for r in of_type(plan, "redis:Redis")}
    assert len(caches) == len(LOCATIONS[stack])
    for redis in caches.values():
        inputs = redis.inputs
        assert inputs["publicNetworkAccess"] == "Disabled"
        assert inputs["enableNonSslPort"] is False and inputs["minimumTlsVersion"] == "1.2"
        premium = stack == "azure-prod"
        assert inputs["sku"]["name"] == ("Premium" if premium else "Basic")
        assert inputs.get("zones") == (["1", "2", "3"] if premium else None)
    endpoints = of_type(plan, "network:PrivateEndpoint")
    assert sorted(e.inputs["privateLinkServiceConnections"][0]["privateLinkServiceId"] for e in endpoints) == sorted(
        caches
    )
    assert all(e.inputs["subnet"]["id"] in endpoints_subnets for e in endpoints)
    assert all(e.inputs["privateLinkServiceConnections"][0]["groupIds"] == ["redisCache"] for e in endpoints)
    groups = of_type(plan, "PrivateDnsZoneGroup")
    zones = {r.id: r.inputs["privateZoneName"] for r in of_type(plan, "privatedns:PrivateZone")}
    assert [zones[g.inputs["privateDnsZoneConfigs"][0]["privateDnsZoneId"]] for g in groups] == [
        "privatelink.redis.cache.windows.net"
    ] * len(caches)


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_front_door_sends_https_to_the_regions_by_priority(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    (profile,) = of_type(plan, "cdn:Profile")
    assert profile.inputs["sku"] == {"name": "Standard_AzureFrontDoor"}
    (group,) = of_type(plan, "AFDOriginGroup")
    probe = group.inputs["healthProbeSettings"]
    assert (probe["probePath"], probe["probeProtocol"]) == ("/readyz", "Https")
    apps = in_location(plan, "app:ContainerApp")
    origins = sorted(of_type(plan, "AFDOrigin"), key=lambda o: o.inputs["priority"])
    wanted = [apps[location].outputs["configuration"]["ingress"]["fqdn"] for location in LOCATIONS[stack]]
    assert [o.inputs["hostName"] for o in origins] == wanted
    assert [o.inputs["priority"] for o in origins] == list(range(1, len(wanted) + 1))
    assert all(o.inputs["originHostHeader"] == o.inputs["hostName"] for o in origins)
    assert all(o.inputs["originGroupName"] == group.outputs["name"] for o in origins)
    (route,) = of_type(plan, "cdn:Route")
    assert route.inputs["httpsRedirect"] == "Enabled" and route.inputs["forwardingProtocol"] == "HttpsOnly"
    assert route.inputs["originGroup"] == {"id": group.id}
    assert "cacheConfiguration" not in route.inputs
    (domain,) = of_type(plan, "AFDCustomDomain")
    host = config_of(stack)["parley:host"]
    assert domain.inputs["hostName"] == host and route.inputs["customDomains"] == [{"id": domain.id}]
    assert domain.inputs["tlsSettings"] == {"certificateType": "ManagedCertificate", "minimumTlsVersion": "TLS12"}


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_the_app_keeps_websockets_and_scales(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    environments = {r.id: r for r in of_type(plan, "ManagedEnvironment")}
    apps_subnets = {r.id for r in of_type(plan, "network:Subnet") if r.inputs["subnetName"] == "apps"}
    for app in of_type(plan, "app:ContainerApp"):
        ingress = app.inputs["configuration"]["ingress"]
        assert ingress["allowInsecure"] is False and ingress["transport"] == "auto"
        assert ingress["external"] is True and ingress["targetPort"] == 8000
        scale = app.inputs["template"]["scale"]
        assert scale["minReplicas"] == MIN_REPLICAS[stack] and scale["maxReplicas"] >= scale["minReplicas"]
        assert sorted(rule["name"] for rule in scale["rules"]) == ["connections", "cpu"]
        (container,) = app.inputs["template"]["containers"]
        assert container["args"] == ["serve", "--host", "0.0.0.0", "--port", "8000"]
        assert {p["type"]: p["httpGet"]["path"] for p in container["probes"]}["Readiness"] == "/readyz"
        environment = environments[app.inputs["managedEnvironmentId"]]
        assert environment.inputs["vnetConfiguration"]["infrastructureSubnetId"] in apps_subnets
        assert environment.inputs["zoneRedundant"] is (stack == "azure-prod")
        assert environment.inputs["appLogsConfiguration"]["destination"] == "log-analytics"
        assert isinstance(environment.inputs["appLogsConfiguration"]["logAnalyticsConfiguration"]["sharedKey"], Secret)
    for job in of_type(plan, "app:Job"):
        (container,) = job.inputs["template"]["containers"]
        assert container["args"] == ["migrate"] and job.inputs["configuration"]["triggerType"] == "Manual"


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_every_app_accepts_only_requests_through_the_stacks_front_door(stack: str, plans: dict[str, Plan]) -> None:
    """The Front Door profile is created first and each region's app is told its id (app/front_door.py refuses
    requests whose `X-Azure-FDID` differs): bound to the profile's output, not a copied value."""
    plan = plans[stack]
    (profile,) = of_type(plan, "cdn:Profile")
    front_door_id = profile.outputs["frontDoorId"]
    apps = in_location(plan, "app:ContainerApp")
    assert list(apps) == LOCATIONS[stack]
    for app in apps.values():
        (container,) = app.inputs["template"]["containers"]
        settings = {e["name"]: e.get("value") for e in container["env"]}
        assert settings["PARLEY_FRONT_DOOR_IDS"] == front_door_id == plan.outputs["frontDoorId"]
        assert profile.urn in app.dependencies
    # The value is one the app's own setting accepts (the mocks answer a GUID, as Azure does).
    assert Settings(front_door_ids=front_door_id).front_door_ids == (front_door_id,)


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_secrets_reach_the_app_only_as_key_vault_references(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    uris = {r.outputs["properties"]["secretUri"]: r for r in of_type(plan, "keyvault:Secret")}
    identities = {r.inputs["location"]: r.id for r in of_type(plan, "UserAssignedIdentity")}
    for workload in of_type(plan, "app:ContainerApp") + of_type(plan, "app:Job"):
        configuration = workload.inputs["configuration"]
        identity = identities[workload.inputs["location"]]
        assert workload.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity]}
        assert configuration["registries"][0]["identity"] == identity
        for secret in configuration["secrets"]:
            assert set(secret) == {"name", "keyVaultUrl", "identity"} and secret["identity"] == identity
            vault_secret = uris[secret["keyVaultUrl"]]
            assert vault_secret.inputs["resourceGroupName"] == workload.inputs["resourceGroupName"]
        (container,) = workload.inputs["template"]["containers"]
        by_secret = {e["name"] for e in container["env"] if "secretRef" in e}
        plain = {e["name"]: e["value"] for e in container["env"] if "value" in e}
        assert by_secret == (SECRET_VARIABLES if workload.type.endswith("ContainerApp") else {"PARLEY_DATABASE_URL"})
        assert not by_secret & set(plain) and plain["PARLEY_ENV"] == "production"
    for vault in of_type(plan, "keyvault:Vault"):
        properties = vault.inputs["properties"]
        assert properties["enableRbacAuthorization"] is True
        assert properties["networkAcls"]["defaultAction"] == "Deny"
        assert properties.get("enablePurgeProtection") is (True if stack == "azure-prod" else None)


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_the_identity_may_pull_the_image_and_read_its_vault_only(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    (registry,) = of_type(plan, "containerregistry:Registry")
    assert registry.inputs["adminUserEnabled"] is False and registry.inputs["anonymousPullEnabled"] is False
    vaults = in_location(plan, "keyvault:Vault")
    roles = {guid: role for role, guid in ROLE_IDS.items()}
    for location, identity in in_location(plan, "UserAssignedIdentity").items():
        grants = {
            roles[a.inputs["roleDefinitionId"].rsplit("/", 1)[-1]]: a
            for a in of_type(plan, "RoleAssignment")
            if a.inputs["principalId"] == identity.outputs["principalId"]
        }
        assert {role: a.inputs["scope"] for role, a in grants.items()} == {
            "AcrPull": registry.id,
            "Key Vault Secrets User": vaults[location].id,
        }
        assert all(a.inputs["principalType"] == "ServicePrincipal" for a in grants.values())
        assert all(
            a.inputs["roleDefinitionId"].startswith(f"/subscriptions/{SUBSCRIPTION_ID}/") for a in grants.values()
        )
        # The app and the job start only once both grants exist.
        for workload in of_type(plan, "app:ContainerApp") + of_type(plan, "app:Job"):
            if workload.inputs["location"] == location:
                assert {a.urn for a in grants.values()} <= set(workload.dependencies)
    replications = [r.inputs["location"] for r in of_type(plan, "containerregistry:Replication")]
    assert replications == LOCATIONS[stack][1:]


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_the_security_groups_are_a_least_privilege_chain(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    groups = {r.id: r for r in of_type(plan, "NetworkSecurityGroup")}
    subnets = of_type(plan, "network:Subnet")
    ranges = {(s.inputs["resourceGroupName"], s.inputs["subnetName"]): s.inputs["addressPrefix"] for s in subnets}
    databases = {prefix for (_, tier), prefix in ranges.items() if tier == "database"}
    for subnet in subnets:
        group_rules = groups[subnet.inputs["networkSecurityGroup"]["id"]].inputs["securityRules"]
        tier, own = subnet.inputs["subnetName"], subnet.inputs["addressPrefix"]
        apps = ranges[(subnet.inputs["resourceGroupName"], "apps")]
        # Each group ends by denying everything else, both ways, so Azure's permissive defaults never apply.
        for direction in ("Inbound", "Outbound"):
            rules = sorted((r for r in group_rules if r["direction"] == direction), key=lambda r: r["priority"])
            assert (rules[-1]["access"], rules[-1]["sourceAddressPrefix"], rules[-1]["priority"]) == ("Deny", "*", 4096)
            allowed = [r for r in rules if r["access"] == "Allow"]
            assert all(r["sourceAddressPrefix"] != "*" and r["destinationAddressPrefix"] != "*" for r in allowed)
            assert all(
                "*" not in r["destinationPortRanges"]
                or r["sourceAddressPrefix"] == r["destinationAddressPrefix"] == apps
                for r in allowed
            )
        inbound = {
            (r["sourceAddressPrefix"], tuple(r["destinationPortRanges"]))
            for r in group_rules
            if r["direction"] == "Inbound" and r["access"] == "Allow"
        }
        if tier == "apps":
            # Public ingress of an external workload-profiles environment bypasses the subnet, so a rule naming
            # Front Door would only pretend to restrict it; the platform's probes and the subnet remain.
            assert inbound == {("AzureLoadBalancer", ("30000-32767",)), (own, ("*",))}
            outbound_tags = {
                r["destinationAddressPrefix"]
                for r in group_rules
                if r["direction"] == "Outbound"
                and r["access"] == "Allow"
                and not r["destinationAddressPrefix"][0].isdigit()
            }
            # Image layers of a Basic or Standard registry come from Azure Storage.
            assert {"AzureContainerRegistry", "Storage", "AzureKeyVault", "AzureActiveDirectory"} <= outbound_tags
        elif tier == "database":
            assert {source for source, _ in inbound} <= {apps} | databases
            assert all(ports in (("5432",), ("5432", "6432")) for _, ports in inbound)
            assert (apps, ("5432",)) in inbound
        else:
            assert inbound == {(apps, ("6380",))}
    assert all(ipaddress.ip_network(prefix).prefixlen >= 18 for prefix in ranges.values())


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_no_secret_value_appears_outside_a_pulumi_secret(stack: str, plans: dict[str, Plan]) -> None:
    """The generated passwords and the keys Azure hands out (the mocks' values) may travel only inside
    secrets: in the server's password, the Key Vault secrets and the workspace key, never in plain inputs,
    outputs or stack outputs."""
    plan = plans[stack]
    generated = [r.outputs["result"].value for r in of_type(plan, "RandomPassword")]
    for redis in of_type(plan, "redis:Redis"):
        generated.append(CALLS["azure-native:redis:listRedisKeys"]({"name": redis.outputs["name"]}, "")["primaryKey"])
    for workspace in of_type(plan, "Workspace"):
        keys = CALLS["azure-native:operationalinsights:getSharedKeys"]({"workspaceName": workspace.outputs["name"]}, "")
        generated.append(keys["primarySharedKey"])
    assert len(generated) == 2 + 2 * len(LOCATIONS[stack]) and all(len(value) >= 40 for value in generated)
    fragments = generated + [g.replace("/", "%2F").replace("+", "%2B") for g in generated]
    assert plain_copies(plan, fragments) == []
    # The check can fail: the values are there, inside the secrets (the Redis key URL-escaped in its URL).
    stored = [reveal(r.inputs["properties"]["value"]) for r in of_type(plan, "keyvault:Secret")]
    stored += [
        reveal(r.inputs["appLogsConfiguration"]["logAnalyticsConfiguration"]["sharedKey"])
        for r in of_type(plan, "ManagedEnvironment")
    ]
    assert all(
        any(f in value for value in stored for f in (g, g.replace("/", "%2F").replace("+", "%2B").replace("=", "%3D")))
        for g in generated
    )
    urls = [v for v in stored if v.startswith(("postgresql+asyncpg://", "rediss://"))]
    assert len(urls) == 2 * len(LOCATIONS[stack])
    assert all(u.endswith(("?ssl=require", ":6380/0")) for u in urls)


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_stack_outputs_name_things_but_hold_no_secrets(stack: str, plans: dict[str, Plan]) -> None:
    outputs = plans[stack].outputs
    host = config_of(stack)["parley:host"]
    assert outputs["url"] == f"https://{host}"
    assert outputs["frontDoorHostName"].endswith(".azurefd.net")
    assert outputs["registryLoginServer"].endswith(".azurecr.io")
    assert list(outputs["appFqdns"]) == list(outputs["databaseServers"]) == LOCATIONS[stack]
    assert outputs["migration"] == {"resourceGroup": f"parley-{stack}-eastus2", "job": "parley-migrate"}
    assert outputs["customDomainValidationToken"]
    (profile,) = of_type(plans[stack], "cdn:Profile")
    assert outputs["frontDoorId"] == profile.outputs["frontDoorId"] and len(outputs["frontDoorId"]) == 36
    assert not [path for path, leaf in walk(outputs) if isinstance(leaf, Secret)]


BAD_CONFIG = [
    ({"parley:dbInstanceClass": "db.t4g.micro"}, "parley:dbInstanceClass: is not a setting of the azure target"),
    ({"parley:vpcCidr": "10.0.0.0/24"}, "parley:vpcCidr: 10.0.0.0/24 must have a prefix length from /16 to /22"),
    ({"parley:vpcCidr": "8.8.0.0/16"}, "parley:vpcCidr: 8.8.0.0/16 is not a private"),
    ({"azure-native:location": "atlantis"}, "azure-native:location: 'atlantis' is not an Azure location"),
    ({"parley:secondaryRegion": "eastus2"}, "parley:secondaryRegion: must differ from azure-native:location"),
    ({"parley:secondaryRegion": "us-west-2"}, "parley:secondaryRegion: 'us-west-2' is not an Azure location"),
    ({"parley:dbPassword": "hunter2"}, "parley:dbPassword: holds a secret in plain text"),
    ({"azure-native:clientSecret": "s3cret"}, "azure-native:clientSecret: holds a secret in plain text"),
    ({"parley:environment": "qa"}, "parley:environment: 'qa' is not one of dev, staging, prod"),
    ({"parley:host": "Chat Example"}, "parley:host: 'Chat Example' is not a lower-case DNS name"),
    ({"parley:imageTag": ""}, "parley:imageTag: is required"),
    ({"parley:replicas": "4", "parley:maxReplicas": "2"}, "parley:maxReplicas: 2 is below parley:replicas (4)"),
    ({"parley:containerCpu": "3"}, "parley:containerCpu: '3' is not a Container Apps size"),
    ({"parley:dbSku": "db.t4g.micro"}, "parley:dbSku: 'db.t4g.micro' is not a Flexible Server SKU"),
    ({"parley:dbStorageGb": "100"}, "parley:dbStorageGb: 100 is not a Flexible Server size"),
    ({"parley:redisSku": "Premium_C1"}, "parley:redisSku: 'Premium_C1' is not a Redis SKU"),
    ({"parley:replicaPromoted": "yes"}, "parley:replicaPromoted: 'yes' is not true or false"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_CONFIG, ids=[next(iter(o)) for o, _ in BAD_CONFIG])
def test_bad_configuration_is_refused_with_one_clear_message(overrides: dict[str, str], message: str) -> None:
    # One line, and the key comes first: "<key>: <problem>".
    assert refusal("azure-dev", overrides).startswith(message)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"parley:secondaryRegion": ""}, "parley:secondaryRegion: is required in prod"),
        ({"parley:dbSku": "Standard_B2s"}, "parley:dbSku: Standard_B2s is Burstable; zone-redundant high availability"),
        ({"parley:redisSku": "Basic_C1"}, "parley:redisSku: Basic_C1 has no replica; prod needs Standard or Premium"),
        ({"parley:secondaryVpcCidr": "10.30.128.0/17"}, "parley:secondaryVpcCidr: 10.30.128.0/17 overlaps"),
    ],
)
def test_prod_refuses_what_would_lose_its_redundancy(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(PlanError, match=re.escape(message)):
        run_stack("azure-prod", config_overrides=overrides)


def test_the_configuration_is_checked_without_declaring_anything() -> None:
    """`load` is pure: it takes the config map and names the bad key, so it runs before any resource."""
    values = {
        "azure-native:location": "westeurope",
        "parley:target": "azure",
        "parley:host": "chat.example.org",
        "parley:imageTag": "1.0.0",
        "parley:environment": "staging",
        "parley:containerCpu": "1.5",
    }
    config = load(StackConfig(values, frozenset()), "azure-staging")
    assert (config.location, config.sizing.db_high_availability, config.sizing.memory) == ("westeurope", True, "3Gi")
    assert config.secondary_location is None and config.locations == ["westeurope"]
    with pytest.raises(Exception, match=re.escape("parley:vpcCidr: 192.168.0.0/15 is not a private")):
        load(StackConfig({**values, "parley:vpcCidr": "192.168.0.0/15"}, frozenset()), "azure-staging")


def test_a_promoted_replica_is_declared_as_a_redundant_primary() -> None:
    plan = run_stack("azure-prod", config_overrides={"parley:replicaPromoted": "true"})
    replica = in_location(plan, "dbforpostgresql:Server")["centralus"]
    assert replica.inputs["highAvailability"] == {"mode": "ZoneRedundant"}
    assert replica.inputs["backup"]["backupRetentionDays"] == 35
    # Geo-redundant backup is fixed when a server is created; the replica was created without it.
    assert replica.inputs["backup"]["geoRedundantBackup"] == "Disabled"
    # Created as a replica, it keeps those settings: changing them would replace the server.
    assert replica.inputs["createMode"] == "Replica"


def test_pulumi_yaml_declares_every_setting_the_azure_target_reads() -> None:
    assert_settings_declared(AZURE_KEYS, AZURE_STACKS)
