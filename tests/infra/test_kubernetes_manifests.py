"""The Kubernetes manifests (`infra/kubernetes/`) and the files rendered from them (`deploy/kubernetes/`): the
committed files are what the generator writes, kustomize builds each overlay into exactly its environment's
manifests, every object passes `kubernetes-validate --strict`, and the objects say what the app needs."""

from __future__ import annotations

import copy
import fnmatch
import io
import json
import logging
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as validation

from app.metrics import Metrics
from app.settings import Settings
from infra.kubernetes import render
from infra.kubernetes.config import APP_NAME, HTTP_PORT, Environment, preset
from infra.kubernetes.kustomize import json_patch, key
from infra.kubernetes.manifests import PRE_STOP_SECONDS, manifests
from infra.kubernetes.objects import Manifest
from infra.kubernetes.observability import (
    FLUENT_BIT_CONF,
    PARSERS_CONF,
    fluent_bit_config,
    grafana_dashboard,
    prometheus_scrape_config,
    service_monitor,
)

DEPLOY = render.OUT
ENVIRONMENTS: list[Environment] = ["dev", "prod"]
# The oldest Kubernetes the manifests promise to work on, and the newest the validator knows.
VERSIONS = ["1.27.0", validation.latest_version()]
GRACEFUL_SHUTDOWN_SECONDS = 10  # `timeout_graceful_shutdown` of `parley serve`


def by_kind(environment: Environment) -> dict[tuple[str, str], Manifest]:
    return {(m["kind"], m["metadata"]["name"]): m for m in manifests(preset(environment))}


def pod_templates(environment: Environment) -> dict[str, dict[str, Any]]:
    return {
        name: m["spec"]["template"]["spec"]
        for (kind, name), m in by_kind(environment).items()
        if kind in ("Deployment", "StatefulSet", "Job")
    }


# Generated files


def test_the_committed_files_are_what_the_generator_writes() -> None:
    assert render.differences(DEPLOY) == [], "run `python -m infra.kubernetes.render`"


def test_the_check_mode_finds_edited_missing_and_stray_files(tmp_path: Path) -> None:
    assert render.main(["--out", str(tmp_path)]) == 0
    assert render.main(["--check", "--out", str(tmp_path)]) == 0
    (tmp_path / "base" / "deployment-parley.yaml").write_text("edited by hand\n")
    (tmp_path / "overlays" / "prod" / "kustomization.yaml").unlink()
    (tmp_path / "overlays" / "dev" / "stray.yaml").write_text("{}\n")
    assert sorted(render.differences(tmp_path)) == [
        "base/deployment-parley.yaml",
        "overlays/dev/stray.yaml",
        "overlays/prod/kustomization.yaml",
    ]
    assert render.main(["--check", "--out", str(tmp_path)]) == 1
    render.write(tmp_path)
    assert render.differences(tmp_path) == []


def test_the_generator_runs_as_a_module(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "infra.kubernetes.render", "--check", "--out", str(tmp_path)]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "stale: " in result.stderr


# Kustomize


