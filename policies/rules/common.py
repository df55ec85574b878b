"""Rules every cloud shares: credentials never travel in plain configuration."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.model import ResourceView
from policies.props import as_dict, as_list, get, json_list, named_values, plain_secret
from policies.registry import resource_rule

POD_OWNERS = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:Job",
    "kubernetes:batch/v1:CronJob",
    "kubernetes:core/v1:Pod",
)


def pod_spec(view: ResourceView) -> Mapping[str, Any]:
    """The pod spec of a workload object (a Pod's own spec, a CronJob's job template's)."""
    if view.type == "kubernetes:core/v1:Pod":
        return as_dict(get(view.props, "spec"))
    if view.type == "kubernetes:batch/v1:CronJob":
        return as_dict(get(view.props, "spec.jobTemplate.spec.template.spec"))
    return as_dict(get(view.props, "spec.template.spec"))


def containers(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [as_dict(c) for c in as_list(spec.get("initContainers")) + as_list(spec.get("containers"))]


def plain_settings(view: ResourceView) -> Iterator[tuple[str, Any]]:
    """(name, literal value) of every plain environment setting the resource hands its code."""
    if view.type == "aws:lambda/function:Function":
        yield from as_dict(get(view.props, "environment.variables")).items()
    elif view.type == "aws:ecs/taskDefinition:TaskDefinition":
        for container in json_list(view.props.get("containerDefinitions")):
            yield from named_values(as_dict(container).get("environment"))
    elif view.type == "kubernetes:core/v1:ConfigMap":
        yield from as_dict(view.props.get("data")).items()
    elif view.type in POD_OWNERS:
        for container in containers(pod_spec(view)):
            yield from named_values(container.get("env"))
    elif view.type == "azure-native:app:ContainerApp":
        for container in as_list(get(view.props, "template.containers")):
            yield from named_values(as_dict(container).get("env"))
    elif view.type in ("gcp:cloudrunv2/service:Service", "gcp:cloudrunv2/job:Job"):
        template = get(view.props, "template.template") if view.type.endswith("Job") else get(view.props, "template")
        for container in as_list(get(template, "containers")):
            yield from named_values(as_dict(container).get("envs"))


@resource_rule(
    "no-plaintext-secrets",
    description="Passwords, tokens and keys never sit in plain environment settings or config maps.",
    enforcement="mandatory",
    severity="critical",
    types=(
        "aws:lambda/function:Function",
        "aws:ecs/taskDefinition:TaskDefinition",
        "kubernetes:core/v1:ConfigMap",
        *POD_OWNERS,
        "azure-native:app:ContainerApp",
        "gcp:cloudrunv2/service:Service",
        "gcp:cloudrunv2/job:Job",
    ),
    remediation="Keep the value in the cloud's secret store and pass a reference: ECS 'secrets' valueFrom, a "
    "Lambda reading <NAME>_ARN from Secrets Manager, a Kubernetes Secret via secretKeyRef/envFrom, an Azure "
    "Container App secretRef, a Cloud Run valueSource.secretKeyRef.",
)
def no_plaintext_secrets(view: ResourceView) -> list[str]:
    return [
        f"setting {name} holds a credential in plain text"
        for name, value in plain_settings(view)
        if plain_secret(name, value)
    ]
