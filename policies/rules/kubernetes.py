"""Kubernetes rules: pods run unprivileged, and only the Ingress faces the internet, over TLS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.model import ResourceView
from policies.props import as_dict, as_list, get, is_false, is_true
from policies.registry import resource_rule
from policies.rules.common import POD_OWNERS, containers, pod_spec

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
SERVICE = "kubernetes:core/v1:Service"
NAMESPACE = "kubernetes:core/v1:Namespace"
WEB_PORTS = {80, 443}


def _security(container: Mapping[str, Any]) -> Mapping[str, Any]:
    return as_dict(container.get("securityContext"))


@resource_rule(
    "k8s-non-root",
    description="Containers run as a non-root user.",
    enforcement="mandatory",
    severity="high",
    types=POD_OWNERS,
    remediation="Set securityContext.runAsNonRoot=true and a non-zero runAsUser on the pod (or each container).",
)
def non_root(view: ResourceView) -> list[str]:
    spec = pod_spec(view)
    pod = as_dict(spec.get("securityContext"))
    problems = []
    for container in containers(spec):
        # A container's own setting wins over the pod's, as the kubelet applies them.
        non_root = _security(container).get("runAsNonRoot", pod.get("runAsNonRoot"))
        user = _security(container).get("runAsUser", pod.get("runAsUser"))
        if user == 0 or (not is_true(non_root) and user is None):
            problems.append(f"container {container.get('name', '?')} may run as root")
    return problems


@resource_rule(
    "k8s-read-only-root",
    description="Containers have a read-only root filesystem.",
    enforcement="mandatory",
    severity="medium",
    types=POD_OWNERS,
    remediation="Set securityContext.readOnlyRootFilesystem=true and mount an emptyDir where the process writes.",
)
def read_only_root(view: ResourceView) -> list[str]:
    return [
        f"container {c.get('name', '?')} has a writable root filesystem"
        for c in containers(pod_spec(view))
        if not is_true(_security(c).get("readOnlyRootFilesystem"))
    ]


@resource_rule(
    "k8s-no-privilege-escalation",
    description="Containers are unprivileged, cannot escalate and drop every capability.",
    enforcement="mandatory",
    severity="high",
    types=POD_OWNERS,
    remediation="Set securityContext.allowPrivilegeEscalation=false, capabilities.drop=['ALL'] and no "
    "privileged: true.",
)
def no_privilege_escalation(view: ResourceView) -> list[str]:
    problems = []
    for container in containers(pod_spec(view)):
        name, security = container.get("name", "?"), _security(container)
        if is_true(security.get("privileged")):
            problems.append(f"container {name} is privileged")
        if not is_false(security.get("allowPrivilegeEscalation")):
            problems.append(f"container {name} may escalate privileges")
        if "ALL" not in as_list(get(security, "capabilities.drop")):
            problems.append(f"container {name} keeps Linux capabilities (drop ALL)")
    return problems


@resource_rule(
    "k8s-resource-limits",
    description="Containers declare CPU and memory requests and limits.",
    enforcement="advisory",
    severity="medium",
    types=POD_OWNERS,
    remediation="Set resources.requests and resources.limits for cpu and memory on each container.",
)
def resource_limits(view: ResourceView) -> list[str]:
    problems = []
    for container in containers(pod_spec(view)):
        for kind in ("requests", "limits"):
            missing = [r for r in ("cpu", "memory") if not get(container, f"resources.{kind}.{r}")]
            if missing:
                problems.append(f"container {container.get('name', '?')} has no {kind} for {', '.join(missing)}")
    return problems


@resource_rule(
    "k8s-image-pinned",
    description="Images name a version, never :latest or no tag.",
    enforcement="advisory",
    severity="low",
    types=POD_OWNERS,
    remediation="Use image: registry/name:1.2.3 or a digest (@sha256:...).",
)
def image_pinned(view: ResourceView) -> list[str]:
    problems = []
    for container in containers(pod_spec(view)):
        image = str(container.get("image", ""))
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        if "@sha256:" not in image and tag in ("", "latest"):
            problems.append(f"container {container.get('name', '?')} uses image {image or '(none)'} without a version")
    return problems


@resource_rule(
    "k8s-ingress-tls",
    description="Ingresses terminate TLS for every host and redirect HTTP to HTTPS.",
    enforcement="mandatory",
    severity="high",
    types=(INGRESS,),
    remediation="List every rule's host under spec.tls with a certificate secret; do not set the "
    "ssl-redirect annotation to 'false'.",
)
def ingress_tls(view: ResourceView) -> list[str]:
    covered = {h for entry in as_list(get(view.props, "spec.tls")) for h in as_list(as_dict(entry).get("hosts"))}
    hosts = [as_dict(r).get("host") for r in as_list(get(view.props, "spec.rules"))]
    problems = [f"host {host or '(any)'} is served without TLS" for host in hosts if host not in covered]
    if not as_list(get(view.props, "spec.tls")) and not problems:
        problems.append("spec.tls is empty")
    annotations = as_dict(get(view.props, "metadata.annotations"))
    if any(is_false(v) for k, v in annotations.items() if k.endswith("/ssl-redirect")):
        problems.append("ssl-redirect is turned off")
    return problems


@resource_rule(
    "k8s-service-exposure",
    description="Services exposed outside the cluster (LoadBalancer, NodePort) serve only 80 and 443.",
    enforcement="mandatory",
    severity="high",
    types=(SERVICE,),
    remediation="Keep the Service ClusterIP and publish it through the Ingress; an external load balancer may "
    "expose only 80/443.",
)
def service_exposure(view: ResourceView) -> list[str]:
    kind = get(view.props, "spec.type", "ClusterIP")
    if kind == "NodePort":
        return ["a NodePort Service opens a port on every node"]
    if kind != "LoadBalancer":
        return []
    ports = [as_dict(p).get("port") for p in as_list(get(view.props, "spec.ports"))]
    return [f"the LoadBalancer Service exposes port {p}" for p in ports if p not in WEB_PORTS]


@resource_rule(
    "k8s-namespace-pod-security",
    description="Namespaces enforce the restricted (or baseline) Pod Security Standard.",
    enforcement="mandatory",
    severity="medium",
    types=(NAMESPACE,),
    remediation="Label the namespace pod-security.kubernetes.io/enforce=restricted.",
)
def namespace_pod_security(view: ResourceView) -> list[str]:
    level = as_dict(get(view.props, "metadata.labels")).get("pod-security.kubernetes.io/enforce")
    return (
        [] if level in ("restricted", "baseline") else [f"pod-security.kubernetes.io/enforce is {level or 'not set'}"]
    )
