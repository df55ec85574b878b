"""AWS rules over single resources: databases, caches, load balancers, APIs, tables, storage and containers."""

from __future__ import annotations

from policies.model import ResourceView
from policies.props import as_dict, as_list, get, is_false, is_off, is_true, is_unknown, json_list
from policies.registry import resource_rule

RDS = ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster")
REDIS = ("aws:elasticache/replicationGroup:ReplicationGroup",)
# Listener policies that allow TLS 1.2 at least and forward-secret ciphers only.
MODERN_TLS_PREFIXES = ("ELBSecurityPolicy-TLS13-", "ELBSecurityPolicy-FS-1-2-", "ELBSecurityPolicy-TLS-1-2-")
MIN_BACKUP_DAYS = 7


@resource_rule(
    "aws-rds-not-public",
    description="RDS databases are not reachable from the internet.",
    enforcement="mandatory",
    severity="critical",
    types=RDS,
    remediation="Set publiclyAccessible=False and place the database in private (isolated) subnets.",
)
def rds_not_public(view: ResourceView) -> list[str]:
    if is_true(view.props.get("publiclyAccessible")):
        return ["publiclyAccessible is true: the database gets a public address"]
    return []


@resource_rule(
    "aws-rds-encrypted",
    description="RDS storage is encrypted at rest.",
    enforcement="mandatory",
    severity="high",
    types=RDS,
    remediation="Set storageEncrypted=True with a customer-managed kmsKeyId (needs a new instance or a snapshot copy).",
)
def rds_encrypted(view: ResourceView) -> list[str]:
    if is_off(view.props.get("storageEncrypted")):
        return ["storageEncrypted is not true: data, snapshots and replicas are stored in clear"]
    return []


@resource_rule(
    "aws-rds-backups",
    description=f"RDS keeps automated backups for at least {MIN_BACKUP_DAYS} days.",
    enforcement="mandatory",
    severity="high",
    types=RDS,
    remediation=f"Set backupRetentionPeriod to {MIN_BACKUP_DAYS} or more (and a backupWindow outside peak hours).",
)
def rds_backups(view: ResourceView) -> list[str]:
    days = view.props.get("backupRetentionPeriod")
    if is_unknown(days) or (isinstance(days, int) and days >= MIN_BACKUP_DAYS):
        return []
    return [f"backupRetentionPeriod is {days if days is not None else 'not set'}, below {MIN_BACKUP_DAYS} days"]


@resource_rule(
    "aws-rds-multi-az",
    description="Production RDS instances run Multi-AZ (a standby in another zone).",
    enforcement="mandatory",
    severity="high",
    types=("aws:rds/instance:Instance",),
    remediation="Set multiAz=True in prod.",
    prod_only=True,
)
def rds_multi_az(view: ResourceView) -> list[str]:
    return ["multiAz is not true in prod: one zone's outage stops chat"] if is_off(view.props.get("multiAz")) else []


@resource_rule(
    "aws-rds-deletion-protection",
    description="Production databases are deletion-protected and keep a final snapshot.",
    enforcement="mandatory",
    severity="high",
    types=RDS,
    remediation="Set deletionProtection=True, skipFinalSnapshot=False and a finalSnapshotIdentifier in prod.",
    prod_only=True,
)
def rds_deletion_protection(view: ResourceView) -> list[str]:
    problems = []
    if is_off(view.props.get("deletionProtection")):
        problems.append("deletionProtection is not true in prod")
    if is_true(view.props.get("skipFinalSnapshot")):
        problems.append("skipFinalSnapshot is true in prod: deleting the database deletes its data")
    return problems


@resource_rule(
    "aws-redis-tls-auth",
    description="ElastiCache Redis requires TLS and authentication.",
    enforcement="mandatory",
    severity="high",
    types=REDIS,
    remediation="Set transitEncryptionEnabled=True, transitEncryptionMode='required' and an authToken "
    "(or userGroupIds).",
)
def redis_tls_auth(view: ResourceView) -> list[str]:
    props = view.props
    problems = []
    if is_off(props.get("transitEncryptionEnabled")):
        problems.append("transitEncryptionEnabled is not true: traffic and the AUTH token cross the network in clear")
    elif props.get("transitEncryptionMode") == "preferred":
        problems.append("transitEncryptionMode is 'preferred': clients may still connect without TLS")
    if not props.get("authToken") and not as_list(props.get("userGroupIds")):
        problems.append("neither authToken nor userGroupIds is set: anyone in the network can use Redis")
    return problems


