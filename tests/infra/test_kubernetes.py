"""The Pulumi program (`infra/__main__.py`, target `kubernetes`) run for real under Pulumi mocks, once per stack in
`stacks/`: the plan holds one typed resource per manifest, parented by the component, whose inputs equal the
manifests that `deploy/kubernetes/` holds as YAML, so `pulumi up` and `kubectl apply -k` create the same objects."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pulumi
import pytest
import yaml

from infra.kubernetes.app import KINDS, OVERRIDES, SECRETS, ParleyKubernetesArgs, args_from, objects
from infra.kubernetes.config import APP_NAME, Environment, KubernetesConfig, preset
from infra.kubernetes.kustomize import Key, key
from infra.plan import Plan, Resource, Secret, run_stack
from infra.plan.config import load_project, stack_config
from infra.plan.values import reveal

ROOT = Path(__file__).resolve().parents[2]
PROJECT = load_project()
STACKS = PROJECT.stacks()
KUBERNETES_STACKS = sorted(
    name for name, path in STACKS.items() if yaml.safe_load(path.read_text())["config"]["parley:target"] == "kubernetes"
)
PROD_SECRETS = {
    "parley:secretKey": "a-real-secret-key-of-at-least-32-characters-0123",
    "parley:databaseUrl": "postgresql+asyncpg://parley:pw@db.internal:5432/parley",
    "parley:busUrl": "rediss://:pw@cache.internal:6379/0",
}


def run_program(stack: str, extra: dict[str, str | Secret] | None = None, *, secrets: bool = True) -> Plan:
    """The stack's plan, with prod's secrets given as `pulumi config set --secret` would (or none at all)."""
    given: dict[str, str | Secret] = (
        {k: Secret(v) for k, v in PROD_SECRETS.items()} if secrets and "prod" in stack else {}
    )
    return run_stack(stack, config_overrides={**given, **(extra or {})}, stand_in_secrets=secrets)


def kubernetes(plan: Plan) -> dict[Key, Resource]:
    """The cluster objects, keyed like manifests: (apiVersion, kind, name)."""
    return {key(r.inputs): r for r in plan.resources if r.type.startswith("kubernetes:") and "metadata" in r.inputs}


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {stack: run_program(stack) for stack in KUBERNETES_STACKS}


@pytest.fixture(scope="module")
def configs() -> dict[str, ParleyKubernetesArgs]:
    """The component's arguments each stack's configuration yields, with the secrets as plain values. Reading
    a secret makes a Pulumi Output, which needs an event loop: this thread gets one of its own meanwhile."""
    found = {}
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        for stack in KUBERNETES_STACKS:
            given = PROD_SECRETS if "prod" in stack else {}
            pulumi.runtime.set_all_config(stack_config(PROJECT, stack).values | given)
            args = args_from(pulumi.Config("parley"))
            plain = {SECRETS[k.removeprefix("parley:")]: v for k, v in given.items()}
            found[stack] = dataclasses.replace(args, secrets=plain)
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    return found


@pytest.fixture(autouse=True, scope="module")
def _fresh_config() -> Iterator[None]:
    """Leave no stack's configuration behind for other test modules."""
    yield
    pulumi.runtime.set_all_config({})


