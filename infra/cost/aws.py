"""Pricers for the AWS resources of the container stacks (aws-dev, aws-staging, aws-prod): databases, caches,
Fargate, load balancers, the network, and what every AWS stack holds (keys, secrets, logs, alarms)."""

from __future__ import annotations

from infra.cost.engine import Component, Context, NotPriced, free, number_input, pricer, text_input
from infra.cost.usage import HOURS_PER_MONTH, Quantities
from infra.plan import Resource

# An ALB capacity unit covers, per hour, the largest of: 25 new connections a second, 3,000 active connections
# a minute, 1 GB processed, 1,000 rule evaluations a second. Long-lived WebSockets make active connections and
# bytes the dimensions that count.
LCU_ACTIVE_CONNECTIONS = 3000
LCU_GB_PER_HOUR = 1.0
# Months of logs a group holds when it never expires: a year, as a steady state to price.
NEVER_EXPIRES_MONTHS = 12

free(
    "networks, routes and firewall rules are free",
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/route:Route",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/internetGatewayAttachment:InternetGatewayAttachment",
    "aws:ec2/networkAcl:NetworkAcl",
    "aws:ec2/eipAssociation:EipAssociation",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
)
free(
    "configuration without a charge of its own",
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policy:Policy",
    "aws:iam/instanceProfile:InstanceProfile",
    "aws:s3/bucketNotification:BucketNotification",
    "aws:s3/bucketVersioningV2:BucketVersioningV2",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
    "aws:sns/topicPolicy:TopicPolicy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy",
    "aws:kms/alias:Alias",
    "aws:ecs/cluster:Cluster",
    "aws:appautoscaling/target:Target",
    "aws:appautoscaling/policy:Policy",
    "aws:lb/listener:Listener",
    "aws:lb/targetGroup:TargetGroup",
    "aws:rds/subnetGroup:SubnetGroup",
    "aws:elasticache/subnetGroup:SubnetGroup",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    "aws:secretsmanager/secretVersion:SecretVersion",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
)
free(
    "public ACM certificates are free",
    "aws:acm/certificate:Certificate",
    "aws:acm/certificateValidation:CertificateValidation",
)
free("records are free; alias queries to AWS load balancers are free", "aws:route53/record:Record")
free("billed as the ingestion of its log group", "aws:ec2/flowLog:FlowLog")
free("a task definition is billed when it runs, as its service's tasks", "aws:ecs/taskDefinition:TaskDefinition")
free(
    "alarm notifications stay within SNS's monthly free publishes and deliveries",
    "aws:sns/topic:Topic",
    "aws:sns/topicSubscription:TopicSubscription",
)


@pricer("aws:rds/instance:Instance")
def rds_instance(ctx: Context) -> list[Component]:
    """Instance hours and storage; Multi-AZ runs a standby, billed as a second instance and a second volume.
    A cross-region replica also receives the primary's write-ahead log across regions."""
    inputs = ctx.resource.inputs
    multi_az = bool(inputs.get("multiAz"))
    copies = 2 if multi_az else 1
    deployment = "Multi-AZ" if multi_az else "Single-AZ"
    klass = text_input(inputs, "instanceClass")
    storage_type = str(inputs.get("storageType") or "gp2")
    components = [
        ctx.hours(f"{klass} {deployment}", f"rds.postgres.{klass}", copies),
        ctx.charge(
            f"{storage_type} storage {deployment}",
            f"rds.storage.{storage_type}",
            copies * number_input(inputs, "allocatedStorage"),
        ),
    ]
    source = inputs.get("replicateSourceDb")
    if (
        ctx.usage
        and isinstance(source, str)
        and source.startswith("arn:aws:rds:")
        and source.split(":")[3] != ctx.region
    ):
        components.append(
            ctx.charge(
                "replication from the primary region", "transfer.inter-region.gb", ctx.usage.replication_gb, "usage"
            )
        )
    return components


@pricer("aws:elasticache/replicationGroup:ReplicationGroup")
def cache_group(ctx: Context) -> list[Component]:
    inputs = ctx.resource.inputs
    node = text_input(inputs, "nodeType")
    if inputs.get("numNodeGroups"):
        nodes = int(inputs["numNodeGroups"]) * (1 + int(inputs.get("replicasPerNodeGroup") or 0))
    else:
        nodes = int(inputs.get("numCacheClusters") or 1)
    return [ctx.hours(f"{nodes} x {node}", f"elasticache.{node}", nodes)]


@pricer("aws:elasticache/cluster:Cluster")
def cache_cluster(ctx: Context) -> list[Component]:
    nodes = int(ctx.resource.inputs.get("numCacheNodes") or 1)
    node = text_input(ctx.resource.inputs, "nodeType")
    return [ctx.hours(f"{nodes} x {node}", f"elasticache.{node}", nodes)]


