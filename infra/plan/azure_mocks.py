"""What the mocks add to `azure-native:` resources' outputs, and answer for its provider functions.

Every resource gets its ARM `id` (`/subscriptions/<id>/resourceGroups/<group>/providers/<namespace>/<type>/
<name>`, child resources under their parents) and `name` (the one the program gave, else `<logical name>-<7
hex digits>` as Pulumi's auto-naming would make it), plus what programs read: identities' `principalId` and
`clientId`, a registry's `loginServer`, a vault's and a secret's URIs, a server's `fullyQualifiedDomainName`,
a cache's `hostName` and ports, a workspace's `customerId`, an environment's `defaultDomain`, an app's ingress
`fqdn`, a Front Door profile's `frontDoorId`, an endpoint's `hostName` and a custom domain's
`validationProperties`. What the real provider never returns (secret values inside `properties`, a
workspace's shared key) is left out of the outputs.
Every value derives from the type, the names and the inputs, so each run of a stack gives the same plan."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable
from typing import Any

Args = dict[str, Any]

SUBSCRIPTION_ID = "00000000-0000-4000-8000-000000000001"
TENANT_ID = "00000000-0000-4000-8000-000000000002"
CLIENT_ID = "00000000-0000-4000-8000-000000000003"
# How the mock monitor hands a secret input to the mocks: wrapped in Pulumi's secret signature.
SIGNATURE_KEY, SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"
RG = "/subscriptions/{subscription}/resourceGroups/{resourceGroupName}"
NET = RG + "/providers/Microsoft.Network"
CDN = RG + "/providers/Microsoft.Cdn/profiles/{profileName}"
PG = RG + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/{serverName}"
APP = RG + "/providers/Microsoft.App"
# Each type's ARM id, formatted with its inputs, and the input holding its own name (last in the id).
PATHS: dict[str, tuple[str, str]] = {
    "resources:ResourceGroup": (RG, "resourceGroupName"),
    "network:VirtualNetwork": (NET + "/virtualNetworks/{virtualNetworkName}", "virtualNetworkName"),
    "network:Subnet": (NET + "/virtualNetworks/{virtualNetworkName}/subnets/{subnetName}", "subnetName"),
    "network:NetworkSecurityGroup": (
        NET + "/networkSecurityGroups/{networkSecurityGroupName}",
        "networkSecurityGroupName",
    ),
    "network:VirtualNetworkPeering": (
        NET + "/virtualNetworks/{virtualNetworkName}/virtualNetworkPeerings/{virtualNetworkPeeringName}",
        "virtualNetworkPeeringName",
    ),
    "network:PrivateEndpoint": (NET + "/privateEndpoints/{privateEndpointName}", "privateEndpointName"),
    "network:PrivateDnsZoneGroup": (
        NET + "/privateEndpoints/{privateEndpointName}/privateDnsZoneGroups/{privateDnsZoneGroupName}",
        "privateDnsZoneGroupName",
    ),
    "privatedns:PrivateZone": (
        RG + "/providers/Microsoft.Network/privateDnsZones/{privateZoneName}",
        "privateZoneName",
    ),
    "privatedns:VirtualNetworkLink": (
        RG + "/providers/Microsoft.Network/privateDnsZones/{privateZoneName}/virtualNetworkLinks/"
        "{virtualNetworkLinkName}",
        "virtualNetworkLinkName",
    ),
    "dbforpostgresql:Server": (PG, "serverName"),
    "dbforpostgresql:Database": (PG + "/databases/{databaseName}", "databaseName"),
    "dbforpostgresql:Configuration": (PG + "/configurations/{configurationName}", "configurationName"),
    "redis:Redis": (RG + "/providers/Microsoft.Cache/redis/{name}", "name"),
    "keyvault:Vault": (RG + "/providers/Microsoft.KeyVault/vaults/{vaultName}", "vaultName"),
    "keyvault:Secret": (RG + "/providers/Microsoft.KeyVault/vaults/{vaultName}/secrets/{secretName}", "secretName"),
    "managedidentity:UserAssignedIdentity": (
        RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}",
        "resourceName",
    ),
    "containerregistry:Registry": (
        RG + "/providers/Microsoft.ContainerRegistry/registries/{registryName}",
        "registryName",
    ),
    "containerregistry:Replication": (
        RG + "/providers/Microsoft.ContainerRegistry/registries/{registryName}/replications/{replicationName}",
        "replicationName",
    ),
    "operationalinsights:Workspace": (
        RG + "/providers/Microsoft.OperationalInsights/workspaces/{workspaceName}",
        "workspaceName",
    ),
    "app:ManagedEnvironment": (APP + "/managedEnvironments/{environmentName}", "environmentName"),
    "app:ContainerApp": (APP + "/containerApps/{containerAppName}", "containerAppName"),
    "app:Job": (APP + "/jobs/{jobName}", "jobName"),
    "cdn:Profile": (CDN, "profileName"),
    "cdn:AFDEndpoint": (CDN + "/afdEndpoints/{endpointName}", "endpointName"),
    "cdn:AFDOriginGroup": (CDN + "/originGroups/{originGroupName}", "originGroupName"),
    "cdn:AFDOrigin": (CDN + "/originGroups/{originGroupName}/origins/{originName}", "originName"),
    "cdn:AFDCustomDomain": (CDN + "/customDomains/{customDomainName}", "customDomainName"),
    "cdn:Route": (CDN + "/afdEndpoints/{endpointName}/routes/{routeName}", "routeName"),
    "authorization:RoleAssignment": (
        "{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
        "roleAssignmentName",
    ),
}


def digest(*parts: str, size: int = 8) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:size]


def guid(*parts: str) -> str:
    return str(uuid.UUID(hex=digest(*parts, size=32), version=4))


def azure_outputs(typ: str, name: str, inputs: Args, resource_id: str, known: dict[str, Args]) -> Args:
    """The outputs beyond the inputs that a `azure-native` resource of type `typ` would return. `known` holds
    the outputs of the resources created so far, by the mocks' resource id (an app reads its environment's)."""
    kind = typ.removeprefix("azure-native:")
    path, own = PATHS.get(kind, (_fallback_path(kind), "name"))
    # Role assignments are named by a GUID, everything else after its logical name.
    own_name = inputs.get(own) or (
        guid(typ, name) if own == "roleAssignmentName" else f"{name}-{digest(typ, name)[:7]}"
    )
    values = {k: str(v) for k, v in inputs.items() if isinstance(v, str)}
    values |= {own: own_name, "subscription": SUBSCRIPTION_ID}
    outputs: Args = {"id": path.format_map(_Missing(values)), "name": own_name}
    identity = _revealed(inputs.get("identity"))
    if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
        # Given as a list of identity ids, returned as a map of each id to its principal and client ids.
        assigned = {i: known.get(i, {}) for i in identity["userAssignedIdentities"]}
        outputs["identity"] = {
            **identity,
            "userAssignedIdentities": {
                i: {"principalId": o.get("principalId"), "clientId": o.get("clientId")} for i, o in assigned.items()
            },
        }
    extra = EXTRAS.get(kind)
    if extra:
        outputs |= extra(own_name, inputs, known)
    return outputs


class _Missing(dict[str, str]):
    """Formats a missing parent name as `unknown` instead of failing: a stand-in id is still an id."""

    def __missing__(self, key: str) -> str:
        return "unknown"


def _fallback_path(kind: str) -> str:
    module, resource = kind.split(":")
    return RG + f"/providers/Microsoft.{module.capitalize()}/{resource[0].lower()}{resource[1:]}s/{{name}}"


def _revealed(value: Any) -> Any:
    """`value` without secret wrappers: for outputs built from secret inputs once their secrets are dropped."""
    if isinstance(value, dict):
        if value.get(SIGNATURE_KEY) == SECRET_SIGNATURE:
            return _revealed(value.get("value"))
        return {k: _revealed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_revealed(v) for v in value]
    return value


def _identity(own: str, inputs: Args, known: dict[str, Args]) -> Args:
    return {"principalId": guid("principal", own), "clientId": guid("client", own), "tenantId": TENANT_ID}


def _vault(own: str, inputs: Args, known: dict[str, Args]) -> Args:
    return {"properties": {**(inputs.get("properties") or {}), "vaultUri": f"https://{own}.vault.azure.net/"}}


def _secret(own: str, inputs: Args, known: dict[str, Args]) -> Args:
    # ARM never returns a secret's value; what it returns is where to read it.
    properties = {k: v for k, v in (_revealed(inputs.get("properties")) or {}).items() if k != "value"}
    uri = f"https://{inputs.get('vaultName', 'unknown')}.vault.azure.net/secrets/{own}"
    return {"properties": {**properties, "secretUri": uri, "secretUriWithVersion": f"{uri}/{digest(uri, size=32)}"}}


def _server(own: str, inputs: Args, known: dict[str, Args]) -> Args:
    return {
        "fullyQualifiedDomainName": f"{own}.postgres.database.azure.com",
        "state": "Ready",
        "administratorLoginPassword": None,
        "replicationRole": "AsyncReplica" if inputs.get("createMode") == "Replica" else "Primary",
    }


def _redis(own: str, inputs: Args, known: dict[str, Args]) -> Args:
    return {
        "hostName": f"{own}.redis.cache.windows.net",
        "port": 6379,
        "sslPort": 6380,
        "provisioningState": "Succeeded",
    }


def _registry(own: str, inputs: Args, known: dict[str, Args]) -> Args:
    return {"loginServer": f"{own.lower()}.azurecr.io"}


def _workspace(own: str, inputs: Args, known: dict[str, Args]) -> Args:
    return {"customerId": guid("workspace", own)}


def _environment(own: str, inputs: Args, known: dict[str, Args]) -> Args:
    logs = dict(_revealed(inputs.get("appLogsConfiguration")) or {})
    if "logAnalyticsConfiguration" in logs:  # the shared key is write-only
        logs["logAnalyticsConfiguration"] = {
            k: v for k, v in logs["logAnalyticsConfiguration"].items() if k != "sharedKey"
        }
    domain = f"{digest('environment', own, str(inputs.get('location')), size=12)}.{inputs.get('location')}"
    return {"appLogsConfiguration": logs, "defaultDomain": f"{domain}.azurecontainerapps.io", "staticIp": "20.0.0.1"}


def _container_app(own: str, inputs: Args, known: dict[str, Args]) -> Args:
    environment = known.get(str(inputs.get("managedEnvironmentId")), {})
    domain = environment.get("defaultDomain", "unknown.azurecontainerapps.io")
    configuration = dict(inputs.get("configuration") or {})
    if configuration.get("ingress"):
        configuration["ingress"] = {**configuration["ingress"], "fqdn": f"{own}.{domain}"}
    revision = digest("revision", own, size=7)
    return {"configuration": configuration, "latestRevisionFqdn": f"{own}--{revision}.{domain}"}


def _profile(own: str, inputs: Args, known: dict[str, Args]) -> Args:
    return {"frontDoorId": guid("front door", own), "resourceState": "Active"}


def _endpoint(own: str, inputs: Args, known: dict[str, Args]) -> Args:
    return {"hostName": f"{own}-{digest('afd', own, size=16)}.z01.azurefd.net"}


def _custom_domain(own: str, inputs: Args, known: dict[str, Args]) -> Args:
    return {
        "domainValidationState": "Pending",
        "validationProperties": {"validationToken": digest("token", own, size=32), "expirationDate": "2099-01-01"},
    }


EXTRAS: dict[str, Callable[[str, Args, dict[str, Args]], Args]] = {
    "managedidentity:UserAssignedIdentity": _identity,
    "keyvault:Vault": _vault,
    "keyvault:Secret": _secret,
    "dbforpostgresql:Server": _server,
    "redis:Redis": _redis,
    "containerregistry:Registry": _registry,
    "operationalinsights:Workspace": _workspace,
    "app:ManagedEnvironment": _environment,
    "app:ContainerApp": _container_app,
    "cdn:Profile": _profile,
    "cdn:AFDEndpoint": _endpoint,
    "cdn:AFDCustomDomain": _custom_domain,
}


def client_config(args: Args, region: str) -> Args:
    return {"clientId": CLIENT_ID, "objectId": guid("object"), "subscriptionId": SUBSCRIPTION_ID, "tenantId": TENANT_ID}


def _key(*parts: str) -> str:
    """A stand-in access key in Azure's form: base64 of 32 bytes (so it holds `+`, `/` or `=`)."""
    return base64.b64encode(bytes.fromhex(digest(*parts, size=64))).decode()


def redis_keys(args: Args, region: str) -> Args:
    name = str(args.get("name"))
    return {"primaryKey": _key("redis", name, "primary"), "secondaryKey": _key("redis", name, "secondary")}


def workspace_keys(args: Args, region: str) -> Args:
    name = str(args.get("workspaceName"))
    return {"primarySharedKey": _key("workspace", name, "1"), "secondarySharedKey": _key("workspace", name, "2")}


CALLS: dict[str, Callable[[Args, str], Args]] = {
    "azure-native:authorization:getClientConfig": client_config,
    "azure-native:redis:listRedisKeys": redis_keys,
    "azure-native:operationalinsights:getSharedKeys": workspace_keys,
}