@resource_rule(
    "aws-redis-encrypted-at-rest",
    description="ElastiCache Redis encrypts data at rest.",
    enforcement="mandatory",
    severity="medium",
    types=REDIS,
    remediation="Set atRestEncryptionEnabled=True, with a customer-managed kmsKeyId.",
)
def redis_encrypted_at_rest(view: ResourceView) -> list[str]:
    return ["atRestEncryptionEnabled is not true"] if is_off(view.props.get("atRestEncryptionEnabled")) else []


@resource_rule(
    "aws-redis-failover",
    description="Production Redis has a replica in another zone and fails over automatically.",
    enforcement="mandatory",
    severity="high",
    types=REDIS,
    remediation="Set automaticFailoverEnabled=True, multiAzEnabled=True and numCacheClusters >= 2 in prod.",
    prod_only=True,
)
def redis_failover(view: ResourceView) -> list[str]:
    props = view.props
    problems = [
        f"{key} is not true in prod"
        for key in ("automaticFailoverEnabled", "multiAzEnabled")
        if is_false(props.get(key)) or props.get(key) is None
    ]
    nodes = props.get("numCacheClusters")
    if isinstance(nodes, int) and nodes < 2:
        problems.append(f"numCacheClusters is {nodes}: no replica to fail over to")
    return problems


@resource_rule(
    "aws-lb-https-only",
    description="Load balancer listeners serve HTTPS; plain HTTP only redirects to HTTPS.",
    enforcement="mandatory",
    severity="high",
    types=("aws:lb/listener:Listener", "aws:alb/listener:Listener"),
    remediation="Give the HTTP listener one default action of type 'redirect' to protocol HTTPS, port 443, HTTP_301.",
)
def lb_https_only(view: ResourceView) -> list[str]:
    protocol = view.props.get("protocol")
    # Without a protocol, AWS picks HTTP for an application load balancer's port 80.
    if protocol != "HTTP" and not (protocol is None and view.props.get("port") == 80):
        return []
    for action in as_list(view.props.get("defaultActions")):
        redirect = as_dict(action).get("redirect") if as_dict(action).get("type") == "redirect" else None
        if redirect and as_dict(redirect).get("protocol") == "HTTPS":
            return []
    return ["an HTTP listener forwards traffic instead of redirecting it to HTTPS"]


@resource_rule(
    "aws-lb-modern-tls",
    description="HTTPS and TLS listeners use a TLS 1.2+ forward-secret security policy.",
    enforcement="mandatory",
    severity="high",
    types=("aws:lb/listener:Listener", "aws:alb/listener:Listener"),
    remediation="Set sslPolicy='ELBSecurityPolicy-TLS13-1-2-2021-06' (or another TLS13/FS-1-2 policy).",
)
def lb_modern_tls(view: ResourceView) -> list[str]:
    if view.props.get("protocol") not in ("HTTPS", "TLS"):
        return []
    policy = view.props.get("sslPolicy")
    if is_unknown(policy) or (isinstance(policy, str) and policy.startswith(MODERN_TLS_PREFIXES)):
        return []
    return [f"sslPolicy is {policy or 'the default ELBSecurityPolicy-2016-08'}, which still allows TLS 1.0/1.1"]


@resource_rule(
    "aws-lb-access-logs",
    description="Load balancers write access logs.",
    enforcement="mandatory",
    severity="medium",
    types=("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"),
    remediation="Set accessLogs={'bucket': <log bucket>, 'enabled': True} (the bucket must allow the ELB account).",
)
def lb_access_logs(view: ResourceView) -> list[str]:
    logs = as_dict(view.props.get("accessLogs"))
    if is_unknown(view.props.get("accessLogs")) or (logs.get("bucket") and not is_false(logs.get("enabled"))):
        return []
    return ["accessLogs are off: requests cannot be traced after an incident"]


@resource_rule(
    "aws-lb-drop-invalid-headers",
    description="Application load balancers drop invalid HTTP headers (request smuggling).",
    enforcement="advisory",
    severity="medium",
    types=("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"),
    remediation="Set dropInvalidHeaderFields=True on application load balancers.",
)
def lb_drop_invalid_headers(view: ResourceView) -> list[str]:
    if view.props.get("loadBalancerType", "application") != "application":
        return []
    return ["dropInvalidHeaderFields is not true"] if is_off(view.props.get("dropInvalidHeaderFields")) else []


