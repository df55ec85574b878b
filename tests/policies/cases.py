"""A passing and a failing case for every rule: the smallest resources (camelCase engine properties, as in a
plan's inputs) that each rule accepts and refuses. Stack rules get lists of resources."""

from __future__ import annotations

import json
from typing import Any

from policies.model import ResourceView

Case = ResourceView | list[ResourceView]


def view(
    type_: str, env: str | None = None, *, urn: str = "", deps: tuple[str, ...] = (), **props: Any
) -> ResourceView:
    return ResourceView(
        type=type_, name="subject", props=props, urn=urn or f"urn:{type_}", environment=env, dependencies=deps
    )


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


RDS = "aws:rds/instance:Instance"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
LISTENER = "aws:lb/listener:Listener"
LB = "aws:lb/loadBalancer:LoadBalancer"
STAGE = "aws:apigatewayv2/stage:Stage"
TABLE = "aws:dynamodb/table:Table"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG = "aws:ec2/securityGroup:SecurityGroup"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SAFE_CONTAINER = {
    "name": "app",
    "image": "registry.example.com/parley:1.0.0",
    "securityContext": {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    },
    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
}


def deployment(**container: Any) -> ResourceView:
    return view(DEPLOYMENT, spec={"template": {"spec": {"containers": [{**SAFE_CONTAINER, **container}]}}})


def world_rule(port: int) -> ResourceView:
    return view(INGRESS, cidrIpv4="0.0.0.0/0", fromPort=port, toPort=port, ipProtocol="tcp")


def stack_with_open_group(consumer: str) -> list[ResourceView]:
    group = view(SG, urn="urn:sg-alb")
    rule = view(
        INGRESS, urn="urn:rule", deps=("urn:sg-alb",), cidrIpv4="0.0.0.0/0", fromPort=443, toPort=443, ipProtocol="tcp"
    )
    return [group, rule, view(consumer, urn="urn:consumer", deps=("urn:sg-alb",))]


TAGS = {"parley:stack": "aws-prod", "parley:environment": "prod"}
LABELS = {"parley-stack": "gcp-prod", "parley-environment": "prod"}
ECS_SAFE = [{"name": "app", "user": "10001:10001", "readonlyRootFilesystem": True}]

