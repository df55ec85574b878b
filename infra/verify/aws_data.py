"""Materialise where data lives and is protected: KMS keys, RDS, ElastiCache, DynamoDB, Secrets Manager, logs."""

from __future__ import annotations

import json
from typing import Any

from infra.plan.model import Resource
from infra.verify.materialise import Context, Handler, Outputs, physical_name

# What a database or cache gets as its password where the plan holds none (a preview or an export: secrets
# there are ciphertext). Only for materialising; nothing checks it.
PLACEHOLDER_PASSWORD = "materialised-placeholder-0123456789"


def kms_key(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    kms = context.client("kms")
    args: dict[str, Any] = {"Tags": context.tag_list("TagKey", "TagValue")}
    if inputs.get("description"):
        args["Description"] = inputs["description"]
    metadata = kms.create_key(**args)["KeyMetadata"]
    if inputs.get("enableKeyRotation"):
        kms.enable_key_rotation(KeyId=metadata["KeyId"])
    return {"id": metadata["KeyId"], "keyId": metadata["KeyId"], "arn": metadata["Arn"]}


def kms_alias(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    context.client("kms").create_alias(AliasName=inputs["name"], TargetKeyId=inputs["targetKeyId"])
    return {"id": inputs["name"]}


def rds_subnet_group(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    name = physical_name(resource, inputs)
    created = context.client("rds").create_db_subnet_group(
        DBSubnetGroupName=name,
        DBSubnetGroupDescription=inputs.get("description") or "Managed by Pulumi",
        SubnetIds=inputs["subnetIds"],
        Tags=context.tag_list(),
    )
    return {"id": name, "name": name, "arn": created["DBSubnetGroup"]["DBSubnetGroupArn"]}


# Pulumi's input, the RDS parameter, for what `create_db_instance` and the replica call both take.
RDS_COMMON = {
    "instanceClass": "DBInstanceClass",
    "dbSubnetGroupName": "DBSubnetGroupName",
    "vpcSecurityGroupIds": "VpcSecurityGroupIds",
    "publiclyAccessible": "PubliclyAccessible",
    "kmsKeyId": "KmsKeyId",
    "multiAz": "MultiAZ",
    "port": "Port",
    "storageType": "StorageType",
    "deletionProtection": "DeletionProtection",
    "copyTagsToSnapshot": "CopyTagsToSnapshot",
    "autoMinorVersionUpgrade": "AutoMinorVersionUpgrade",
}
RDS_PRIMARY = {
    "engine": "Engine",
    "engineVersion": "EngineVersion",
    "allocatedStorage": "AllocatedStorage",
    "dbName": "DBName",
    "username": "MasterUsername",
    "storageEncrypted": "StorageEncrypted",
    "backupRetentionPeriod": "BackupRetentionPeriod",
    "backupWindow": "PreferredBackupWindow",
    "maintenanceWindow": "PreferredMaintenanceWindow",
}


def _pick(inputs: Outputs, names: dict[str, str]) -> dict[str, Any]:
    return {api: inputs[pulumi] for pulumi, api in names.items() if inputs.get(pulumi) is not None}


def rds_instance(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    """A database, or a (cross-region) read replica when the plan names `replicateSourceDb`."""
    rds = context.client("rds")
    identifier = inputs.get("identifier") or resource.outputs.get("identifier") or resource.name
    args = {"DBInstanceIdentifier": identifier, "Tags": context.tag_list(), **_pick(inputs, RDS_COMMON)}
    if inputs.get("replicateSourceDb"):
        created = _replica(context, resource, inputs, args)
        # A replica takes its retention after creation, as the AWS provider sets it.
        if inputs.get("backupRetentionPeriod") is not None:
            rds.modify_db_instance(
                DBInstanceIdentifier=identifier, BackupRetentionPeriod=inputs["backupRetentionPeriod"]
            )
    else:
        password = inputs.get("password") or PLACEHOLDER_PASSWORD
        args |= _pick(inputs, RDS_PRIMARY) | {"MasterUserPassword": password}
        created = rds.create_db_instance(**args)["DBInstance"]
    return {"id": identifier, "identifier": identifier, "arn": created["DBInstanceArn"], **_endpoint(created)}


def _replica(context: Context, resource: Resource, inputs: Outputs, args: dict[str, Any]) -> dict[str, Any]:
    """A read replica of `replicateSourceDb`. moto models a cross-region replica as a copy of its source that
    keeps the source's region, so it cannot take a subnet group of its own region; there the replica is
    created as an instance of the source's engine with the replica's own settings, and a note says so."""
    rds = context.client("rds")
    source = str(inputs["replicateSourceDb"])
    try:
        return rds.create_db_instance_read_replica(SourceDBInstanceIdentifier=source, **args)["DBInstance"]
    except rds.exceptions.DBSubnetGroupNotFoundFault:
        source_region = source.split(":")[3] if source.startswith("arn:") else context.region
        if source_region == context.region:
            raise
    primary = context.client("rds", source_region).describe_db_instances(DBInstanceIdentifier=source)["DBInstances"][0]
    context.notes.append(
        f"{resource.name}: the endpoint cannot place a cross-region read replica in {context.region}'s subnet "
        "group (moto keeps a replica in its source's region); created as a standalone instance with the "
        "replica's settings instead"
    )
    standalone = {
        "Engine": primary["Engine"],
        "EngineVersion": primary["EngineVersion"],
        "AllocatedStorage": primary["AllocatedStorage"],
        "MasterUsername": primary["MasterUsername"],
        "MasterUserPassword": PLACEHOLDER_PASSWORD,
        "StorageEncrypted": bool(inputs.get("storageEncrypted")),
    }
    return rds.create_db_instance(**args, **standalone)["DBInstance"]


def _endpoint(instance: dict[str, Any]) -> Outputs:
    endpoint = instance.get("Endpoint") or {}
    if not endpoint.get("Address"):
        return {}
    return {"address": endpoint["Address"], "endpoint": f"{endpoint['Address']}:{endpoint.get('Port', '')}"}


def cache_subnet_group(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    name = physical_name(resource, inputs)
    created = context.client("elasticache").create_cache_subnet_group(
        CacheSubnetGroupName=name,
        CacheSubnetGroupDescription=inputs.get("description") or "Managed by Pulumi",
        SubnetIds=inputs["subnetIds"],
        Tags=context.tag_list(),
    )
    return {"id": name, "name": name, "arn": created["CacheSubnetGroup"].get("ARN")}


CACHE_PARAMETERS = {
    "description": "ReplicationGroupDescription",
    "engine": "Engine",
    "engineVersion": "EngineVersion",
    "nodeType": "CacheNodeType",
    "numCacheClusters": "NumCacheClusters",
    "automaticFailoverEnabled": "AutomaticFailoverEnabled",
    "multiAzEnabled": "MultiAZEnabled",
    "subnetGroupName": "CacheSubnetGroupName",
    "securityGroupIds": "SecurityGroupIds",
    "port": "Port",
    "atRestEncryptionEnabled": "AtRestEncryptionEnabled",
    "transitEncryptionEnabled": "TransitEncryptionEnabled",
    "transitEncryptionMode": "TransitEncryptionMode",
    "kmsKeyId": "KmsKeyId",
    "authToken": "AuthToken",
    "snapshotRetentionLimit": "SnapshotRetentionLimit",
    "maintenanceWindow": "PreferredMaintenanceWindow",
}


def replication_group(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    group_id = inputs.get("replicationGroupId") or resource.outputs.get("replicationGroupId") or resource.name
    args = {"ReplicationGroupId": group_id, "Tags": context.tag_list(), **_pick(inputs, CACHE_PARAMETERS)}
    if "authToken" in inputs and not inputs["authToken"]:
        args["AuthToken"] = PLACEHOLDER_PASSWORD
    created = context.client("elasticache").create_replication_group(**args)["ReplicationGroup"]
    return {"id": group_id, "replicationGroupId": group_id, "arn": created.get("ARN")}


def _create_table(context: Context, region: str, inputs: Outputs, *, kms_key: str | None, pitr: bool) -> str:
    dynamodb = context.client("dynamodb", region)
    keys = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
    if inputs.get("rangeKey"):
        keys.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
    args: dict[str, Any] = {
        "TableName": inputs["name"],
        "AttributeDefinitions": [
            {"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs["attributes"]
        ],
        "KeySchema": keys,
        "BillingMode": inputs.get("billingMode") or "PROVISIONED",
        "Tags": context.tag_list(),
        "DeletionProtectionEnabled": bool(inputs.get("deletionProtectionEnabled")),
    }
    if args["BillingMode"] == "PROVISIONED":
        args["ProvisionedThroughput"] = {
            "ReadCapacityUnits": int(inputs.get("readCapacity") or 1),
            "WriteCapacityUnits": int(inputs.get("writeCapacity") or 1),
        }
    sse = inputs.get("serverSideEncryption") or {}
    if sse.get("enabled"):
        args["SSESpecification"] = {
            "Enabled": True,
            "SSEType": "KMS",
            **({"KMSMasterKeyId": kms_key} if kms_key else {}),
        }
    if inputs.get("streamEnabled"):
        args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": inputs["streamViewType"]}
    arn = dynamodb.create_table(**args)["TableDescription"]["TableArn"]
    if pitr:
        dynamodb.update_continuous_backups(
            TableName=inputs["name"], PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    ttl = inputs.get("ttl") or {}
    if ttl.get("enabled"):
        dynamodb.update_time_to_live(
            TableName=inputs["name"], TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]}
        )
    return str(arn)


def dynamodb_table(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    """A table, and each of its global-table replicas. moto has no global tables (`ReplicaUpdates`), so each
    replica is created as the table of the same name in its region, with the replica's own key, PITR and
    (propagated) tags, which is what AWS shows there; replication itself is not modelled."""
    sse = inputs.get("serverSideEncryption") or {}
    pitr = bool((inputs.get("pointInTimeRecovery") or {}).get("enabled"))
    arn = _create_table(context, context.region, inputs, kms_key=sse.get("kmsKeyArn"), pitr=pitr)
    for replica in inputs.get("replicas") or []:
        _create_table(
            context,
            replica["regionName"],
            inputs,
            kms_key=replica.get("kmsKeyArn"),
            pitr=bool(replica.get("pointInTimeRecovery")),
        )
    return {"id": inputs["name"], "name": inputs["name"], "arn": arn}


def secret(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    name = physical_name(resource, inputs)
    args: dict[str, Any] = {"Name": name, "Tags": context.tag_list()}
    for pulumi_name, api in (("description", "Description"), ("kmsKeyId", "KmsKeyId")):
        if inputs.get(pulumi_name):
            args[api] = inputs[pulumi_name]
    created = context.client("secretsmanager").create_secret(**args)
    return {"id": created["ARN"], "arn": created["ARN"], "name": name}


def secret_version(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    value = inputs.get("secretString")
    # A preview or an export holds no plain secret; the version still exists, with a placeholder value.
    text = value if isinstance(value, str) else json.dumps(value) if value is not None else PLACEHOLDER_PASSWORD
    created = context.client("secretsmanager").put_secret_value(SecretId=inputs["secretId"], SecretString=text)
    return {"id": f"{created['ARN']}|{created['VersionId']}", "arn": created["ARN"]}


def log_group(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    logs = context.client("logs")
    name = physical_name(resource, inputs)
    args: dict[str, Any] = {"logGroupName": name, "tags": context.tags}
    if inputs.get("kmsKeyId"):
        args["kmsKeyId"] = inputs["kmsKeyId"]
    logs.create_log_group(**args)
    if inputs.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(inputs["retentionInDays"]))
    arn = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["arn"]
    return {"id": name, "name": name, "arn": arn.removesuffix(":*")}


HANDLERS: dict[str, Handler] = {
    "aws:kms/key:Key": kms_key,
    "aws:kms/alias:Alias": kms_alias,
    "aws:rds/subnetGroup:SubnetGroup": rds_subnet_group,
    "aws:rds/instance:Instance": rds_instance,
    "aws:elasticache/subnetGroup:SubnetGroup": cache_subnet_group,
    "aws:elasticache/replicationGroup:ReplicationGroup": replication_group,
    "aws:dynamodb/table:Table": dynamodb_table,
    "aws:secretsmanager/secret:Secret": secret,
    "aws:secretsmanager/secretVersion:SecretVersion": secret_version,
    "aws:cloudwatch/logGroup:LogGroup": log_group,
}