@pricer("aws:ecs/service:Service")
def fargate_service(ctx: Context) -> list[Component]:
    """The tasks' vCPU and memory hours. The autoscaler's minimum runs all month (hourly); in the home region the
    profile's peak connections may need more tasks, up to the maximum (usage)."""
    inputs = ctx.resource.inputs
    if inputs.get("launchType", "FARGATE") != "FARGATE":
        raise NotPriced(f"launch type {inputs.get('launchType')} is not modelled (only FARGATE)")
    tasks = ctx.depended("aws:ecs/taskDefinition:TaskDefinition")
    if not tasks:
        raise NotPriced("its task definition is not in the plan")
    task = tasks[0].inputs
    vcpu, memory = number_input(task, "cpu") / 1024, number_input(task, "memory") / 1024
    arch = str((task.get("runtimePlatform") or {}).get("cpuArchitecture") or "X86_64").lower()
    minimum, maximum = _task_range(ctx)
    usage = ctx.traffic()
    extra = max(0, min(maximum, usage.instances_needed) - minimum) if usage else 0
    components = [
        ctx.hours(f"{minimum} tasks x {vcpu:g} vCPU", f"fargate.vcpu.{arch}", minimum * vcpu),
        ctx.hours(f"{minimum} tasks x {memory:g} GB", f"fargate.memory.{arch}", minimum * memory),
    ]
    if extra:
        hours = extra * HOURS_PER_MONTH
        components.append(
            ctx.charge(f"{extra} more tasks at peak, vCPU", f"fargate.vcpu.{arch}", hours * vcpu, "usage")
        )
        components.append(
            ctx.charge(f"{extra} more tasks at peak, GB", f"fargate.memory.{arch}", hours * memory, "usage")
        )
    return components


def _task_range(ctx: Context) -> tuple[int, int]:
    """The service's scaling range: its autoscaling target's, else its desired count."""
    desired = int(ctx.resource.inputs.get("desiredCount") or 1)
    for target in ctx.plan.resources:
        if target.type == "aws:appautoscaling/target:Target" and ctx.resource.urn in target.dependencies:
            return int(target.inputs.get("minCapacity") or desired), int(target.inputs.get("maxCapacity") or desired)
    return desired, desired


@pricer("aws:lb/loadBalancer:LoadBalancer")
def load_balancer(ctx: Context) -> list[Component]:
    inputs = ctx.resource.inputs
    if inputs.get("loadBalancerType", "application") != "application":
        raise NotPriced(f"load balancer type {inputs.get('loadBalancerType')} is not modelled")
    components = [ctx.hours("load balancer hours", "elb.alb.hour")]
    usage = ctx.traffic()
    if usage:
        share = ctx.share(ctx.resource.type)
        lcu = max(
            usage.average_connections / LCU_ACTIVE_CONNECTIONS, usage.processed_gb / HOURS_PER_MONTH / LCU_GB_PER_HOUR
        )
        components += [
            ctx.charge(
                "capacity units (active connections, bytes)", "elb.alb.lcu", share * lcu * HOURS_PER_MONTH, "usage"
            ),
            ctx.charge(
                "data transfer out to the internet", "transfer.internet-out.gb", share * usage.internet_out_gb, "usage"
            ),
        ]
    return components


@pricer("aws:ec2/natGateway:NatGateway")
def nat_gateway(ctx: Context) -> list[Component]:
    """Hours, and the GB it processes: the profile's NAT egress, plus the logs when no logs endpoint carries them."""
    components = [ctx.hours("gateway hours", "vpc.nat.hour")]
    usage = ctx.traffic()
    if usage:
        gb = usage.nat_gb + (0 if _has_endpoint(ctx, "logs") else usage.log_gb)
        components.append(ctx.charge("data processed", "vpc.nat.gb", gb * ctx.share(ctx.resource.type), "usage"))
    return components


@pricer("aws:ec2/eip:Eip")
def elastic_ip(ctx: Context) -> list[Component]:
    return [ctx.hours("public IPv4 address", "vpc.public-ipv4.hour")]


@pricer("aws:ec2/vpcEndpoint:VpcEndpoint")
def vpc_endpoint(ctx: Context) -> list[Component]:
    """Gateway endpoints are free; interface endpoints cost per AZ (subnet) and per GB: the logs endpoint carries
    the application's logs, ECR's the image pulls."""
    inputs = ctx.resource.inputs
    if inputs.get("vpcEndpointType", "Gateway") == "Gateway":
        return []
    zones = len(inputs.get("subnetIds") or []) or 1
    components = [ctx.hours(f"{zones} zones", "vpc.endpoint.interface.hour", zones)]
    usage = ctx.traffic()
    service = str(inputs.get("serviceName", ""))
    gb = 0.0
    if usage and service.endswith(".logs"):
        gb = usage.log_gb
    elif usage and service.endswith(".ecr.dkr"):
        gb = usage.image_pull_gb
    if gb:
        components.append(ctx.charge("data processed", "vpc.endpoint.interface.gb", gb, "usage"))
    return components


