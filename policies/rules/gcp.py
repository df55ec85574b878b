"""GCP rules: firewalls, Cloud SQL, Memorystore Redis, Cloud Run, the HTTPS load balancer, flow logs and cost
labels. Property names are pulumi-gcp's engine (camelCase) names."""

from __future__ import annotations

from policies.model import ResourceView
from policies.props import WORLD, as_dict, as_list, get, is_false, is_off, is_true, is_unknown, port_ranges
from policies.registry import resource_rule

FIREWALL = "gcp:compute/firewall:Firewall"
SQL = "gcp:sql/databaseInstance:DatabaseInstance"
REDIS = "gcp:redis/instance:Instance"
CLOUD_RUN = "gcp:cloudrunv2/service:Service"
SSL_POLICY = "gcp:compute/sSLPolicy:SSLPolicy"
HTTPS_PROXY = "gcp:compute/targetHttpsProxy:TargetHttpsProxy"
SUBNETWORK = "gcp:compute/subnetwork:Subnetwork"
WEB_PORTS = {80, 443}
# Subnets for Google's proxies and Private Service Connect cannot log flows.
PROXY_PURPOSES = (
    "REGIONAL_MANAGED_PROXY",
    "GLOBAL_MANAGED_PROXY",
    "PRIVATE_SERVICE_CONNECT",
    "INTERNAL_HTTPS_LOAD_BALANCER",
)
COSTLY = (
    SQL,
    REDIS,
    CLOUD_RUN,
    "gcp:cloudrunv2/job:Job",
    "gcp:compute/globalAddress:GlobalAddress",
    "gcp:secretmanager/secret:Secret",
    "gcp:artifactregistry/repository:Repository",
    "gcp:storage/bucket:Bucket",
)
COST_LABELS = ("parley-stack", "parley-environment")


def _is_replica(view: ResourceView) -> bool:
    return bool(view.props.get("masterInstanceName"))


@resource_rule(
    "gcp-firewall-no-public-ingress",
    description="No VPC firewall rule admits 0.0.0.0/0 except on 80 and 443.",
    enforcement="mandatory",
    severity="critical",
    types=(FIREWALL,),
    remediation="Restrict sourceRanges to the load balancer and health-check ranges (130.211.0.0/22, "
    "35.191.0.0/16) or to sourceTags/sourceServiceAccounts; open the world only on 443 and 80.",
)
def firewall_no_public_ingress(view: ResourceView) -> list[str]:
    props = view.props
    if props.get("direction", "INGRESS") != "INGRESS" or is_true(props.get("disabled")):
        return []
    if not any(r in WORLD for r in as_list(props.get("sourceRanges"))):
        return []
    problems = []
    for allowed in as_list(props.get("allows")):
        protocol = as_dict(allowed).get("protocol", "all")
        ports = None if protocol == "all" else port_ranges(as_list(as_dict(allowed).get("ports")) or "*")
        if ports is None or not ports <= WEB_PORTS:
            shown = "every port" if ports is None else ", ".join(map(str, sorted(ports)))
            problems.append(f"0.0.0.0/0 may reach {protocol} {shown}")
    return problems


@resource_rule(
    "gcp-sql-not-public",
    description="Cloud SQL has no public IP, or at least no authorised network open to the world.",
    enforcement="mandatory",
    severity="critical",
    types=(SQL,),
    remediation="Set settings.ipConfiguration.ipv4Enabled=False with privateNetwork (private services access).",
)
def sql_not_public(view: ResourceView) -> list[str]:
    ip = as_dict(get(view.props, "settings.ipConfiguration"))
    problems = []
    if is_true(ip.get("ipv4Enabled", True)) and not is_unknown(ip.get("ipv4Enabled")):
        problems.append("settings.ipConfiguration.ipv4Enabled is true: the instance has a public address")
    if any(as_dict(n).get("value") in WORLD for n in as_list(ip.get("authorizedNetworks"))):
        problems.append("an authorised network is 0.0.0.0/0")
    return problems


@resource_rule(
    "gcp-sql-tls",
    description="Cloud SQL accepts encrypted connections only.",
    enforcement="mandatory",
    severity="high",
    types=(SQL,),
    remediation="Set settings.ipConfiguration.sslMode='ENCRYPTED_ONLY' (or TRUSTED_CLIENT_CERTIFICATE_REQUIRED).",
)
def sql_tls(view: ResourceView) -> list[str]:
    mode = get(view.props, "settings.ipConfiguration.sslMode")
    if mode in ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED", "[unknown]"):
        return []
    return [f"settings.ipConfiguration.sslMode is {mode or 'not set (unencrypted allowed)'}"]


@resource_rule(
    "gcp-sql-backups",
    description="Cloud SQL takes daily backups with point-in-time recovery.",
    enforcement="mandatory",
    severity="high",
    types=(SQL,),
    remediation="Set settings.backupConfiguration.enabled=True and pointInTimeRecoveryEnabled=True.",
)
def sql_backups(view: ResourceView) -> list[str]:
    if _is_replica(view):
        return []  # replicas cannot take backups; the primary does
    backup = as_dict(get(view.props, "settings.backupConfiguration"))
    return [
        f"settings.backupConfiguration.{key} is not true"
        for key in ("enabled", "pointInTimeRecoveryEnabled")
        if is_off(backup.get(key))
    ]


