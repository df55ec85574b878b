"""`Service`: Parley on ECS Fargate in the private subnets.

The cluster (Container Insights on), the task definition of `parley serve` and the one-off migration task
(`parley migrate`, run with `aws ecs run-task` before each deploy: docs/aws.md), the service behind the load
balancer's target group, and its autoscaling on CPU and on requests per target. Containers run as the
image's unprivileged user on a read-only root with every capability dropped; secrets reach them from Secrets
Manager by ARN (`secrets`/`valueFrom`), never as values in the task definition.

Roles: the execution role may pull this image, write this log group and read these secrets, nothing else;
the task role has no permissions at all, as the app calls no AWS API."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.aws.policies import allow, assume_role_policy, policy_document

CONTAINER = "parley"
APP_PORT = 8000
RUN_AS = "10001:10001"
SERVE = ["serve", "--host", "0.0.0.0", "--port", str(APP_PORT)]
MIGRATE = ["migrate"]
HEALTH_COMMAND = "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"


@dataclass(frozen=True)
class ServiceArgs:
    """`secrets` maps environment variables to Secrets Manager ARNs; `settings` are the plain PARLEY_*
    variables. `request_count_label` is "<alb arn suffix>/<target group arn suffix>". `after` lists what the
    service must wait for (the listener that attaches its target group to the load balancer)."""

    region: str
    family: str
    image: pulumi.Input[str]
    repository_arn: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    target_group_arn: pulumi.Input[str]
    request_count_label: pulumi.Input[str]
    secrets: Mapping[str, pulumi.Input[str]]
    key_arn: pulumi.Input[str]
    cpu: int
    memory: int
    replicas: int
    max_replicas: int
    log_retention_days: int
    settings: Mapping[str, str] = field(default_factory=dict)
    after: Sequence[pulumi.Resource] = ()


class Service(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    task_definition_arn: pulumi.Output[str]
    migration_task_definition_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:aws:Service", name, None, opts)
        self._name = name
        child = pulumi.ResourceOptions(parent=self)
        cluster = aws.ecs.Cluster(
            f"{name}-cluster", settings=[{"name": "containerInsights", "value": "enabled"}], opts=child
        )
        logs = aws.cloudwatch.LogGroup(f"{name}-logs", retention_in_days=args.log_retention_days, opts=child)
        execution_role = self._execution_role(args, logs)
        task_role = aws.iam.Role(
            f"{name}-task",
            description="Parley tasks: no permissions, the app calls no AWS API",
            assume_role_policy=json.dumps(assume_role_policy("ecs-tasks.amazonaws.com")),
            opts=child,
        )

        def task_definition(
            role: str, command: list[str], secrets: Mapping[str, pulumi.Input[str]], port: bool
        ) -> aws.ecs.TaskDefinition:
            container = container_definition(
                image=args.image,
                command=command,
                settings=args.settings,
                secrets=secrets,
                log_group=logs.name,
                region=args.region,
                stream_prefix=role,
                port=port,
            )
            return aws.ecs.TaskDefinition(
                f"{name}-{role}",
                family=f"{args.family}-{role}",
                cpu=str(args.cpu),
                memory=str(args.memory),
                network_mode="awsvpc",
                requires_compatibilities=["FARGATE"],
                runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
                execution_role_arn=execution_role.arn,
                task_role_arn=task_role.arn,
                volumes=[{"name": "tmp"}],  # task storage for /tmp: the root filesystem is read-only
                container_definitions=pulumi.Output.json_dumps([container]),
                opts=child,
            )

        server = task_definition("server", SERVE, args.secrets, True)
        migration_secrets = {k: v for k, v in args.secrets.items() if k == "PARLEY_DATABASE_URL"}
        migration = task_definition("migrate", MIGRATE, migration_secrets, False)
        service = aws.ecs.Service(
            f"{name}-service",
            cluster=cluster.arn,
            task_definition=server.arn,
            desired_count=args.replicas,
            launch_type="FARGATE",
            platform_version="LATEST",
            network_configuration={
                "subnets": list(args.subnet_ids),
                "security_groups": [args.security_group_id],
                "assign_public_ip": False,
            },
            load_balancers=[
                {"target_group_arn": args.target_group_arn, "container_name": CONTAINER, "container_port": APP_PORT}
            ],
            health_check_grace_period_seconds=60,
            deployment_circuit_breaker={"enable": True, "rollback": True},
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            availability_zone_rebalancing="ENABLED",
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            enable_execute_command=False,
            # The autoscaler owns the count once the service exists.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.after), ignore_changes=["desired_count"]),
        )
        self._autoscaling(args, cluster, service)
        self.cluster_name, self.service_name = cluster.name, service.name
        self.task_definition_arn, self.migration_task_definition_arn = server.arn, migration.arn
        self.log_group_name = logs.name
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "service_name": self.service_name,
                "task_definition_arn": self.task_definition_arn,
                "migration_task_definition_arn": self.migration_task_definition_arn,
                "log_group_name": self.log_group_name,
            }
        )

    def _execution_role(self, args: ServiceArgs, logs: aws.cloudwatch.LogGroup) -> aws.iam.Role:
        """What ECS itself needs to start a task: this image, this log group, these secrets."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{self._name}-execution",
            description="ECS starting Parley tasks: pull the image, write logs, read the app's secrets",
            assume_role_policy=json.dumps(assume_role_policy("ecs-tasks.amazonaws.com")),
            opts=child,
        )
        policy = pulumi.Output.all(
            repository=args.repository_arn, logs=logs.arn, key=args.key_arn, secrets=list(args.secrets.values())
        ).apply(
            lambda arns: json.dumps(
                policy_document(
                    allow(["ecr:GetAuthorizationToken"], ["*"]),  # not scoped by AWS to a repository
                    allow(
                        ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                        [arns["repository"]],
                    ),
                    allow(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{arns['logs']}:*"]),
                    allow(["secretsmanager:GetSecretValue"], sorted(arns["secrets"])),
                    allow(
                        ["kms:Decrypt"],
                        [arns["key"]],
                        Condition={"StringEquals": {"kms:ViaService": f"secretsmanager.{args.region}.amazonaws.com"}},
                    ),
                )
            )
        )
        aws.iam.RolePolicy(f"{self._name}-execution", role=role.id, policy=policy, opts=child)
        return role

    def _autoscaling(self, args: ServiceArgs, cluster: aws.ecs.Cluster, service: aws.ecs.Service) -> None:
        child = pulumi.ResourceOptions(parent=self)
        target = aws.appautoscaling.Target(
            f"{self._name}-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", cluster.name, "/", service.name),
            min_capacity=args.replicas,
            max_capacity=args.max_replicas,
            opts=child,
        )
        # label: (predefined metric, its resource label, target value per task)
        metrics: dict[str, tuple[str, pulumi.Input[str] | None, float]] = {
            "cpu": ("ECSServiceAverageCPUUtilization", None, 60.0),
            "requests": ("ALBRequestCountPerTarget", args.request_count_label, 1000.0),
        }
        for label, (metric, resource_label, target_value) in metrics.items():
            aws.appautoscaling.Policy(
                f"{self._name}-scale-on-{label}",
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration={
                    "target_value": target_value,
                    "predefined_metric_specification": {
                        "predefined_metric_type": metric,
                        "resource_label": resource_label,
                    },
                    "scale_in_cooldown": 300,
                    "scale_out_cooldown": 60,
                },
                opts=child,
            )


def container_definition(
    *,
    image: pulumi.Input[str],
    command: list[str],
    settings: Mapping[str, str],
    secrets: Mapping[str, pulumi.Input[str]],
    log_group: pulumi.Input[str],
    region: str,
    stream_prefix: str,
    port: bool,
) -> dict[str, Any]:
    """One container of a task definition, in ECS's JSON shape (Output values are resolved by json_dumps).
    With `port` it is the server: it listens on the app port and has a health check."""
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": image,
        "essential": True,
        "command": command,
        "user": RUN_AS,
        "readonlyRootFilesystem": True,
        "portMappings": [{"containerPort": APP_PORT, "protocol": "tcp"}] if port else [],
        "environment": [{"name": k, "value": v} for k, v in sorted(settings.items())],
        "secrets": [{"name": k, "valueFrom": arn} for k, arn in sorted(secrets.items())],
        "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}],
        "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
        "stopTimeout": 30,  # open WebSockets get this long to close before SIGKILL
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": stream_prefix},
        },
    }
    if port:
        container["healthCheck"] = {
            "command": ["CMD", "python3", "-c", HEALTH_COMMAND],
            "interval": 15,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 20,
        }
    return container