@resource_rule(
    "aws-apigateway-access-logs",
    description="API Gateway stages write access logs.",
    enforcement="mandatory",
    severity="medium",
    types=("aws:apigatewayv2/stage:Stage", "aws:apigateway/stage:Stage"),
    remediation="Set accessLogSettings={'destinationArn': <log group ARN>, 'format': <JSON format>}.",
)
def apigateway_access_logs(view: ResourceView) -> list[str]:
    settings = view.props.get("accessLogSettings")
    return [] if is_unknown(settings) or get(settings, "destinationArn") else ["the stage writes no access logs"]


@resource_rule(
    "aws-dynamodb-encryption",
    description="DynamoDB tables are encrypted with a KMS key the account controls.",
    enforcement="mandatory",
    severity="high",
    types=("aws:dynamodb/table:Table",),
    remediation="Set serverSideEncryption={'enabled': True, 'kmsKeyArn': <customer-managed key>}.",
)
def dynamodb_encryption(view: ResourceView) -> list[str]:
    sse = view.props.get("serverSideEncryption")
    if is_unknown(sse) or is_true(get(sse, "enabled")):
        return []
    return ["serverSideEncryption is not enabled: the table uses an AWS-owned key nobody can audit"]


@resource_rule(
    "aws-dynamodb-pitr",
    description="DynamoDB tables have point-in-time recovery.",
    enforcement="mandatory",
    severity="high",
    types=("aws:dynamodb/table:Table",),
    remediation="Set pointInTimeRecovery={'enabled': True} (and pointInTimeRecovery=True on each replica).",
)
def dynamodb_pitr(view: ResourceView) -> list[str]:
    pitr = view.props.get("pointInTimeRecovery")
    problems = [] if is_unknown(pitr) or is_true(get(pitr, "enabled")) else ["pointInTimeRecovery is not enabled"]
    for replica in as_list(view.props.get("replicas")):
        if not is_true(as_dict(replica).get("pointInTimeRecovery")):
            problems.append(f"replica in {as_dict(replica).get('regionName', '?')} has no point-in-time recovery")
    return problems


@resource_rule(
    "aws-s3-block-public-access",
    description="S3 buckets block every kind of public access.",
    enforcement="mandatory",
    severity="critical",
    types=("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",),
    remediation="Set blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets to True.",
)
def s3_block_public_access(view: ResourceView) -> list[str]:
    keys = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    return [f"{key} is not true" for key in keys if is_off(view.props.get(key))]


@resource_rule(
    "aws-ecs-non-root-read-only",
    description="ECS containers run as a non-root user on a read-only root filesystem, unprivileged.",
    enforcement="mandatory",
    severity="high",
    types=("aws:ecs/taskDefinition:TaskDefinition",),
    remediation="In each container definition set user='10001:10001' (not root/0), readonlyRootFilesystem=true "
    "with a volume for scratch space, and leave privileged unset.",
)
def ecs_non_root_read_only(view: ResourceView) -> list[str]:
    problems = []
    for container in json_list(view.props.get("containerDefinitions")):
        name = as_dict(container).get("name", "?")
        user = str(as_dict(container).get("user", "")).split(":", 1)[0]
        if user in ("", "0", "root"):
            problems.append(f"container {name} runs as root (user is {user or 'not set'})")
        if not is_true(as_dict(container).get("readonlyRootFilesystem")):
            problems.append(f"container {name} has a writable root filesystem")
        if is_true(as_dict(container).get("privileged")):
            problems.append(f"container {name} is privileged")
    return problems


@resource_rule(
    "aws-kms-rotation",
    description="Customer-managed KMS keys rotate yearly.",
    enforcement="advisory",
    severity="medium",
    types=("aws:kms/key:Key",),
    remediation="Set enableKeyRotation=True.",
)
def kms_rotation(view: ResourceView) -> list[str]:
    if view.props.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
        return []  # AWS rotates only symmetric keys.
    return ["enableKeyRotation is not true"] if is_off(view.props.get("enableKeyRotation")) else []


@resource_rule(
    "aws-log-retention",
    description="CloudWatch log groups expire their logs.",
    enforcement="advisory",
    severity="low",
    types=("aws:cloudwatch/logGroup:LogGroup",),
    remediation="Set retentionInDays (for example 90); logs kept forever cost money for ever.",
)
def log_retention(view: ResourceView) -> list[str]:
    days = view.props.get("retentionInDays")
    return (
        []
        if is_unknown(days) or (isinstance(days, int) and days > 0)
        else ["retentionInDays is not set: logs never expire"]
    )