def _kustomize_in_python(folder: Path) -> list[Manifest]:
    """What `kustomize build folder` does with the features the generated files use: resources (files and
    folders) and JSON 6902 patches selected by group, version, kind and name."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    assert set(kustomization) <= {"apiVersion", "kind", "resources", "patches"}
    objects: list[Manifest] = []
    for resource in kustomization["resources"]:
        path = folder / resource
        assert path.exists(), f"{folder.name}/kustomization.yaml names a missing {resource}"
        objects += _kustomize_in_python(path) if path.is_dir() else list(yaml.safe_load_all(path.read_text()))
    for patch in kustomization.get("patches", []):
        target = patch["target"]
        api_version = f"{target['group']}/{target['version']}" if "group" in target else target["version"]
        matches = [m for m in objects if key(m) == (api_version, target["kind"], target["name"])]
        assert len(matches) == 1, f"patch {patch['path']} targets no object"
        for operation in yaml.safe_load((folder / patch["path"]).read_text()):
            _apply(matches[0], operation)
    return objects


def _apply(document: Any, operation: dict[str, Any]) -> None:
    *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in operation["path"].split("/")[1:]]
    for part in parents:
        document = document[int(part) if isinstance(document, list) else part]
    index: Any = int(last) if isinstance(document, list) else last
    if operation["op"] == "remove":
        del document[index]
    elif operation["op"] == "add" and isinstance(document, list):
        document.insert(index, operation["value"])
    else:
        assert operation["op"] in ("add", "replace")
        document[index] = operation["value"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_overlay_read_back_is_its_environment(environment: Environment) -> None:
    built = _kustomize_in_python(DEPLOY / "overlays" / environment)
    assert sorted(map(key, built)) == sorted(key(m) for m in manifests(preset(environment)))
    assert {key(m): m for m in built} == {key(m): m for m in manifests(preset(environment))}


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with its built-in kustomize) is not installed")
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_kubectl_kustomize_builds_each_overlay_into_its_environment(environment: Environment) -> None:
    command = ["kubectl", "kustomize", str(DEPLOY / "overlays" / environment)]
    built = list(yaml.safe_load_all(subprocess.run(command, check=True, capture_output=True, timeout=60).stdout))
    assert {key(m): m for m in built} == {key(m): m for m in manifests(preset(environment))}


def test_the_base_holds_what_both_environments_share() -> None:
    base = yaml.safe_load((DEPLOY / "base" / "kustomization.yaml").read_text())["resources"]
    assert "deployment-parley.yaml" in base and "job-parley-migrate.yaml" in base
    assert not [name for name in base if "postgres" in name or "redis" in name or "horizontal" in name]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"a": {"b/c": 1, "d": 2}}, {"a": {"b/c": 3}}),
        ({"list": [1, 2, 3]}, {"list": [1, 5]}),
        ({"list": [{"x": 1}, {"y": 2}]}, {"list": [{"x": 1}, {"y": 3, "z~": 4}]}),
        ({"a": 1}, {"a": {"nested": True}, "b": None}),
    ],
)
def test_json_patches_turn_one_object_into_the_other(old: dict[str, Any], new: dict[str, Any]) -> None:
    patched = copy.deepcopy(old)
    for operation in json_patch(old, new):
        _apply(patched, operation)
    assert patched == new


# Validation


def _validated_objects() -> list[Manifest]:
    return [*(m for env in ENVIRONMENTS for m in manifests(preset(env))), fluent_bit_config(preset("prod"))]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_passes_strict_validation(version: str) -> None:
    for manifest in _validated_objects():
        validation.validate(manifest, version, strict=True)


def test_strict_validation_refuses_an_unknown_field() -> None:
    deployment = copy.deepcopy(by_kind("dev")[("Deployment", APP_NAME)])
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(validation.ValidationError):
        validation.validate(deployment, VERSIONS[-1], strict=True)


def test_the_command_line_validator_passes_every_committed_object_file() -> None:
    files = [
        path
        for path in DEPLOY.rglob("*.yaml")
        if path.name != "kustomization.yaml" and path.parent.name != "patches" and "servicemonitor" not in path.name
    ]
    files.remove(DEPLOY / "observability" / "prometheus-scrape.yaml")  # Prometheus' own format
    command = [str(Path(sys.executable).with_name("kubernetes-validate")), "--strict", *map(str, files)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARN" not in result.stdout and result.stdout.count("passed") == len(files)


def test_the_service_monitor_selects_the_app_service_and_its_metrics_port() -> None:
    """The validator has no schema for the Prometheus Operator's CRD, so its shape is checked here."""
    config = preset("prod")
    monitor = service_monitor(config)
    committed = yaml.safe_load((DEPLOY / "observability" / "servicemonitor.yaml").read_text())
    assert committed == monitor
    assert (monitor["apiVersion"], monitor["kind"]) == ("monitoring.coreos.com/v1", "ServiceMonitor")
    assert set(monitor) == {"apiVersion", "kind", "metadata", "spec"}
    assert set(monitor["spec"]) == {"selector", "namespaceSelector", "endpoints"}
    service = by_kind("prod")[("Service", APP_NAME)]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [service["metadata"]["namespace"]]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    assert all(re.fullmatch(r"\d+s", endpoint[field]) for field in ("interval", "scrapeTimeout"))


