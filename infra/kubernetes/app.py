"""`ParleyKubernetes`: Parley on any Kubernetes cluster (EKS, AKS, GKE, on-premises) from Pulumi.

Each object of `manifests()` becomes one typed pulumi-kubernetes resource with that object as its inputs, so a
`pulumi up` creates exactly what `kubectl apply -k deploy/kubernetes/overlays/<environment>` would. (The
`yaml/v2` ConfigGroup would do the same but is a provider-side component: under mocks it never expands, so
its children could not be tested.) The cluster is the ambient kubeconfig's unless `kubeconfig` is given."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.kubernetes.config import APP_NAME, KubernetesConfig, preset
from infra.kubernetes.kustomize import Key, key
from infra.kubernetes.manifests import manifests
from infra.kubernetes.objects import Manifest
from infra.kubernetes.observability import service_monitor

COMPONENT_TYPE = "parley:kubernetes:Parley"
KINDS: dict[tuple[str, str], type[pulumi.CustomResource]] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "Service"): k8s.core.v1.Service,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("apps/v1", "StatefulSet"): k8s.apps.v1.StatefulSet,
    ("batch/v1", "Job"): k8s.batch.v1.Job,
    ("networking.k8s.io/v1", "Ingress"): k8s.networking.v1.Ingress,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): k8s.autoscaling.v2.HorizontalPodAutoscaler,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
}
# Objects the migration waits for: its configuration and, in dev, the database it migrates.
MIGRATION_NEEDS = {"ConfigMap", "Secret", "StatefulSet", "Service"}


@dataclass(frozen=True)
class ParleyKubernetesArgs:
    """`secrets` replaces values of the `parley` Secret by key (`PARLEY_SECRET_KEY`, `PARLEY_DATABASE_URL`,
    `PARLEY_BUS_URL`), typically with `Config.require_secret` outputs."""

    config: KubernetesConfig
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    service_monitor: bool = False
    kubeconfig: pulumi.Input[str] | None = None
    context: str | None = None


class ParleyKubernetes(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    service: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: ParleyKubernetesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        provider = None
        if args.kubeconfig is not None or args.context is not None:
            provider = k8s.Provider(
                f"{name}-cluster",
                kubeconfig=args.kubeconfig,
                context=args.context,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self._name = name
        self._provider = provider
        self.resources: dict[Key, pulumi.CustomResource] = {}
        for manifest in objects(args):
            self.resources[key(manifest)] = self._create(manifest)

        namespace = self._get("v1", "Namespace", args.config.namespace)
        service = self._get("v1", "Service", APP_NAME)
        ingress = self._get("networking.k8s.io/v1", "Ingress", APP_NAME)
        self.namespace = namespace.metadata.name  # type: ignore[attr-defined]
        self.service = service.metadata.name  # type: ignore[attr-defined]
        self.url = ingress.spec.apply(lambda spec: f"https://{spec.rules[0].host}")  # type: ignore[attr-defined]
        self.register_outputs({"namespace": self.namespace, "service": self.service, "url": self.url})

    def _get(self, api_version: str, kind: str, name: str) -> pulumi.CustomResource:
        return self.resources[(api_version, kind, name)]

    def _depends_on(self, manifest: Manifest) -> list[pulumi.Resource]:
        """Namespaced objects wait for their Namespace; the migration for its configuration and database; the
        server for the migration, so new pods never serve an old schema."""
        kind = manifest["kind"]
        wanted: list[pulumi.Resource] = []
        if kind != "Namespace":
            wanted += [r for (_, k, _), r in self.resources.items() if k == "Namespace"]
        if kind == "Job":
            wanted += [r for (_, k, _), r in self.resources.items() if k in MIGRATION_NEEDS]
        if kind == "Deployment" and manifest["metadata"]["name"] == APP_NAME:
            wanted += [r for (_, k, _), r in self.resources.items() if k == "Job"]
        return wanted

    def _create(self, manifest: Manifest) -> pulumi.CustomResource:
        opts = pulumi.ResourceOptions(parent=self, provider=self._provider, depends_on=self._depends_on(manifest))
        resource_name = f"{self._name}-{manifest['kind'].lower()}-{manifest['metadata']['name']}"
        fields = {_snake(k): v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
        resource_class = KINDS.get((manifest["apiVersion"], manifest["kind"]))
        if resource_class is None:
            return k8s.apiextensions.CustomResource(
                resource_name, api_version=manifest["apiVersion"], kind=manifest["kind"], opts=opts, **fields
            )
        return resource_class(resource_name, opts=opts, **fields)


def objects(args: ParleyKubernetesArgs) -> list[Manifest]:
    """The manifests the component creates: the environment's, its Secret's values replaced by `secrets`, and
    the ServiceMonitor when asked for."""
    found = manifests(args.config) + ([service_monitor(args.config)] if args.service_monitor else [])
    secret = next(m for m in found if m["kind"] == "Secret" and m["metadata"]["name"] == APP_NAME)
    if unknown := set(args.secrets) - set(secret["stringData"]):
        raise ValueError(f"not keys of the parley Secret: {', '.join(sorted(unknown))}")
    secret["stringData"] = {**secret["stringData"], **args.secrets}
    return found


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# Stack configuration (`parley:<key>`) to KubernetesConfig fields. Pulumi.yaml declares each; its defaults are
# empty or zero where the environment's preset decides, and the CLI passes them in, so those mean "unset".
OVERRIDES = {
    "namespace": "namespace",
    "image": "image",
    "host": "host",
    "tlsSecretName": "tls_secret_name",
    "ingressClass": "ingress_class",
    "ingressNamespace": "ingress_namespace",
    "monitoringNamespace": "monitoring_namespace",
    "replicas": "replicas",
    "maxReplicas": "max_replicas",
    "datastoreCidr": "datastore_cidr",
}
SECRETS = {"secretKey": "PARLEY_SECRET_KEY", "databaseUrl": "PARLEY_DATABASE_URL", "busUrl": "PARLEY_BUS_URL"}


def args_from(config: pulumi.Config) -> ParleyKubernetesArgs:
    """`parley:environment` picks the preset (`dev` or `prod`), the other keys adjust it. Production refuses
    to deploy without its three secrets, so placeholders never reach a real cluster from Pulumi."""
    environment = config.get("environment") or "dev"
    if environment not in ("dev", "prod"):
        raise ValueError(f"parley:environment must be dev or prod, not {environment!r}")
    base = preset(environment)  # type: ignore[arg-type]
    changes: dict[str, Any] = {}
    for config_key, attribute in OVERRIDES.items():
        value = config.get_int(config_key) if isinstance(getattr(base, attribute), int) else config.get(config_key)
        if value:
            changes[attribute] = value
    read = config.require_secret if environment == "prod" else config.get_secret
    secrets = {variable: read(config_key) for config_key, variable in SECRETS.items()}
    return ParleyKubernetesArgs(
        config=dataclasses.replace(base, **changes),
        secrets={variable: value for variable, value in secrets.items() if value is not None},
        service_monitor=config.get_bool("serviceMonitor") or False,
        kubeconfig=config.get_secret("kubeconfig"),
        context=config.get("kubeContext") or None,
    )


def deploy(config: pulumi.Config) -> None:
    """The `kubernetes` target of `infra/__main__.py`."""
    parley = ParleyKubernetes(APP_NAME, args_from(config))
    pulumi.export("namespace", parley.namespace)
    pulumi.export("service", parley.service)
    pulumi.export("url", parley.url)