def _has_endpoint(ctx: Context, service: str) -> bool:
    return any(
        r.type == "aws:ec2/vpcEndpoint:VpcEndpoint"
        and str(r.inputs.get("serviceName", "")).endswith(f".{service}")
        and ctx.region_of(r) == ctx.region
        for r in ctx.plan.resources
    )


@pricer("aws:route53/healthCheck:HealthCheck")
def health_check(ctx: Context) -> list[Component]:
    inputs = ctx.resource.inputs
    check = str(inputs.get("type", ""))
    features = sum(
        (
            check.startswith("HTTPS"),
            check.endswith("STR_MATCH"),
            int(inputs.get("requestInterval") or 30) == 10,
            bool(inputs.get("measureLatency")),
        )
    )
    components = [ctx.charge("health check", "route53.healthcheck", 1)]
    if features:
        components.append(ctx.charge(f"{features} optional features", "route53.healthcheck.feature", features))
    return components


@pricer("aws:route53/zone:Zone")
def hosted_zone(ctx: Context) -> list[Component]:
    return [ctx.charge("hosted zone", "route53.zone", 1)]


@pricer("aws:cloudwatch/logGroup:LogGroup")
def log_group(ctx: Context) -> list[Component]:
    """Ingestion and storage. Flow log groups take the flow log volume; the home region's other groups share the
    application's. Storage holds `retentionInDays` of ingestion (a year when it never expires)."""
    usage = ctx.traffic()
    if not usage:
        return []
    is_flow = _is_flow_log(ctx.resource)
    share = ctx.share(ctx.resource.type, lambda r: _is_flow_log(r) == is_flow)
    gb = share * (usage.flow_log_gb if is_flow else usage.log_gb)
    retention = ctx.resource.inputs.get("retentionInDays")
    months = int(retention) / (HOURS_PER_MONTH / 24) if retention else NEVER_EXPIRES_MONTHS
    return [
        ctx.charge("logs ingested", "cloudwatch.logs.ingest", gb, "usage"),
        ctx.charge("logs stored", "cloudwatch.logs.storage", gb * months, "usage"),
    ]


def _is_flow_log(resource: Resource) -> bool:
    return "flow" in resource.name


@pricer("aws:cloudwatch/metricAlarm:MetricAlarm")
def alarm(ctx: Context) -> list[Component]:
    return [ctx.charge("alarm metric", "cloudwatch.alarm", 1)]


@pricer("aws:secretsmanager/secret:Secret")
def secret(ctx: Context) -> list[Component]:
    return [ctx.charge("secret", "secretsmanager.secret", 1)]


@pricer("aws:kms/key:Key")
def kms_key(ctx: Context) -> list[Component]:
    return [ctx.charge("customer managed key", "kms.key", 1)]


@pricer("aws:ecr/repository:Repository")
def ecr_repository(ctx: Context) -> list[Component]:
    return [ctx.charge("image storage", "ecr.storage", ctx.usage.images_gb, "usage")] if ctx.usage else []


@pricer("aws:ecr/replicationConfiguration:ReplicationConfiguration")
def ecr_replication(ctx: Context) -> list[Component]:
    """Each destination region stores a copy of the images, sent across regions once per push (not once per pull:
    the tasks that pull run in the regions they pull from)."""
    if not ctx.usage:
        return []
    usage: Quantities = ctx.usage
    components = []
    for rule in (ctx.resource.inputs.get("replicationConfiguration") or {}).get("rules") or []:
        for destination in rule.get("destinations") or []:
            region = str(destination.get("region", ctx.region))
            components.append(
                ctx.charge(f"image storage in {region}", "ecr.storage", usage.images_gb, "usage", region=region)
            )
            components.append(
                ctx.charge(f"image copies to {region}", "transfer.inter-region.gb", usage.image_push_gb, "usage")
            )
    return components


@pricer("aws:s3/bucket:Bucket")
def bucket(ctx: Context) -> list[Component]:
    """The load balancer's access logs: a month of the profile's log volume, as a steady state."""
    usage = ctx.traffic()
    if not usage:
        return []
    return [
        ctx.charge("access logs stored", "s3.standard.storage", usage.log_gb * ctx.share(ctx.resource.type), "usage")
    ]