# What the objects say


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_pod_meets_the_restricted_pod_security_standard(environment: Environment) -> None:
    labels = by_kind(environment)[("Namespace", APP_NAME)]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    for name, pod in pod_templates(environment).items():
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["capabilities"] == {"drop": ["ALL"]}, name
            assert container["resources"]["requests"] and container["resources"]["limits"], name
    app_pods = [pod_templates(environment)[n] for n in (APP_NAME, f"{APP_NAME}-migrate")]
    assert all(pod["securityContext"]["runAsUser"] == 10001 for pod in app_pods)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_server_drains_its_sockets_before_it_is_killed(environment: Environment) -> None:
    pod = pod_templates(environment)[APP_NAME]
    (container,) = pod["containers"]
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[:2] == ["python3", "-c"]
    assert f"time.sleep({PRE_STOP_SECONDS})" in command[2]
    assert pod["terminationGracePeriodSeconds"] >= PRE_STOP_SECONDS + GRACEFUL_SHUTDOWN_SECONDS
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {v["name"]: v for v in pod["volumes"]}["tmp"]["emptyDir"]
    spread = {c["topologyKey"] for c in pod["topologySpreadConstraints"]}
    assert spread == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_probes_and_scrape_annotations_use_the_served_port(environment: Environment) -> None:
    deployment = by_kind(environment)[("Deployment", APP_NAME)]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["ports"] == [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}]
    assert container["args"][-2:] == ["--port", str(HTTP_PORT)]
    probes = {name: container[name]["httpGet"] for name in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probes == {
        "startupProbe": {"path": "/healthz", "port": "http"},
        "livenessProbe": {"path": "/healthz", "port": "http"},
        "readinessProbe": {"path": "/readyz", "port": "http"},
    }
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(HTTP_PORT)
    assert annotations["prometheus.io/path"] == "/metrics"


def test_dev_runs_its_datastores_and_prod_autoscales() -> None:
    dev, prod = by_kind("dev"), by_kind("prod")
    assert dev[("Deployment", APP_NAME)]["spec"]["replicas"] == 2
    assert dev[("StatefulSet", "postgres")]["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]
    assert {("Service", "postgres"), ("Service", "redis"), ("Deployment", "redis")} <= dev.keys()
    assert not {k for k in dev if k[0] in ("HorizontalPodAutoscaler", "PodDisruptionBudget")}
    assert not {k for k in prod if k[1] in ("postgres", "redis")}
    # The autoscaler owns the replica count; applying the manifests again must not reset it.
    assert "replicas" not in prod[("Deployment", APP_NAME)]["spec"]
    assert prod[("HorizontalPodAutoscaler", APP_NAME)]["spec"]["scaleTargetRef"]["name"] == APP_NAME
    assert (
        prod[("PodDisruptionBudget", APP_NAME)]["spec"]["selector"]
        == prod[("Deployment", APP_NAME)]["spec"]["selector"]
    )


def test_the_migration_job_cleans_up_after_itself() -> None:
    job = by_kind("prod")[("Job", f"{APP_NAME}-migrate")]
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]
    assert job["spec"]["backoffLimit"] > 0 and job["spec"]["ttlSecondsAfterFinished"] > 0
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_services_select_pods_and_name_their_ports(environment: Environment) -> None:
    objects = by_kind(environment)
    templates = [m["spec"]["template"] for (kind, _), m in objects.items() if kind in ("Deployment", "StatefulSet")]
    for (kind, name), service in objects.items():
        if kind != "Service":
            continue
        (pod,) = [t for t in templates if service["spec"]["selector"].items() <= t["metadata"]["labels"].items()]
        port_names = {p["name"] for c in pod["spec"]["containers"] for p in c["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names, name


def test_the_ingress_keeps_websockets_open_and_terminates_tls() -> None:
    ingress = by_kind("prod")[("Ingress", APP_NAME)]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "3600"
    assert annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"] == "3600"
    assert "nginx.ingress.kubernetes.io/proxy-body-size" in annotations
    (tls,) = ingress["spec"]["tls"]
    assert tls["hosts"] == [rule["host"] for rule in ingress["spec"]["rules"]]
    (path,) = ingress["spec"]["rules"][0]["http"]["paths"]
    assert path["backend"]["service"] == {"name": APP_NAME, "port": {"name": "http"}}


def _egress_ports(policy: Manifest) -> set[int | str]:
    return {port["port"] for rule in policy["spec"]["egress"] for port in rule["ports"]}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_network_policies_allow_only_what_each_component_needs(environment: Environment) -> None:
    objects = by_kind(environment)
    deny = objects[("NetworkPolicy", "default-deny")]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    server = objects[("NetworkPolicy", APP_NAME)]
    assert server["spec"]["podSelector"]["matchLabels"] == preset(environment).selector
    namespaces = [p["namespaceSelector"]["matchLabels"] for r in server["spec"]["ingress"] for p in r["from"]]
    assert [n["kubernetes.io/metadata.name"] for n in namespaces] == ["ingress-nginx", "monitoring"]
    assert {port["port"] for r in server["spec"]["ingress"] for port in r["ports"]} == {"http"}
    assert _egress_ports(server) == {5432, 6379, 53}
    assert _egress_ports(objects[("NetworkPolicy", f"{APP_NAME}-migrate")]) == {5432, 53}
    if environment == "dev":
        postgres = objects[("NetworkPolicy", "postgres")]["spec"]["ingress"][0]["from"]
        clients = {peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in postgres}
        assert clients == {"server", "migrate"}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_config_map_and_secret_are_settings_the_app_reads(
    environment: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = by_kind(environment)
    settings = objects[("ConfigMap", APP_NAME)]["data"]
    secrets = objects[("Secret", APP_NAME)]["stringData"]
    fields = {f"PARLEY_{name.upper()}" for name in Settings.model_fields}
    assert settings.keys() <= fields and secrets.keys() <= fields
    assert set(secrets) == {"PARLEY_SECRET_KEY", "PARLEY_DATABASE_URL", "PARLEY_BUS_URL"}
    for name, value in {**settings, **secrets}.items():
        monkeypatch.setenv(name, value)
    if environment == "dev":
        assert Settings().database_url == secrets["PARLEY_DATABASE_URL"]
    else:  # the placeholders keep a prod Secret applied unedited from ever serving
        with pytest.raises(ValueError, match="PARLEY_SECRET_KEY"):
            Settings()


# Observability


def test_the_dashboard_charts_every_metric_the_app_exports() -> None:
    dashboard = grafana_dashboard()
    assert json.loads((DEPLOY / "observability" / "grafana-dashboard.json").read_text()) == dashboard
    expressions = " ".join(t["expr"] for panel in dashboard["panels"] for t in panel["targets"])
    exported = {family.name for family in Metrics().registry.collect()}
    samples = {sample.name for family in Metrics().registry.collect() for sample in family.samples}
    assert all(name in expressions for name in exported)
    assert set(re.findall(r"parley_[a-z_]+", expressions)) <= samples | {f"{name}_total" for name in exported}
    for quantile in ("0.5", "0.99"):
        assert f"histogram_quantile({quantile}, sum by (le) (rate(parley_fanout_seconds_bucket" in expressions
    assert "sum by (code) (rate(parley_errors_total" in expressions
    assert "sum by (source) (rate(parley_history_reads_total" in expressions


def test_the_scrape_config_keeps_the_pods_the_deployment_annotates() -> None:
    config = preset("prod")
    (job,) = prometheus_scrape_config(config)["scrape_configs"]
    template = by_kind("prod")[("Deployment", APP_NAME)]["spec"]["template"]["metadata"]
    meta = {_discovered("annotation", k): v for k, v in template["annotations"].items()}
    meta |= {_discovered("label", k): v for k, v in template["labels"].items()}
    for rule in job["relabel_configs"]:
        if rule.get("action") == "keep":
            assert re.fullmatch(rule["regex"], ";".join(meta[s] for s in rule["source_labels"])), rule
    address_rule = next(r for r in job["relabel_configs"] if r.get("target_label") == "__address__")
    replacement = address_rule["replacement"].replace("$", "\\")
    assert re.sub(address_rule["regex"], replacement, f"10.1.2.3:9999;{HTTP_PORT}") == f"10.1.2.3:{HTTP_PORT}"


def _discovered(kind: str, name: str) -> str:
    """The meta label Prometheus' Kubernetes discovery gives a pod's annotation or label."""
    return f"__meta_kubernetes_pod_{kind}_{re.sub(r'[^a-zA-Z0-9]', '_', name)}"


def test_fluent_bit_tails_the_app_and_parses_its_json_timestamps() -> None:
    config_map = fluent_bit_config(preset("prod"))
    conf = config_map["data"]["fluent-bit.conf"]
    assert conf == FLUENT_BIT_CONF.format(
        namespace=APP_NAME, container=APP_NAME, es_host="elasticsearch-master.logging.svc", index=APP_NAME
    )
    pattern = re.search(r"Path\s+(\S+)", conf).group(1)  # type: ignore[union-attr]
    assert fnmatch.fnmatch("/var/log/containers/parley-7d9f-x2k_parley_parley-0a1b2c.log", pattern)
    assert not fnmatch.fnmatch("/var/log/containers/postgres-0_parley_postgres-0a1b2c.log", pattern)
    assert "Logstash_Prefix      parley" in conf and "Name                 es" in conf
    line = _app_log_line()
    time_key = re.search(r"Time_Key\s+(\S+)", PARSERS_CONF).group(1)  # type: ignore[union-attr]
    time_format = re.search(r"Time_Format\s+(\S+)", PARSERS_CONF).group(1)  # type: ignore[union-attr]
    datetime.strptime(line[time_key], time_format.replace("%L", "%f"))


def _app_log_line() -> dict[str, Any]:
    """One JSON line exactly as the app logs it."""
    from app import logs

    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure(level="INFO", json=True)
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        logging.getLogger("parley.test").info("hello")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    line: dict[str, Any] = json.loads(stream.getvalue().splitlines()[-1])
    return line
