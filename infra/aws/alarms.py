"""`Alarms`: CloudWatch alarms of one region, sent to an SNS topic there (and to `email`, once the address
confirms the subscription).

The topic is encrypted with a key of its own, because CloudWatch can publish to an encrypted topic only
when the key's policy lets the CloudWatch service use it, which the AWS-managed SNS key does not."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.aws.policies import policy_document

GIB = 1024**3


@dataclass(frozen=True)
class AlarmsArgs:
    """What is watched: the load balancer and its target group (ARN suffixes), the ECS service, the database
    instance (`database_replica`: a cross-region replica, whose lag is watched too) and the cache's nodes."""

    load_balancer: pulumi.Input[str]
    target_group: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    service_name: pulumi.Input[str]
    database_identifier: pulumi.Input[str]
    database_storage_gib: int
    database_replica: bool
    cache_node_ids: pulumi.Output[list[str]]
    cache_nodes: int
    email: str | None = None


@dataclass(frozen=True)
class Threshold:
    namespace: str
    metric: str
    statistic: str
    operator: str
    threshold: float
    periods: int = 3
    period: int = 300


class Alarms(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:aws:Alarms", name, None, opts)
        self._name = name
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        key = aws.kms.Key(
            f"{name}-topic",
            description="Parley alarm notifications",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=account.apply(lambda account_id: json.dumps(_topic_key_policy(account_id))),
            opts=child,
        )
        topic = aws.sns.Topic(f"{name}-topic", kms_master_key_id=key.arn, opts=child)
        if args.email:
            aws.sns.TopicSubscription(
                f"{name}-email", topic=topic.arn, protocol="email", endpoint=args.email, opts=child
            )
        self.topic_arn = topic.arn
        alb = {"LoadBalancer": args.load_balancer}
        self._alarm("alb-5xx", Threshold("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum", ">=", 10, 1), alb)
        self._alarm("target-5xx", Threshold("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", ">=", 10, 1), alb)
        self._alarm(
            "unhealthy-hosts",
            Threshold("AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", ">", 0, 3, 60),
            {**alb, "TargetGroup": args.target_group},
        )
        self._alarm(
            "app-cpu",
            Threshold("AWS/ECS", "CPUUtilization", "Average", ">", 85),
            {"ClusterName": args.cluster_name, "ServiceName": args.service_name},
        )
        database = {"DBInstanceIdentifier": args.database_identifier}
        self._alarm("database-cpu", Threshold("AWS/RDS", "CPUUtilization", "Average", ">", 80), database)
        free_bytes = args.database_storage_gib * GIB // 10
        self._alarm(
            "database-storage", Threshold("AWS/RDS", "FreeStorageSpace", "Minimum", "<", free_bytes, 1), database
        )
        if args.database_replica:
            self._alarm("database-lag", Threshold("AWS/RDS", "ReplicaLag", "Maximum", ">", 300, 5, 60), database)
        for node in range(args.cache_nodes):
            self._alarm(
                f"cache-cpu-{node}",
                Threshold("AWS/ElastiCache", "EngineCPUUtilization", "Average", ">", 80),
                {"CacheClusterId": args.cache_node_ids[node]},
            )
        self.register_outputs({"topic_arn": self.topic_arn})

    def _alarm(self, label: str, threshold: Threshold, dimensions: Mapping[str, pulumi.Input[str]]) -> None:
        operators = {
            ">": "GreaterThanThreshold",
            ">=": "GreaterThanOrEqualToThreshold",
            "<": "LessThanThreshold",
        }
        aws.cloudwatch.MetricAlarm(
            f"{self._name}-{label}",
            alarm_description=f"Parley: {threshold.metric} {threshold.operator} {threshold.threshold:,.0f}",
            namespace=threshold.namespace,
            metric_name=threshold.metric,
            statistic=threshold.statistic,
            comparison_operator=operators[threshold.operator],
            threshold=threshold.threshold,
            period=threshold.period,
            evaluation_periods=threshold.periods,
            dimensions=dict(dimensions),
            treat_missing_data="notBreaching",
            alarm_actions=[self.topic_arn],
            ok_actions=[self.topic_arn],
            opts=pulumi.ResourceOptions(parent=self),
        )


def _topic_key_policy(account_id: str) -> dict[str, Any]:
    return policy_document(
        {
            "Sid": "Account",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchAlarms",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
        },
    )
