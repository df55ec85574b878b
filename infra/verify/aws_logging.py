"""Materialise what watches and records the stack: S3 access-log buckets and their settings, VPC flow logs,
CloudWatch alarms and their SNS topics, the ECR repository, and the service's autoscaling."""

from __future__ import annotations

import json
from typing import Any

from infra.plan.model import Resource
from infra.verify.aws_serverless import resolve_segments
from infra.verify.materialise import Context, Handler, Outputs, physical_name


def bucket(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    name = physical_name(resource, inputs, "bucket")
    s3 = context.client("s3")
    args: dict[str, Any] = {"Bucket": name}
    # us-east-1 is S3's default location and the API refuses it as a constraint.
    if context.region != "us-east-1":
        args["CreateBucketConfiguration"] = {"LocationConstraint": context.region}
    s3.create_bucket(**args)
    if context.tags:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": context.tag_list()})
    return {
        "id": name,
        "bucket": name,
        "arn": f"arn:aws:s3:::{name}",
        "bucketDomainName": f"{name}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{name}.s3.{context.region}.amazonaws.com",
    }


def public_access_block(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    names = ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets")
    configuration = {n[0].upper() + n[1:]: bool(inputs.get(n)) for n in names}
    context.client("s3").put_public_access_block(Bucket=inputs["bucket"], PublicAccessBlockConfiguration=configuration)
    return {"id": inputs["bucket"]}


def ownership_controls(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    rule = {"ObjectOwnership": inputs["rule"]["objectOwnership"]}
    context.client("s3").put_bucket_ownership_controls(Bucket=inputs["bucket"], OwnershipControls={"Rules": [rule]})
    return {"id": inputs["bucket"]}


def encryption(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    rules = []
    for rule in inputs.get("rules") or []:
        default = rule.get("applyServerSideEncryptionByDefault") or {}
        converted: dict[str, Any] = {"SSEAlgorithm": default["sseAlgorithm"]}
        if default.get("kmsMasterKeyId"):
            converted["KMSMasterKeyID"] = default["kmsMasterKeyId"]
        entry: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": converted}
        if rule.get("bucketKeyEnabled") is not None:
            entry["BucketKeyEnabled"] = bool(rule["bucketKeyEnabled"])
        rules.append(entry)
    context.client("s3").put_bucket_encryption(
        Bucket=inputs["bucket"], ServerSideEncryptionConfiguration={"Rules": rules}
    )
    return {"id": inputs["bucket"]}


def _lifecycle_rule(rule: Outputs) -> dict[str, Any]:
    converted: dict[str, Any] = {"ID": rule.get("id") or "rule", "Status": rule.get("status") or "Enabled"}
    converted["Filter"] = {"Prefix": (rule.get("filter") or {}).get("prefix") or ""}
    if expiration := rule.get("expiration"):
        converted["Expiration"] = {"Days": int(expiration["days"])}
    if abort := rule.get("abortIncompleteMultipartUpload"):
        converted["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": int(abort["daysAfterInitiation"])}
    return converted


def lifecycle(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    rules = [_lifecycle_rule(rule) for rule in inputs.get("rules") or []]
    context.client("s3").put_bucket_lifecycle_configuration(
        Bucket=inputs["bucket"], LifecycleConfiguration={"Rules": rules}
    )
    return {"id": inputs["bucket"]}


def bucket_policy(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    policy = inputs["policy"]
    text = policy if isinstance(policy, str) else json.dumps(policy)
    context.client("s3").put_bucket_policy(Bucket=inputs["bucket"], Policy=text)
    return {"id": inputs["bucket"]}


def flow_log(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    target = next((inputs[k] for k in ("vpcId", "subnetId", "eniId") if inputs.get(k)), None)
    kinds = {"vpcId": "VPC", "subnetId": "Subnet", "eniId": "NetworkInterface"}
    kind = next(kinds[k] for k in kinds if inputs.get(k))
    args: dict[str, Any] = {
        "ResourceIds": [target],
        "ResourceType": kind,
        "TrafficType": inputs.get("trafficType") or "ALL",
        "LogDestinationType": inputs.get("logDestinationType") or "cloud-watch-logs",
        "TagSpecifications": [{"ResourceType": "vpc-flow-log", "Tags": context.tag_list()}],
    }
    for pulumi_name, api in (
        ("logDestination", "LogDestination"),
        ("iamRoleArn", "DeliverLogsPermissionArn"),
        ("maxAggregationInterval", "MaxAggregationInterval"),
        ("logFormat", "LogFormat"),
    ):
        if inputs.get(pulumi_name) is not None:
            args[api] = inputs[pulumi_name]
    created = context.client("ec2").create_flow_logs(**args)
    if created.get("Unsuccessful"):
        raise ValueError(f"flow log refused: {created['Unsuccessful']}")
    return {"id": created["FlowLogIds"][0]}


ALARM_FIELDS = {
    "alarmDescription": "AlarmDescription",
    "namespace": "Namespace",
    "metricName": "MetricName",
    "statistic": "Statistic",
    "comparisonOperator": "ComparisonOperator",
    "threshold": "Threshold",
    "period": "Period",
    "evaluationPeriods": "EvaluationPeriods",
    "treatMissingData": "TreatMissingData",
    "alarmActions": "AlarmActions",
    "okActions": "OKActions",
    "insufficientDataActions": "InsufficientDataActions",
}


def metric_alarm(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    cloudwatch = context.client("cloudwatch")
    name = physical_name(resource, inputs)
    args: dict[str, Any] = {api: inputs[p] for p, api in ALARM_FIELDS.items() if inputs.get(p) is not None}
    dimensions = inputs.get("dimensions") or {}
    args |= {"AlarmName": name, "Tags": context.tag_list()}
    args["Dimensions"] = [{"Name": k, "Value": str(v)} for k, v in sorted(dimensions.items())]
    cloudwatch.put_metric_alarm(**args)
    arn = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]
    return {"id": name, "name": name, "arn": arn}


def topic(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    name = physical_name(resource, inputs)
    attributes = {"KmsMasterKeyId": inputs["kmsMasterKeyId"]} if inputs.get("kmsMasterKeyId") else {}
    arn = context.client("sns").create_topic(Name=name, Attributes=attributes, Tags=context.tag_list())["TopicArn"]
    return {"id": arn, "arn": arn, "name": name}


def subscription(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    created = context.client("sns").subscribe(
        TopicArn=inputs["topic"], Protocol=inputs["protocol"], Endpoint=inputs["endpoint"], ReturnSubscriptionArn=True
    )
    return {"id": created["SubscriptionArn"], "arn": created["SubscriptionArn"]}


def repository(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    name = physical_name(resource, inputs)
    args: dict[str, Any] = {"repositoryName": name, "tags": context.tag_list()}
    if inputs.get("imageTagMutability"):
        args["imageTagMutability"] = inputs["imageTagMutability"]
    if scanning := inputs.get("imageScanningConfiguration"):
        args["imageScanningConfiguration"] = {"scanOnPush": bool(scanning.get("scanOnPush"))}
    if encryption_configurations := inputs.get("encryptionConfigurations"):
        first = encryption_configurations[0]
        args["encryptionConfiguration"] = {"encryptionType": first.get("encryptionType") or "AES256"}
        if first.get("kmsKey"):
            args["encryptionConfiguration"]["kmsKey"] = first["kmsKey"]
    created = context.client("ecr").create_repository(**args)["repository"]
    return {
        "id": name,
        "name": name,
        "arn": created["repositoryArn"],
        "registryId": created["registryId"],
        "repositoryUrl": created["repositoryUri"],
    }


def ecr_lifecycle_policy(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    policy = inputs["policy"]
    text = policy if isinstance(policy, str) else json.dumps(policy)
    context.client("ecr").put_lifecycle_policy(repositoryName=inputs["repository"], lifecyclePolicyText=text)
    return {"id": inputs["repository"]}


def ecr_replication(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    rules = [
        {
            "destinations": [{"region": d["region"], "registryId": d["registryId"]} for d in rule["destinations"]],
            "repositoryFilters": [
                {"filter": f["filter"], "filterType": f["filterType"]} for f in rule.get("repositoryFilters") or []
            ],
        }
        for rule in inputs["replicationConfiguration"]["rules"]
    ]
    created = context.client("ecr").put_replication_configuration(replicationConfiguration={"rules": rules})
    return {"id": str(created["replicationConfiguration"]["rules"][0]["destinations"][0]["registryId"])}


def scalable_target(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    resource_id = resolve_segments(context, inputs["resourceId"])
    context.client("application-autoscaling").register_scalable_target(
        ServiceNamespace=inputs["serviceNamespace"],
        ResourceId=resource_id,
        ScalableDimension=inputs["scalableDimension"],
        MinCapacity=int(inputs["minCapacity"]),
        MaxCapacity=int(inputs["maxCapacity"]),
    )
    return {"id": resource_id, "resourceId": resource_id}


def _target_tracking(config: Outputs, context: Context) -> dict[str, Any]:
    converted: dict[str, Any] = {"TargetValue": float(config["targetValue"])}
    for pulumi_name, api in (("scaleInCooldown", "ScaleInCooldown"), ("scaleOutCooldown", "ScaleOutCooldown")):
        if config.get(pulumi_name) is not None:
            converted[api] = int(config[pulumi_name])
    if metric := config.get("predefinedMetricSpecification"):
        converted["PredefinedMetricSpecification"] = {"PredefinedMetricType": metric["predefinedMetricType"]}
        if metric.get("resourceLabel"):
            label = resolve_segments(context, metric["resourceLabel"])
            converted["PredefinedMetricSpecification"]["ResourceLabel"] = label
    return converted


def scaling_policy(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    name = physical_name(resource, inputs)
    args: dict[str, Any] = {
        "PolicyName": name,
        "ServiceNamespace": inputs["serviceNamespace"],
        "ResourceId": resolve_segments(context, inputs["resourceId"]),
        "ScalableDimension": inputs["scalableDimension"],
        "PolicyType": inputs.get("policyType") or "StepScaling",
    }
    if tracking := inputs.get("targetTrackingScalingPolicyConfiguration"):
        args["TargetTrackingScalingPolicyConfiguration"] = _target_tracking(tracking, context)
    created = context.client("application-autoscaling").put_scaling_policy(**args)
    return {"id": name, "name": name, "arn": created["PolicyARN"]}


HANDLERS: dict[str, Handler] = {
    "aws:s3/bucket:Bucket": bucket,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": public_access_block,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ownership_controls,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": encryption,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": lifecycle,
    "aws:s3/bucketPolicy:BucketPolicy": bucket_policy,
    "aws:ec2/flowLog:FlowLog": flow_log,
    "aws:cloudwatch/metricAlarm:MetricAlarm": metric_alarm,
    "aws:sns/topic:Topic": topic,
    "aws:sns/topicSubscription:TopicSubscription": subscription,
    "aws:ecr/repository:Repository": repository,
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": ecr_lifecycle_policy,
    "aws:ecr/replicationConfiguration:ReplicationConfiguration": ecr_replication,
    "aws:appautoscaling/target:Target": scalable_target,
    "aws:appautoscaling/policy:Policy": scaling_policy,
}