@resource_rule(
    "gcp-sql-high-availability",
    description="Production Cloud SQL is regional (a standby in another zone) and deletion-protected.",
    enforcement="mandatory",
    severity="high",
    types=(SQL,),
    remediation="Set settings.availabilityType='REGIONAL', deletionProtection=True and "
    "settings.deletionProtectionEnabled=True in prod.",
    prod_only=True,
)
def sql_high_availability(view: ResourceView) -> list[str]:
    problems = []
    kind = get(view.props, "settings.availabilityType")
    if not _is_replica(view) and kind not in ("REGIONAL", "[unknown]"):
        problems.append(f"settings.availabilityType is {kind or 'not set (ZONAL)'} in prod")
    # pulumi-gcp protects instances unless told otherwise; the API-level flag must be set explicitly.
    if is_false(view.props.get("deletionProtection")):
        problems.append("deletionProtection is false in prod")
    if not is_true(get(view.props, "settings.deletionProtectionEnabled")):
        problems.append("settings.deletionProtectionEnabled is not true in prod")
    return problems


@resource_rule(
    "gcp-redis-tls-auth",
    description="Memorystore Redis requires AUTH and TLS.",
    enforcement="mandatory",
    severity="high",
    types=(REDIS,),
    remediation="Set authEnabled=True and transitEncryptionMode='SERVER_AUTHENTICATION'.",
)
def redis_tls_auth(view: ResourceView) -> list[str]:
    problems = [] if is_true(view.props.get("authEnabled")) else ["authEnabled is not true"]
    if view.props.get("transitEncryptionMode") not in ("SERVER_AUTHENTICATION", "[unknown]"):
        problems.append(f"transitEncryptionMode is {view.props.get('transitEncryptionMode') or 'not set (DISABLED)'}")
    return problems


@resource_rule(
    "gcp-redis-high-availability",
    description="Production Memorystore Redis is STANDARD_HA (a replica in another zone).",
    enforcement="mandatory",
    severity="medium",
    types=(REDIS,),
    remediation="Set tier='STANDARD_HA' in prod.",
    prod_only=True,
)
def redis_high_availability(view: ResourceView) -> list[str]:
    tier = view.props.get("tier")
    return [] if tier in ("STANDARD_HA", "[unknown]") else [f"tier is {tier or 'not set (BASIC)'} in prod"]


@resource_rule(
    "gcp-cloudrun-ingress",
    description="Cloud Run services take traffic through the load balancer, not their public run.app URL.",
    enforcement="advisory",
    severity="medium",
    types=(CLOUD_RUN,),
    remediation="Set ingress='INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER' and route users through the HTTPS load "
    "balancer (Cloud Armor, managed certificate, TLS policy).",
)
def cloudrun_ingress(view: ResourceView) -> list[str]:
    ingress = view.props.get("ingress")
    return (
        [f"ingress is {ingress or 'not set (INGRESS_TRAFFIC_ALL)'}"] if ingress in (None, "INGRESS_TRAFFIC_ALL") else []
    )


@resource_rule(
    "gcp-modern-tls",
    description="HTTPS load balancers use an SSL policy with TLS 1.2+ and a MODERN or RESTRICTED profile.",
    enforcement="mandatory",
    severity="high",
    types=(SSL_POLICY, HTTPS_PROXY),
    remediation="Create a compute.SSLPolicy with min_tls_version='TLS_1_2' and profile='MODERN' (or RESTRICTED) "
    "and set it as the target HTTPS proxy's ssl_policy.",
)
def modern_tls(view: ResourceView) -> list[str]:
    if view.type == HTTPS_PROXY:
        return (
            [] if view.props.get("sslPolicy") else ["the HTTPS proxy has no sslPolicy: Google's default allows TLS 1.0"]
        )
    problems = []
    if view.props.get("minTlsVersion") not in ("TLS_1_2", "TLS_1_3", "[unknown]"):
        problems.append(f"minTlsVersion is {view.props.get('minTlsVersion') or 'not set (TLS_1_0)'}")
    if view.props.get("profile", "COMPATIBLE") == "COMPATIBLE":
        problems.append("profile is COMPATIBLE, which keeps weak ciphers")
    return problems


@resource_rule(
    "gcp-subnet-flow-logs",
    description="Subnets record VPC flow logs.",
    enforcement="mandatory",
    severity="medium",
    types=(SUBNETWORK,),
    remediation="Set log_config={'aggregation_interval': 'INTERVAL_5_SEC', 'flow_sampling': 0.5, 'metadata': "
    "'INCLUDE_ALL_METADATA'} on the subnetwork.",
)
def subnet_flow_logs(view: ResourceView) -> list[str]:
    if view.props.get("purpose") in PROXY_PURPOSES:
        return []
    return [] if view.props.get("logConfig") else ["logConfig is not set: no flow logs"]


@resource_rule(
    "gcp-cost-labels",
    description="Billable GCP resources carry the parley-stack and parley-environment labels.",
    enforcement="mandatory",
    severity="low",
    types=COSTLY,
    remediation="Create resources through the provider whose default_labels carry cost_labels(environment) "
    "(infra/tags.py), or label them.",
)
def cost_labels(view: ResourceView) -> list[str]:
    labels = {**as_dict(view.provider.get("defaultLabels"))}
    for key in ("effectiveLabels", "pulumiLabels", "labels"):
        labels.update(as_dict(view.props.get(key)))
    if view.type == SQL:
        labels.update(as_dict(get(view.props, "settings.userLabels")))
    missing = [key for key in COST_LABELS if not labels.get(key)]
    return [f"missing cost-allocation label {', '.join(missing)}"] if missing else []