def test_the_stacks_of_the_kubernetes_target_are_dev_and_prod() -> None:
    assert KUBERNETES_STACKS == ["k8s-dev", "k8s-prod"]


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_every_manifest_becomes_one_resource_whose_inputs_are_that_manifest(
    stack: str, plans: dict[str, Plan], configs: dict[str, ParleyKubernetesArgs]
) -> None:
    """The same source: the Pulumi inputs equal the manifests (the Secret carrying the stack's secrets)."""
    wanted = {key(m): m for m in objects(configs[stack])}
    created = kubernetes(plans[stack])
    assert created.keys() == wanted.keys()
    for object_key, manifest in wanted.items():
        assert reveal(created[object_key].inputs) == manifest, object_key


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_the_inputs_are_the_yaml_manifests_of_the_environment(stack: str, plans: dict[str, Plan]) -> None:
    """Against the committed kustomize files' source (`preset`), only the stack's own settings differ."""
    environment: Environment = "prod" if "prod" in stack else "dev"
    created = kubernetes(plans[stack])
    # The stacks set their own secrets; prod's narrows datastoreCidr, which only the app's policies use.
    own = {"Secret", "ServiceMonitor"} | ({"NetworkPolicy"} if environment == "prod" else set())
    for manifest in objects(ParleyKubernetesArgs(config=preset(environment))):
        if manifest["kind"] in own and manifest["metadata"]["name"] != "default-deny":
            continue
        assert reveal(created[key(manifest)].inputs) == manifest, key(manifest)


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_every_object_is_a_typed_child_of_the_component(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    component = plan.one("parley:kubernetes:Parley")
    assert component.name == APP_NAME
    for resource in kubernetes(plan).values():
        assert resource.parent == component.urn
        assert resource.name.startswith(f"{APP_NAME}-")
        api_version, kind = resource.inputs["apiVersion"], resource.inputs["kind"]
        assert resource.type == f"kubernetes:{api_version if '/' in api_version else 'core/' + api_version}:{kind}"
        assert (api_version, kind) in KINDS or kind == "ServiceMonitor"


def test_resource_counts(plans: dict[str, Plan]) -> None:
    counts = {stack: len(plan.resources) for stack, plan in plans.items()}
    # dev: 17 objects with in-cluster PostgreSQL and Redis; prod: 12 objects and the ServiceMonitor. Plus the
    # component itself.
    assert counts == {"k8s-dev": 18, "k8s-prod": 14}


def test_autoscaling_and_disruption_budget_only_in_prod(plans: dict[str, Plan]) -> None:
    kinds = {stack: {k for _, k, _ in kubernetes(plan)} for stack, plan in plans.items()}
    assert {"HorizontalPodAutoscaler", "PodDisruptionBudget"} <= kinds["k8s-prod"]
    assert not {"HorizontalPodAutoscaler", "PodDisruptionBudget"} & kinds["k8s-dev"]
    assert {"StatefulSet"} <= kinds["k8s-dev"] and "StatefulSet" not in kinds["k8s-prod"]
    prod = kubernetes(plans["k8s-prod"])
    hpa = prod[("autoscaling/v2", "HorizontalPodAutoscaler", APP_NAME)].inputs["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 10)
    assert {m["resource"]["name"] for m in hpa["metrics"]} == {"cpu", "memory"}
    assert "replicas" not in prod[("apps/v1", "Deployment", APP_NAME)].inputs["spec"]
    dev = kubernetes(plans["k8s-dev"])
    assert dev[("apps/v1", "Deployment", APP_NAME)].inputs["spec"]["replicas"] == 2


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_the_server_pods_are_locked_down_and_probed(stack: str, plans: dict[str, Plan]) -> None:
    pod = kubernetes(plans[stack])[("apps/v1", "Deployment", APP_NAME)].inputs["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["lifecycle"]["preStop"]["exec"]["command"][0] == "python3"


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_network_policies_deny_by_default(stack: str, plans: dict[str, Plan]) -> None:
    created = kubernetes(plans[stack])
    deny = created[("networking.k8s.io/v1", "NetworkPolicy", "default-deny")].inputs["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    server = created[("networking.k8s.io/v1", "NetworkPolicy", APP_NAME)].inputs["spec"]
    sources = [peer["namespaceSelector"]["matchLabels"] for rule in server["ingress"] for peer in rule["from"]]
    assert sources == [{"kubernetes.io/metadata.name": "ingress-nginx"}, {"kubernetes.io/metadata.name": "monitoring"}]
    ports = {port["port"] for rule in server["egress"] for port in rule["ports"]}
    assert ports == {5432, 6379, 53}
    if "prod" in stack:
        cidrs = {peer["ipBlock"]["cidr"] for rule in server["egress"] for peer in rule.get("to", [])}
        assert cidrs == {"10.0.0.0/8"}


def test_secrets_reach_the_cluster_as_pulumi_secrets(plans: dict[str, Plan]) -> None:
    inputs = kubernetes(plans["k8s-prod"])[("v1", "Secret", APP_NAME)].inputs
    assert isinstance(inputs["stringData"], Secret)
    assert reveal(inputs["stringData"]) == {
        "PARLEY_SECRET_KEY": PROD_SECRETS["parley:secretKey"],
        "PARLEY_DATABASE_URL": PROD_SECRETS["parley:databaseUrl"],
        "PARLEY_BUS_URL": PROD_SECRETS["parley:busUrl"],
    }


def test_prod_refuses_to_deploy_without_its_secrets() -> None:
    with pytest.raises(Exception, match="secretKey"):
        run_program("k8s-prod", secrets=False)


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_the_server_waits_for_the_migration_which_waits_for_its_configuration(
    stack: str, plans: dict[str, Plan]
) -> None:
    created = kubernetes(plans[stack])
    job = created[("batch/v1", "Job", f"{APP_NAME}-migrate")]
    server = created[("apps/v1", "Deployment", APP_NAME)]
    namespace = created[("v1", "Namespace", APP_NAME)]
    configuration = {created[("v1", "ConfigMap", APP_NAME)].urn, created[("v1", "Secret", APP_NAME)].urn}
    assert job.urn in server.dependencies
    assert configuration <= set(job.dependencies)
    if "dev" in stack:
        assert created[("apps/v1", "StatefulSet", "postgres")].urn in job.dependencies
    assert all(namespace.urn in r.dependencies for r in created.values() if r is not namespace)


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_the_component_registers_real_outputs(stack: str, plans: dict[str, Plan]) -> None:
    host = yaml.safe_load(STACKS[stack].read_text())["config"]["parley:host"]
    assert plans[stack].outputs == {"namespace": APP_NAME, "service": APP_NAME, "url": f"https://{host}"}


def test_the_ambient_cluster_is_used_unless_a_kubeconfig_is_given(plans: dict[str, Plan]) -> None:
    assert not [r for r in plans["k8s-dev"].resources if r.type == "pulumi:providers:kubernetes"]
    plan = run_program(
        "k8s-dev", {"parley:kubeconfig": Secret("apiVersion: v1\nkind: Config\n"), "parley:kubeContext": "eks"}
    )
    provider = plan.one("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == "eks"
    assert all(r.provider.startswith(provider.urn) for r in kubernetes(plan).values())


def test_an_unknown_target_is_refused() -> None:
    with pytest.raises(Exception, match=r"'mainframe' is not one of ([\w-]+, )*kubernetes"):
        run_program("k8s-dev", {"parley:target": "mainframe"})


def test_pulumi_yaml_declares_every_setting_the_program_reads() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert (project["name"], project["main"], project["stackConfigDir"]) == ("parley", "infra/", "stacks")
    assert project["runtime"] == {"name": "python", "options": {"virtualenv": ".venv"}}
    schema = project["config"]
    read = {*OVERRIDES, "target", "environment", "serviceMonitor", "kubeContext"}
    assert read <= schema.keys()
    defaults = KubernetesConfig(environment="dev")
    for config_key, attribute in OVERRIDES.items():
        default = schema[config_key]["default"]
        assert default in ("", 0) or default == getattr(defaults, attribute), config_key
    for path in STACKS.values():
        keys = yaml.safe_load(path.read_text())["config"]
        assert {k.removeprefix("parley:") for k in keys if k.startswith("parley:")} <= schema.keys(), path.name
