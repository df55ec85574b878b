"""What `parley verify` checks, through boto3 only: a stack's deployed reality, found by its `parley:stack` tag,
judged against Parley's security and resilience rules. No plan is read, so the same checks run against a real
account after `pulumi up` and against a plan materialised into moto.

Each check gives one `Finding` per resource it looked at, passed or failed; a failed one says how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from infra.verify.checks_operations import operations_checks
from infra.verify.discover import STACK_TAG, Described, Dns, Region, discover, discover_dns
from infra.verify.discover_operations import discover_operations
from infra.verify.materialise import Clients

ANYWHERE = ("0.0.0.0/0", "::/0")
# The only ports open to the internet, and only on the load balancer: HTTPS, and HTTP to redirect to it.
PUBLIC_PORTS = (80, 443)
MIN_BACKUP_DAYS = 7
HEALTH_PATH = "/readyz"
# ELB policies that allow only TLS 1.2 and 1.3 with forward secrecy (AWS's TLS13 and FS-1-2 families).
MODERN_TLS_PREFIXES = ("ELBSecurityPolicy-TLS13-", "ELBSecurityPolicy-FS-1-2-")
RECOMMENDED_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True)
class Finding:
    """One check of one resource. `check` is a stable id (`rds.encrypted`), `resource` the ARN or id."""

    check: str
    resource: str
    region: str
    passed: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _finding(check: str, resource: str, region: str, problems: list[str], ok: str, fix: str) -> Finding:
    """Passed with `ok` when there are no problems; failed naming them, with `fix`."""
    if not problems:
        return Finding(check, resource, region, True, ok)
    return Finding(check, resource, region, False, f"{'; '.join(problems)}. Fix: {fix}")


def verify(stack: str, *, clients: Clients, regions: list[str]) -> list[Finding]:
    """Check the stack's resources in each of `regions` (the first also hosts the global Route 53 lookups).

    A region where nothing carries the tag gives the failed check `stack.tagged`; a stack found in more than
    one region must have Route 53 failover."""
    if not regions:
        raise ValueError("verify needs at least one region")
    findings: list[Finding] = []
    deployed: list[Region] = []
    for region in regions:
        client = partial(_client, clients, region)
        inventory = discover(stack, region, client)
        balancers = [b["LoadBalancerArn"] for b in inventory.load_balancers]
        operations = discover_operations(stack, region, client, balancers)
        count = inventory.found() + operations.found()
        if not count:
            message = f"no resources tagged {STACK_TAG}={stack} in {region}"
            fix = "deploy the stack there (`pulumi up`), or check --region, --profile and the account"
            findings.append(Finding("stack.tagged", stack, region, False, f"{message}. Fix: {fix}"))
            continue
        findings.append(Finding("stack.tagged", stack, region, True, f"{count} tagged resources"))
        findings.extend(_region_checks(inventory))
        findings.extend(operations_checks(inventory, operations, _finding))
        deployed.append(inventory)
    balancers = [b for r in deployed for b in r.load_balancers]
    dns = discover_dns(stack, clients("route53", regions[0]), balancers)
    findings.extend(_dns_checks(stack, dns, multi_region=len(deployed) > 1, region=regions[0]))
    return findings


def _client(clients: Clients, region: str, service: str) -> Any:
    return clients(service, region)


def _region_checks(region: Region) -> Iterator[Finding]:
    yield from _security_groups(region)
    for database in region.databases:
        yield from _database(region, database)
    for cache in region.caches:
        yield from _cache(region, cache)
    for balancer in region.load_balancers:
        yield from _listeners(region, balancer)
    for group in region.target_groups:
        yield _target_group(region, group)
    for table in region.tables:
        yield from _table(region, table)
    yield from _secrets(region)


def _peers(permission: Described) -> Iterator[str]:
    """Every source a rule admits: CIDRs, prefix lists and `sg-...` ids."""
    yield from (r["CidrIp"] for r in permission.get("IpRanges") or [])
    yield from (r["CidrIpv6"] for r in permission.get("Ipv6Ranges") or [])
    yield from (p["PrefixListId"] for p in permission.get("PrefixListIds") or [])
    yield from (g["GroupId"] for g in permission.get("UserIdGroupPairs") or [])


def _ports(permission: Described) -> str:
    if permission.get("IpProtocol") == "-1":
        return "all traffic"
    low, high = permission.get("FromPort"), permission.get("ToPort")
    return f"{permission.get('IpProtocol')} {low}" if low == high else f"{permission.get('IpProtocol')} {low}-{high}"


def _security_groups(region: Region) -> Iterator[Finding]:
    balancer_groups = {g for b in region.load_balancers for g in b.get("SecurityGroups") or []}
    database_groups = {g["VpcSecurityGroupId"] for d in region.databases for g in d.get("VpcSecurityGroups") or []}
    cache_groups = set().union(*region.cache_security_groups.values()) if region.cache_security_groups else set()
    app_groups = region.app_security_groups()
    for group in region.security_groups:
        group_id = group["GroupId"]
        open_rules = []
        for permission in group.get("IpPermissions") or []:
            public = [p for p in _peers(permission) if p in ANYWHERE]
            allowed = (
                group_id in balancer_groups
                and permission.get("IpProtocol") == "tcp"
                and permission.get("FromPort") == permission.get("ToPort")
                and permission.get("FromPort") in PUBLIC_PORTS
            )
            if public and not allowed:
                open_rules.append(f"{_ports(permission)} open to {', '.join(public)}")
        yield _finding(
            "sg.public-ingress",
            group_id,
            region.name,
            open_rules,
            "no ingress from anywhere beyond the load balancer's 80 and 443",
            f"revoke the rule (aws ec2 revoke-security-group-ingress --group-id {group_id}); only the load "
            "balancer's group may admit 0.0.0.0/0, on 443 and 80",
        )
        for kind, members in (("database", database_groups), ("cache", cache_groups)):
            if group_id in members:
                yield _from_app_only(region, group, kind, app_groups)


def _from_app_only(region: Region, group: Described, kind: str, app_groups: set[str]) -> Finding:
    strangers = []
    for permission in group.get("IpPermissions") or []:
        others = [p for p in _peers(permission) if p not in app_groups]
        if others:
            strangers.append(f"{_ports(permission)} from {', '.join(others)}")
    return _finding(
        f"sg.{kind}-from-app",
        group["GroupId"],
        region.name,
        strangers,
        f"the {kind} admits only the app's security group",
        f"remove those rules; the {kind}'s group must admit only the ECS service's group "
        f"({', '.join(sorted(app_groups)) or 'none found'}), on its port",
    )


def _database(region: Region, database: Described) -> Iterator[Finding]:
    arn, name = database["DBInstanceArn"], database["DBInstanceIdentifier"]
    public = ["publicly accessible"] if database.get("PubliclyAccessible") else []
    yield _finding(
        "rds.private",
        arn,
        region.name,
        public,
        "not publicly accessible",
        f"aws rds modify-db-instance --db-instance-identifier {name} --no-publicly-accessible",
    )
    plain = [] if database.get("StorageEncrypted") else ["storage not encrypted"]
    yield _finding(
        "rds.encrypted",
        arn,
        region.name,
        plain,
        "storage encrypted",
        "an instance cannot be encrypted in place: snapshot it, copy the snapshot with a KMS key, restore from "
        "the copy (storageEncrypted: true in the program)",
    )
    days = int(database.get("BackupRetentionPeriod") or 0)
    short = [f"backups kept {days} days, under {MIN_BACKUP_DAYS}"] if days < MIN_BACKUP_DAYS else []
    yield _finding(
        "rds.backups",
        arn,
        region.name,
        short,
        f"backups kept {days} days",
        f"aws rds modify-db-instance --db-instance-identifier {name} --backup-retention-period {MIN_BACKUP_DAYS}",
    )
    yield _database_subnets(region, database)


def _database_subnets(region: Region, database: Described) -> Finding:
    subnets = [s["SubnetIdentifier"] for s in (database.get("DBSubnetGroup") or {}).get("Subnets") or []]
    routed = [f"subnet {s} routes to an internet gateway" for s in subnets if s in region.public_subnets]
    if not subnets:
        routed = ["no DB subnet group"]
    return _finding(
        "rds.private-subnets",
        database["DBInstanceArn"],
        region.name,
        routed,
        f"in {len(subnets)} private subnets",
        "put the instance in a subnet group of isolated subnets (no 0.0.0.0/0 route to an internet gateway)",
    )


def _cache(region: Region, cache: Described) -> Iterator[Finding]:
    arn, name = cache.get("ARN") or cache["ReplicationGroupId"], cache["ReplicationGroupId"]
    checks = (
        ("cache.transit-encryption", "TransitEncryptionEnabled", "TLS in transit", "--transit-encryption-enabled"),
        (
            "cache.at-rest-encryption",
            "AtRestEncryptionEnabled",
            "encrypted at rest",
            "a new group with at-rest encryption",
        ),
    )
    for check, key, ok, fix in checks:
        problems = [] if cache.get(key) else [f"not {ok}"]
        yield _finding(check, arn, region.name, problems, ok, f"replication group {name}: {fix}")
    auth = cache.get("AuthTokenEnabled") or cache.get("UserGroupIds")
    yield _finding(
        "cache.auth",
        arn,
        region.name,
        [] if auth else ["no AUTH token or user group"],
        "clients must authenticate",
        f"aws elasticache modify-replication-group --replication-group-id {name} --auth-token ... "
        "--auth-token-update-strategy ROTATE",
    )


def _listeners(region: Region, balancer: Described) -> Iterator[Finding]:
    arn = balancer["LoadBalancerArn"]
    listeners = region.listeners.get(arn, [])
    https = [item for item in listeners if item.get("Protocol") == "HTTPS"]
    missing = (
        [] if https and all(item.get("Certificates") for item in https) else ["no HTTPS listener with a certificate"]
    )
    yield _finding(
        "alb.https",
        arn,
        region.name,
        missing,
        "HTTPS listener with a certificate",
        "add a 443 HTTPS listener with the ACM certificate of the host (the program's `https` listener)",
    )
    for item in https:
        policy, listener = item.get("SslPolicy") or "", item["ListenerArn"]
        old = [] if policy.startswith(MODERN_TLS_PREFIXES) else [f"TLS policy {policy or 'none'} allows old TLS"]
        fix = f"aws elbv2 modify-listener --listener-arn {listener} --ssl-policy {RECOMMENDED_TLS_POLICY}"
        yield _finding("alb.tls-policy", listener, region.name, old, f"TLS policy {policy}", fix)
    for item in listeners:
        if item.get("Protocol") == "HTTP":
            yield _http_listener(region, item)


def _http_listener(region: Region, listener: Described) -> Finding:
    actions = listener.get("DefaultActions") or []
    redirects = bool(actions) and all(
        a.get("Type") == "redirect" and (a.get("RedirectConfig") or {}).get("Protocol") == "HTTPS" for a in actions
    )
    does = ", ".join(a.get("Type", "?") for a in actions) or "nothing"
    problems = [] if redirects else [f"HTTP port {listener.get('Port')} does {does}, not a redirect to HTTPS"]
    fix = (
        f"aws elbv2 modify-listener --listener-arn {listener['ListenerArn']} --default-actions "
        "Type=redirect,RedirectConfig={Protocol=HTTPS,Port=443,StatusCode=HTTP_301}"
    )
    return _finding("alb.http-redirects", listener["ListenerArn"], region.name, problems, "HTTP only redirects", fix)


def _target_group(region: Region, group: Described) -> Finding:
    path = group.get("HealthCheckPath")
    enabled = group.get("HealthCheckEnabled", True)
    wrong = [] if enabled and path == HEALTH_PATH else [f"health check {'on ' + str(path) if enabled else 'disabled'}"]
    return _finding(
        "tg.health-check",
        group["TargetGroupArn"],
        region.name,
        wrong,
        f"health check on {HEALTH_PATH}",
        f"aws elbv2 modify-target-group --target-group-arn {group['TargetGroupArn']} --health-check-path {HEALTH_PATH}",
    )


def _table(region: Region, table: Described) -> Iterator[Finding]:
    arn, name = table["TableArn"], table["TableName"]
    sse = (table.get("SSEDescription") or {}).get("Status")
    yield _finding(
        "dynamodb.sse",
        arn,
        region.name,
        [] if sse in ("ENABLED", "ENABLING") else ["not encrypted with a KMS key"],
        "server-side encryption with KMS",
        f"aws dynamodb update-table --table-name {name} --sse-specification Enabled=true,SSEType=KMS",
    )
    backups = region.backups.get(name) or {}
    pitr = (backups.get("PointInTimeRecoveryDescription") or {}).get("PointInTimeRecoveryStatus")
    yield _finding(
        "dynamodb.pitr",
        arn,
        region.name,
        [] if pitr == "ENABLED" else ["point-in-time recovery off"],
        "point-in-time recovery on",
        f"aws dynamodb update-continuous-backups --table-name {name} "
        "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true",
    )


def _secrets(region: Region) -> Iterator[Finding]:
    known = {s["ARN"]: s for s in region.secrets}
    for secret in region.secrets:
        stages = secret.get("SecretVersionsToStages") or {}
        current = any("AWSCURRENT" in labels for labels in stages.values())
        yield _finding(
            "secrets.present",
            secret["ARN"],
            region.name,
            [] if current else ["no current value"],
            "has a value",
            f"aws secretsmanager put-secret-value --secret-id {secret['ARN']} (pulumi up sets it)",
        )
    for definition in region.task_definitions:
        wanted = {s["valueFrom"] for c in definition.get("containerDefinitions") or [] for s in c.get("secrets") or []}
        missing = [f"{arn} does not exist or is not tagged for the stack" for arn in sorted(wanted) if arn not in known]
        yield _finding(
            "secrets.referenced",
            definition["taskDefinitionArn"],
            region.name,
            missing,
            f"all {len(wanted)} secrets it reads exist",
            "create the secrets (pulumi up) or fix the task definition",
        )


def _dns_checks(stack: str, dns: Dns, *, multi_region: bool, region: str) -> Iterator[Finding]:
    for check in dns.health_checks:
        config = check.get("HealthCheckConfig") or {}
        path = config.get("ResourcePath")
        wrong = [] if path == HEALTH_PATH or not config.get("Type", "").startswith("HTTP") else [f"checks {path}"]
        yield _finding(
            "dns.health-check",
            check["Id"],
            "global",
            wrong,
            f"checks {HEALTH_PATH}",
            f"point the health check at {HEALTH_PATH}, which fails when the store or bus is down",
        )
    if not multi_region:
        return
    if not dns.health_checks:
        yield Finding(
            "dns.health-check",
            stack,
            "global",
            False,
            f"a multi-region stack with no Route 53 health check tagged {STACK_TAG}={stack}. Fix: add an HTTPS "
            f"health check on the primary's {HEALTH_PATH} (the program's PublicName)",
        )
    yield _failover(stack, dns)


def _failover(stack: str, dns: Dns) -> Finding:
    check_ids = {c["Id"] for c in dns.health_checks}
    names = sorted({r["Name"] for r in dns.records})
    roles = {(r["Name"], r.get("Failover")): r for r in dns.records}
    problems = []
    for name in names or ["(no record)"]:
        primary, secondary = roles.get((name, "PRIMARY")), roles.get((name, "SECONDARY"))
        if primary is None:
            problems.append(f"{name}: no PRIMARY failover record")
        elif primary.get("HealthCheckId") not in check_ids:
            problems.append(f"{name}: the PRIMARY record has no health check of the stack")
        if secondary is None:
            problems.append(f"{name}: no SECONDARY failover record")
    return _finding(
        "dns.failover",
        ", ".join(names) or stack,
        "global",
        problems,
        "PRIMARY (health checked) and SECONDARY failover records",
        "create failover records for the host: PRIMARY aliasing the primary region with its health check, "
        "SECONDARY aliasing the secondary region",
    )