# rule id -> (passes, fails)
CASES: dict[str, tuple[Case, Case]] = {
    "aws-rds-not-public": (view(RDS, publiclyAccessible=False), view(RDS, publiclyAccessible=True)),
    "aws-rds-encrypted": (view(RDS, storageEncrypted=True), view(RDS)),
    "aws-rds-backups": (view(RDS, backupRetentionPeriod=7), view(RDS, backupRetentionPeriod=1)),
    "aws-rds-multi-az": (view(RDS, "prod", multiAz=True), view(RDS, "prod", multiAz=False)),
    "aws-rds-deletion-protection": (
        view(RDS, "prod", deletionProtection=True, skipFinalSnapshot=False),
        view(RDS, "prod", deletionProtection=True, skipFinalSnapshot=True),
    ),
    "aws-redis-tls-auth": (
        view(REDIS, transitEncryptionEnabled=True, authToken="t"),
        view(REDIS, transitEncryptionEnabled=True, transitEncryptionMode="preferred", authToken="t"),
    ),
    "aws-redis-encrypted-at-rest": (
        view(REDIS, atRestEncryptionEnabled=True),
        view(REDIS, atRestEncryptionEnabled=False),
    ),
    "aws-redis-failover": (
        view(REDIS, "prod", automaticFailoverEnabled=True, multiAzEnabled=True, numCacheClusters=2),
        view(REDIS, "prod", automaticFailoverEnabled=True, multiAzEnabled=True, numCacheClusters=1),
    ),
    "aws-lb-https-only": (
        view(
            LISTENER, port=80, protocol="HTTP", defaultActions=[{"type": "redirect", "redirect": {"protocol": "HTTPS"}}]
        ),
        view(LISTENER, port=80, protocol="HTTP", defaultActions=[{"type": "forward", "targetGroupArn": "tg"}]),
    ),
    "aws-lb-modern-tls": (
        view(LISTENER, protocol="HTTPS", sslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06"),
        view(LISTENER, protocol="HTTPS", sslPolicy="ELBSecurityPolicy-2016-08"),
    ),
    "aws-lb-access-logs": (
        view(LB, accessLogs={"bucket": "logs", "enabled": True}),
        view(LB, accessLogs={"bucket": "logs", "enabled": False}),
    ),
    "aws-lb-drop-invalid-headers": (view(LB, dropInvalidHeaderFields=True), view(LB, loadBalancerType="application")),
    "aws-apigateway-access-logs": (
        view(STAGE, accessLogSettings={"destinationArn": "arn:log", "format": "{}"}),
        view(STAGE, name="$default"),
    ),
    "aws-dynamodb-encryption": (view(TABLE, serverSideEncryption={"enabled": True, "kmsKeyArn": "k"}), view(TABLE)),
    "aws-dynamodb-pitr": (
        view(
            TABLE,
            pointInTimeRecovery={"enabled": True},
            replicas=[{"regionName": "us-west-2", "pointInTimeRecovery": True}],
        ),
        view(TABLE, pointInTimeRecovery={"enabled": True}, replicas=[{"regionName": "us-west-2"}]),
    ),
    "aws-s3-block-public-access": (
        view(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            blockPublicAcls=True,
            blockPublicPolicy=True,
            ignorePublicAcls=True,
            restrictPublicBuckets=True,
        ),
        view(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            blockPublicAcls=True,
            blockPublicPolicy=False,
            ignorePublicAcls=True,
            restrictPublicBuckets=True,
        ),
    ),
    "aws-ecs-non-root-read-only": (
        view("aws:ecs/taskDefinition:TaskDefinition", containerDefinitions=json.dumps(ECS_SAFE)),
        view("aws:ecs/taskDefinition:TaskDefinition", containerDefinitions=json.dumps([{**ECS_SAFE[0], "user": "0"}])),
    ),
    "aws-kms-rotation": (
        view("aws:kms/key:Key", enableKeyRotation=True),
        view("aws:kms/key:Key", enableKeyRotation=False),
    ),
    "aws-log-retention": (
        view("aws:cloudwatch/logGroup:LogGroup", retentionInDays=90),
        view("aws:cloudwatch/logGroup:LogGroup"),
    ),
    "aws-sg-no-public-ingress": (world_rule(443), world_rule(5432)),
    "aws-public-ingress-load-balancers-only": (
        stack_with_open_group(LB),
        stack_with_open_group("aws:rds/instance:Instance"),
    ),
    "aws-iam-no-admin": (
        view(ROLE_POLICY, policy=doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})),
        view(ROLE_POLICY, policy=doc({"Effect": "Allow", "Action": "*", "Resource": "*"})),
    ),
    "aws-iam-least-privilege": (
        view(ROLE_POLICY, policy=doc({"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": ["*"]})),
        view(
            ROLE_POLICY,
            policy=doc({"Effect": "Allow", "Action": ["dynamodb:*"], "Resource": ["arn:aws:dynamodb:::table/t"]}),
        ),
    ),
    "aws-vpc-flow-logs": (
        [view("aws:ec2/vpc:Vpc", urn="urn:vpc"), view("aws:ec2/flowLog:FlowLog", deps=("urn:vpc",))],
        [view("aws:ec2/vpc:Vpc", urn="urn:vpc"), view("aws:ec2/flowLog:FlowLog", deps=("urn:other",))],
    ),
    "aws-cost-allocation-tags": (view("aws:ec2/vpc:Vpc", tags=TAGS), view("aws:ec2/vpc:Vpc", tags={"Name": "vpc"})),
    "no-plaintext-secrets": (
        view(
            "aws:lambda/function:Function",
            environment={"variables": {"PARLEY_SECRET_KEY_ARN": "arn:secret", "PARLEY_TOKEN_TTL_SECONDS": "60"}},
        ),
        view(
            "aws:lambda/function:Function",
            environment={"variables": {"PARLEY_DATABASE_URL": "postgresql://parley:hunter2@db/parley"}},
        ),
    ),
    # Kubernetes
    "k8s-non-root": (deployment(), deployment(securityContext={**SAFE_CONTAINER["securityContext"], "runAsUser": 0})),
    "k8s-read-only-root": (
        deployment(),
        deployment(securityContext={**SAFE_CONTAINER["securityContext"], "readOnlyRootFilesystem": False}),
    ),
    "k8s-no-privilege-escalation": (
        deployment(),
        deployment(securityContext={**SAFE_CONTAINER["securityContext"], "privileged": True}),
    ),
    "k8s-resource-limits": (deployment(), deployment(resources={"requests": {"cpu": "1", "memory": "1Gi"}})),
    "k8s-image-pinned": (deployment(), deployment(image="redis:latest")),
    "k8s-ingress-tls": (
        view(
            "kubernetes:networking.k8s.io/v1:Ingress",
            spec={"rules": [{"host": "a.example"}], "tls": [{"hosts": ["a.example"]}]},
        ),
        view(
            "kubernetes:networking.k8s.io/v1:Ingress",
            spec={"rules": [{"host": "a.example"}, {"host": "b.example"}], "tls": [{"hosts": ["a.example"]}]},
        ),
    ),
    "k8s-service-exposure": (
        view("kubernetes:core/v1:Service", spec={"type": "LoadBalancer", "ports": [{"port": 443}]}),
        view("kubernetes:core/v1:Service", spec={"type": "LoadBalancer", "ports": [{"port": 443}, {"port": 5432}]}),
    ),
    "k8s-namespace-pod-security": (
        view("kubernetes:core/v1:Namespace", metadata={"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}),
        view("kubernetes:core/v1:Namespace", metadata={"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}),
    ),
}

NSG = "azure-native:network:NetworkSecurityGroup"
PG = "azure-native:dbforpostgresql:Server"
AZ_REDIS = "azure-native:redis:Redis"
SAFE_AZ_REDIS = {"enableNonSslPort": False, "minimumTlsVersion": "1.2", "publicNetworkAccess": "Disabled"}
SQL = "gcp:sql/databaseInstance:DatabaseInstance"
FIREWALL = "gcp:compute/firewall:Firewall"


def nsg_rule(port: str) -> dict[str, Any]:
    return {
        "name": "in",
        "direction": "Inbound",
        "access": "Allow",
        "sourceAddressPrefix": "Internet",
        "destinationPortRange": port,
    }


CASES.update(
    {
        "azure-nsg-no-public-ingress": (
            view(NSG, securityRules=[nsg_rule("443")]),
            view(NSG, securityRules=[nsg_rule("22")]),
        ),
        "azure-postgres-not-public": (
            view(PG, network={"publicNetworkAccess": "Disabled"}),
            view(PG, network={"publicNetworkAccess": "Enabled"}),
        ),
        "azure-postgres-backups": (
            view(PG, backup={"backupRetentionDays": 14}),
            view(PG, backup={"backupRetentionDays": 3}),
        ),
        "azure-postgres-high-availability": (
            view(PG, "prod", highAvailability={"mode": "ZoneRedundant"}, backup={"geoRedundantBackup": "Enabled"}),
            view(PG, "prod", highAvailability={"mode": "Disabled"}, backup={"geoRedundantBackup": "Enabled"}),
        ),
        "azure-redis-tls-auth": (
            view(AZ_REDIS, **SAFE_AZ_REDIS),
            view(AZ_REDIS, **{**SAFE_AZ_REDIS, "enableNonSslPort": True}),
        ),
        "azure-redis-high-availability": (
            view(AZ_REDIS, "prod", sku={"name": "Premium"}),
            view(AZ_REDIS, "prod", sku={"name": "Basic"}),
        ),
        "azure-containerapp-https-only": (
            view("azure-native:app:ContainerApp", configuration={"ingress": {"allowInsecure": False}}),
            view("azure-native:app:ContainerApp", configuration={"ingress": {"allowInsecure": True}}),
        ),
        "azure-keyvault-protection": (
            view("azure-native:keyvault:Vault", "prod", properties={"enablePurgeProtection": True}),
            view("azure-native:keyvault:Vault", "prod", properties={"enablePurgeProtection": False}),
        ),
        "azure-frontdoor-https": (
            view("azure-native:cdn:Route", httpsRedirect="Enabled", forwardingProtocol="HttpsOnly"),
            view("azure-native:cdn:Route", httpsRedirect="Disabled", supportedProtocols=["Http", "Https"]),
        ),
        "azure-cost-tags": (
            view("azure-native:redis:Redis", tags={"parley-stack": "azure-prod", "parley-environment": "prod"}),
            view("azure-native:redis:Redis", tags={"parley-stack": "azure-prod"}),
        ),
        "gcp-firewall-no-public-ingress": (
            view(FIREWALL, sourceRanges=["0.0.0.0/0"], allows=[{"protocol": "tcp", "ports": ["80", "443"]}]),
            view(FIREWALL, sourceRanges=["0.0.0.0/0"], allows=[{"protocol": "tcp", "ports": ["22"]}]),
        ),
        "gcp-sql-not-public": (
            view(SQL, settings={"ipConfiguration": {"ipv4Enabled": False, "privateNetwork": "vpc"}}),
            view(SQL, settings={"ipConfiguration": {"privateNetwork": "vpc"}}),
        ),
        "gcp-sql-tls": (
            view(SQL, settings={"ipConfiguration": {"sslMode": "ENCRYPTED_ONLY"}}),
            view(SQL, settings={"ipConfiguration": {"sslMode": "ALLOW_UNENCRYPTED_AND_ENCRYPTED"}}),
        ),
        "gcp-sql-backups": (
            view(SQL, settings={"backupConfiguration": {"enabled": True, "pointInTimeRecoveryEnabled": True}}),
            view(SQL, settings={"backupConfiguration": {"enabled": True}}),
        ),
        "gcp-sql-high-availability": (
            view(SQL, "prod", settings={"availabilityType": "REGIONAL", "deletionProtectionEnabled": True}),
            view(SQL, "prod", settings={"availabilityType": "ZONAL", "deletionProtectionEnabled": True}),
        ),
        "gcp-redis-tls-auth": (
            view("gcp:redis/instance:Instance", authEnabled=True, transitEncryptionMode="SERVER_AUTHENTICATION"),
            view("gcp:redis/instance:Instance", authEnabled=True, transitEncryptionMode="DISABLED"),
        ),
        "gcp-redis-high-availability": (
            view("gcp:redis/instance:Instance", "prod", tier="STANDARD_HA"),
            view("gcp:redis/instance:Instance", "prod", tier="BASIC"),
        ),
        "gcp-cloudrun-ingress": (
            view("gcp:cloudrunv2/service:Service", ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"),
            view("gcp:cloudrunv2/service:Service", ingress="INGRESS_TRAFFIC_ALL"),
        ),
        "gcp-modern-tls": (
            view("gcp:compute/sSLPolicy:SSLPolicy", minTlsVersion="TLS_1_2", profile="MODERN"),
            view("gcp:compute/sSLPolicy:SSLPolicy", minTlsVersion="TLS_1_0", profile="MODERN"),
        ),
        "gcp-subnet-flow-logs": (
            view("gcp:compute/subnetwork:Subnetwork", logConfig={"aggregationInterval": "INTERVAL_5_SEC"}),
            view("gcp:compute/subnetwork:Subnetwork", ipCidrRange="10.0.0.0/24"),
        ),
        "gcp-cost-labels": (
            view("gcp:redis/instance:Instance", labels=LABELS),
            view("gcp:redis/instance:Instance", labels={"parley-environment": "prod"}),
        ),
    }
)
