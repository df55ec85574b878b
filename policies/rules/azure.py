"""Azure rules (azure-native): network security groups, PostgreSQL flexible servers, Redis, Container Apps,
Key Vault, Front Door and cost tags. Property names are azure-native's engine (camelCase) names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.model import ResourceView
from policies.props import as_dict, as_list, get, is_false, is_true, is_unknown, port_ranges
from policies.registry import resource_rule

NSG = "azure-native:network:NetworkSecurityGroup"
SECURITY_RULE = "azure-native:network:SecurityRule"
POSTGRES = "azure-native:dbforpostgresql:Server"
POSTGRES_FIREWALL = "azure-native:dbforpostgresql:FirewallRule"
REDIS = "azure-native:redis:Redis"
CONTAINER_APP = "azure-native:app:ContainerApp"
VAULT = "azure-native:keyvault:Vault"
FRONT_DOOR_ROUTE = "azure-native:cdn:Route"
FRONT_DOOR_DOMAIN = "azure-native:cdn:AFDCustomDomain"
INTERNET = {"*", "0.0.0.0/0", "::/0", "internet", "any"}
WEB_PORTS = {80, 443}
MIN_BACKUP_DAYS = 7
COSTLY = (
    "azure-native:resources:ResourceGroup",
    "azure-native:network:VirtualNetwork",
    POSTGRES,
    REDIS,
    CONTAINER_APP,
    "azure-native:app:ManagedEnvironment",
    VAULT,
    "azure-native:cdn:Profile",
    "azure-native:operationalinsights:Workspace",
    "azure-native:storage:StorageAccount",
)
COST_TAGS = ("parley-stack", "parley-environment")


def _public_inbound(rule: Mapping[str, Any]) -> str | None:
    """Why an inbound Allow rule from the internet is too wide, or None when it is not such a rule or is fine."""
    if str(rule.get("direction", "")).lower() != "inbound" or str(rule.get("access", "")).lower() != "allow":
        return None
    sources = [rule.get("sourceAddressPrefix"), *as_list(rule.get("sourceAddressPrefixes"))]
    if not any(str(s).lower() in INTERNET for s in sources if s is not None):
        return None
    specs = [rule.get("destinationPortRange"), *as_list(rule.get("destinationPortRanges"))]
    ports = port_ranges([s for s in specs if s is not None] or "*")
    if ports is not None and ports <= WEB_PORTS:
        return None
    shown = "every port" if ports is None else f"ports {', '.join(map(str, sorted(ports)))}"
    return f"rule {rule.get('name', '?')} admits the internet on {shown}"


@resource_rule(
    "azure-nsg-no-public-ingress",
    description="No network security group admits the internet except on 80 and 443.",
    enforcement="mandatory",
    severity="critical",
    types=(NSG, SECURITY_RULE),
    remediation="Admit Internet/* only on 443 (and 80 to redirect) towards the front end; allow everything "
    "else from VirtualNetwork or named subnets.",
)
def nsg_no_public_ingress(view: ResourceView) -> list[str]:
    rules = (
        [view.props] if view.type == SECURITY_RULE else [as_dict(r) for r in as_list(view.props.get("securityRules"))]
    )
    return [problem for rule in rules if (problem := _public_inbound(rule))]


@resource_rule(
    "azure-postgres-not-public",
    description="PostgreSQL flexible servers take no connections from the internet.",
    enforcement="mandatory",
    severity="critical",
    types=(POSTGRES, POSTGRES_FIREWALL),
    remediation="Set network.publicNetworkAccess='Disabled' with a delegated subnet or a private endpoint; "
    "add no firewall rule for 0.0.0.0-255.255.255.255.",
)
def postgres_not_public(view: ResourceView) -> list[str]:
    if view.type == POSTGRES_FIREWALL:
        wide = view.props.get("startIpAddress") == "0.0.0.0" and view.props.get("endIpAddress") == "255.255.255.255"
        return ["the firewall rule admits every address"] if wide else []
    access = get(view.props, "network.publicNetworkAccess")
    if is_unknown(access) or access == "Disabled" or get(view.props, "network.delegatedSubnetResourceId"):
        return []
    return [f"network.publicNetworkAccess is {access or 'not set (Enabled)'}"]


@resource_rule(
    "azure-postgres-backups",
    description=f"PostgreSQL keeps backups for at least {MIN_BACKUP_DAYS} days.",
    enforcement="mandatory",
    severity="high",
    types=(POSTGRES,),
    remediation=f"Set backup.backupRetentionDays >= {MIN_BACKUP_DAYS} (and geoRedundantBackup='Enabled' in prod).",
)
def postgres_backups(view: ResourceView) -> list[str]:
    if view.props.get("createMode") in ("Replica", "GeoRestore") and get(view.props, "backup") is None:
        return []  # a replica inherits the source's backup settings
    days = get(view.props, "backup.backupRetentionDays")
    if is_unknown(days) or (isinstance(days, int) and days >= MIN_BACKUP_DAYS):
        return []
    return [f"backup.backupRetentionDays is {days or 'not set (7 by default, but say so)'}"]


@resource_rule(
    "azure-postgres-high-availability",
    description="Production PostgreSQL runs zone-redundant high availability with geo-redundant backups.",
    enforcement="mandatory",
    severity="high",
    types=(POSTGRES,),
    remediation="Set highAvailability.mode='ZoneRedundant' and backup.geoRedundantBackup='Enabled' in prod.",
    prod_only=True,
)
def postgres_high_availability(view: ResourceView) -> list[str]:
    if view.props.get("createMode") == "Replica":
        return []  # read replicas cannot have HA; the primary carries it
    problems = []
    if get(view.props, "highAvailability.mode") not in ("ZoneRedundant", "[unknown]"):
        problems.append(f"highAvailability.mode is {get(view.props, 'highAvailability.mode') or 'not set'} in prod")
    if get(view.props, "backup.geoRedundantBackup") not in ("Enabled", "[unknown]"):
        problems.append("backup.geoRedundantBackup is not Enabled in prod")
    return problems


@resource_rule(
    "azure-redis-tls-auth",
    description="Azure Cache for Redis accepts TLS 1.2 only, with authentication, and no public access.",
    enforcement="mandatory",
    severity="high",
    types=(REDIS,),
    remediation="Set enableNonSslPort=False, minimumTlsVersion='1.2', publicNetworkAccess='Disabled' (private "
    "endpoint) and never redisConfiguration.authnotrequired='true'.",
)
def redis_tls_auth(view: ResourceView) -> list[str]:
    props, problems = view.props, []
    if is_true(props.get("enableNonSslPort")):
        problems.append("enableNonSslPort is true: port 6379 serves plain text")
    if props.get("minimumTlsVersion") not in ("1.2", "1.3", "[unknown]"):
        problems.append(f"minimumTlsVersion is {props.get('minimumTlsVersion') or 'not set'}")
    if is_true(get(props, "redisConfiguration.authnotrequired")):
        problems.append("redisConfiguration.authnotrequired is true")
    if props.get("publicNetworkAccess") not in ("Disabled", "[unknown]"):
        problems.append(f"publicNetworkAccess is {props.get('publicNetworkAccess') or 'not set (Enabled)'}")
    return problems


@resource_rule(
    "azure-redis-high-availability",
    description="Production Redis is Standard or Premium (a replica), never Basic.",
    enforcement="mandatory",
    severity="medium",
    types=(REDIS,),
    remediation="Use sku.name='Standard' or 'Premium' in prod (Premium with zones for zone redundancy).",
    prod_only=True,
)
def redis_high_availability(view: ResourceView) -> list[str]:
    return ["sku.name is Basic in prod: one node, no failover"] if get(view.props, "sku.name") == "Basic" else []


@resource_rule(
    "azure-containerapp-https-only",
    description="Container Apps ingress refuses plain HTTP.",
    enforcement="mandatory",
    severity="high",
    types=(CONTAINER_APP,),
    remediation="Set configuration.ingress.allowInsecure=False (HTTP is then redirected to HTTPS).",
)
def containerapp_https_only(view: ResourceView) -> list[str]:
    insecure = get(view.props, "configuration.ingress.allowInsecure")
    return ["configuration.ingress.allowInsecure is true"] if is_true(insecure) else []


@resource_rule(
    "azure-keyvault-protection",
    description="In prod, Key Vaults keep deleted secrets (soft delete) and refuse to purge them early.",
    enforcement="mandatory",
    severity="medium",
    types=(VAULT,),
    remediation="Set properties.enablePurgeProtection=True and leave enableSoftDelete true.",
    # Purge protection keeps a deleted vault's name for its retention period, which would block tearing a dev
    # stack down and up again; soft delete itself cannot be turned off on Azure any more.
    prod_only=True,
)
def keyvault_protection(view: ResourceView) -> list[str]:
    props = as_dict(view.props.get("properties"))
    problems = [] if is_true(props.get("enablePurgeProtection")) else ["properties.enablePurgeProtection is not true"]
    if is_false(props.get("enableSoftDelete")):
        problems.append("properties.enableSoftDelete is false")
    return problems


@resource_rule(
    "azure-frontdoor-https",
    description="Front Door routes redirect HTTP to HTTPS and custom domains require TLS 1.2+.",
    enforcement="mandatory",
    severity="high",
    types=(FRONT_DOOR_ROUTE, FRONT_DOOR_DOMAIN),
    remediation="On each route set httpsRedirect='Enabled' and forwardingProtocol='HttpsOnly'; on each custom "
    "domain set tlsSettings.minimumTlsVersion='TLS12'.",
)
def frontdoor_https(view: ResourceView) -> list[str]:
    if view.type == FRONT_DOOR_DOMAIN:
        version = get(view.props, "tlsSettings.minimumTlsVersion")
        return [] if version in ("TLS12", "TLS13", "[unknown]") else [f"minimumTlsVersion is {version or 'not set'}"]
    problems = []
    # Routes accept both protocols unless told otherwise.
    protocols = as_list(view.props.get("supportedProtocols")) or ["Http", "Https"]
    if view.props.get("httpsRedirect") != "Enabled" and "Http" in protocols:
        problems.append("httpsRedirect is not Enabled while the route accepts HTTP")
    if view.props.get("forwardingProtocol") == "HttpOnly":
        problems.append("forwardingProtocol is HttpOnly: traffic reaches the origin in clear")
    return problems


@resource_rule(
    "azure-cost-tags",
    description="Billable Azure resources carry the parley-stack and parley-environment tags.",
    enforcement="mandatory",
    severity="low",
    types=COSTLY,
    remediation="Pass tags=cost_labels(environment) (infra/tags.py) to every billable resource.",
)
def cost_tags(view: ResourceView) -> list[str]:
    tags = as_dict(view.props.get("tags"))
    missing = [k for k in COST_TAGS if not tags.get(k) and not tags.get(k.replace("-", ":", 1))]
    return [f"missing cost-allocation tag {', '.join(missing)}"] if missing else []
