"""Materialise what runs the service and what it may do: IAM roles and policies, the ECS cluster, task
definitions and service."""

from __future__ import annotations

import json
from typing import Any

from infra.plan.model import Resource
from infra.verify.materialise import Context, Handler, Outputs, physical_name


def _document(value: Any) -> str:
    """A policy document as IAM takes it: text (the plan holds it as JSON text or, from some readers, parsed)."""
    return value if isinstance(value, str) else json.dumps(value)


def role(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    name = physical_name(resource, inputs)
    args: dict[str, Any] = {
        "RoleName": name,
        "AssumeRolePolicyDocument": _document(inputs["assumeRolePolicy"]),
        "Tags": context.tag_list(),
    }
    for pulumi_name, api in (("description", "Description"), ("path", "Path")):
        if inputs.get(pulumi_name):
            args[api] = inputs[pulumi_name]
    created = context.client("iam").create_role(**args)["Role"]
    return {"id": name, "name": name, "arn": created["Arn"]}


def role_policy(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    name = physical_name(resource, inputs)
    context.client("iam").put_role_policy(
        RoleName=inputs["role"], PolicyName=name, PolicyDocument=_document(inputs["policy"])
    )
    return {"id": f"{inputs['role']}:{name}", "name": name}


def role_policy_attachment(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    context.client("iam").attach_role_policy(RoleName=inputs["role"], PolicyArn=inputs["policyArn"])
    return {"id": f"{inputs['role']}-{inputs['policyArn']}"}


def cluster(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    name = physical_name(resource, inputs)
    settings = inputs.get("settings") or []
    created = context.client("ecs").create_cluster(
        clusterName=name,
        settings=[{"name": s["name"], "value": s["value"]} for s in settings],
        tags=context.tag_list("key", "value"),
    )["cluster"]
    return {"id": created["clusterArn"], "arn": created["clusterArn"], "name": name}


TASK_FIELDS = {
    "family": "family",
    "cpu": "cpu",
    "memory": "memory",
    "networkMode": "networkMode",
    "requiresCompatibilities": "requiresCompatibilities",
    "executionRoleArn": "executionRoleArn",
    "taskRoleArn": "taskRoleArn",
    "runtimePlatform": "runtimePlatform",
}


def task_definition(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    # ECS's API is camelCase like Pulumi's inputs; the containers are JSON text whose stand-ins (secret ARNs,
    # log groups) need resolving too.
    containers = context.resolve(json.loads(inputs["containerDefinitions"]))
    args: dict[str, Any] = {api: inputs[name] for name, api in TASK_FIELDS.items() if inputs.get(name) is not None}
    args["containerDefinitions"] = containers
    args["volumes"] = [{"name": v["name"]} for v in inputs.get("volumes") or []]
    args["tags"] = context.tag_list("key", "value")
    created = context.client("ecs").register_task_definition(**args)["taskDefinition"]
    arn = created["taskDefinitionArn"]
    return {"id": arn, "arn": arn, "arnWithoutRevision": arn.rsplit(":", 1)[0]}


def service(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    name = physical_name(resource, inputs)
    args: dict[str, Any] = {
        "cluster": inputs["cluster"],
        "serviceName": name,
        "taskDefinition": inputs["taskDefinition"],
        "desiredCount": int(inputs.get("desiredCount", 1)),
        "tags": context.tag_list("key", "value"),
    }
    if inputs.get("launchType"):
        args["launchType"] = inputs["launchType"]
    network = inputs.get("networkConfiguration")
    if network:
        args["networkConfiguration"] = {
            "awsvpcConfiguration": {
                "subnets": network.get("subnets") or [],
                "securityGroups": network.get("securityGroups") or [],
                "assignPublicIp": "ENABLED" if network.get("assignPublicIp") else "DISABLED",
            }
        }
    args["loadBalancers"] = [
        {
            "targetGroupArn": lb["targetGroupArn"],
            "containerName": lb["containerName"],
            "containerPort": lb["containerPort"],
        }
        for lb in inputs.get("loadBalancers") or []
    ]
    if inputs.get("propagateTags"):
        args["propagateTags"] = inputs["propagateTags"]
    created = context.client("ecs").create_service(**args)["service"]
    return {"id": created["serviceArn"], "arn": created["serviceArn"], "name": name}


HANDLERS: dict[str, Handler] = {
    "aws:iam/role:Role": role,
    "aws:iam/rolePolicy:RolePolicy": role_policy,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": role_policy_attachment,
    "aws:ecs/cluster:Cluster": cluster,
    "aws:ecs/taskDefinition:TaskDefinition": task_definition,
    "aws:ecs/service:Service": service,
}
