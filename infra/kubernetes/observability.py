"""Metrics and logs around the cluster: a ServiceMonitor for Prometheus Operator users, a plain Prometheus
scrape configuration for everyone else, a Fluent Bit configuration shipping the app's JSON lines to
Elasticsearch, and a Grafana dashboard of every metric the app exports (`app/metrics.py`)."""

from __future__ import annotations

from typing import Any

from infra.kubernetes.config import APP_NAME, KubernetesConfig
from infra.kubernetes.objects import Manifest, metadata

LOGGING_NAMESPACE = "logging"
ELASTICSEARCH_HOST = "elasticsearch-master.logging.svc"
INDEX_PREFIX = APP_NAME


def service_monitor(config: KubernetesConfig) -> Manifest:
    """Scrapes the `parley` Service's pods. Needs the Prometheus Operator's CRD, so it is kept apart."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": metadata(config, APP_NAME, "server"),
        "spec": {
            "selector": {"matchLabels": config.selector},
            "namespaceSelector": {"matchNames": [config.namespace]},
            "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}],
        },
    }


def prometheus_scrape_config(config: KubernetesConfig) -> dict[str, Any]:
    """A `scrape_configs` entry for a Prometheus without the Operator: pods that carry the
    `prometheus.io/*` annotations of the Deployment, labelled with `namespace` and `pod` as the Operator would."""
    relabel = [
        {
            "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
            "regex": "true",
            "action": "keep",
        },
        {
            "source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_component"],
            "regex": "server",
            "action": "keep",
        },
        {
            "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_path"],
            "regex": "(.+)",
            "target_label": "__metrics_path__",
        },
        {
            "source_labels": ["__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"],
            "regex": r"([^:]+)(?::\d+)?;(\d+)",
            "replacement": "$1:$2",
            "target_label": "__address__",
        },
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
    ]
    job = {
        "job_name": APP_NAME,
        "scrape_interval": "30s",
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [config.namespace]}}],
        "relabel_configs": relabel,
    }
    return {"scrape_configs": [job]}


FLUENT_BIT_CONF = """\
[SERVICE]
    Flush         5
    Log_Level     info
    Parsers_File  /fluent-bit/etc/parsers.conf
    Parsers_File  /fluent-bit/etc/conf/custom_parsers.conf
    HTTP_Server   On
    HTTP_Listen   0.0.0.0
    HTTP_Port     2020

[INPUT]
    Name              tail
    Tag               kube.*
    Path              /var/log/containers/*_{namespace}_{container}-*.log
    multiline.parser  cri, docker
    DB                /var/log/flb_parley.db
    DB.locking        true
    Mem_Buf_Limit     16MB
    Skip_Long_Lines   On
    Refresh_Interval  10

[FILTER]
    Name                 kubernetes
    Match                kube.*
    Merge_Log            On
    Merge_Parser         parley_json
    Merge_Log_Key        app
    Keep_Log             Off
    Labels               On
    Annotations          Off

[OUTPUT]
    Name                 es
    Match                kube.*
    Host                 {es_host}
    Port                 9200
    Logstash_Format      On
    Logstash_Prefix      {index}
    Logstash_DateFormat  %Y.%m.%d
    Time_Key             @timestamp
    Replace_Dots         On
    Suppress_Type_Name   On
    Retry_Limit          5
"""

# structlog's TimeStamper(fmt="iso", utc=True) writes 2026-11-27T14:54:23.123456Z.
PARSERS_CONF = """\
[PARSER]
    Name         parley_json
    Format       json
    Time_Key     timestamp
    Time_Format  %Y-%m-%dT%H:%M:%S.%LZ
    Time_Keep    On
"""


def fluent_bit_config(config: KubernetesConfig) -> Manifest:
    """For the fluent-bit Helm chart (`existingConfigMap`) or any DaemonSet mounting it at
    /fluent-bit/etc/conf/. Tails the app's containers only; the app's fields land under `app.*` in daily
    `parley-YYYY.MM.DD` indices, a Kibana data view `parley-*` on `@timestamp` away."""
    conf = FLUENT_BIT_CONF.format(
        namespace=config.namespace, container=APP_NAME, es_host=ELASTICSEARCH_HOST, index=INDEX_PREFIX
    )
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"fluent-bit-{APP_NAME}",
            "namespace": LOGGING_NAMESPACE,
            "labels": {"app.kubernetes.io/name": "fluent-bit", "app.kubernetes.io/part-of": APP_NAME},
        },
        "data": {"fluent-bit.conf": conf, "custom_parsers.conf": PARSERS_CONF},
    }


def _rate(metric: str, by: str = "") -> str:
    grouping = f" by ({by}) " if by else ""
    return f'sum{grouping}(rate({metric}{{namespace=~"$namespace"}}[$__rate_interval]))'


def _quantile(q: float) -> tuple[str, str]:
    return f"histogram_quantile({q}, {_rate('parley_fanout_seconds_bucket', 'le')})", f"p{round(q * 100)}"


# (title, unit, [(PromQL, legend)]): one panel per question an operator asks.
PANELS: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "Open WebSocket connections",
        "short",
        [('sum by (pod) (parley_connections{namespace=~"$namespace"})', "{{pod}}")],
    ),
    (
        "Messages per second",
        "ops",
        [(_rate("parley_messages_sent_total"), "sent"), (_rate("parley_messages_delivered_total"), "delivered")],
    ),
    ("Fan-out latency, stored to queued", "s", [_quantile(0.5), _quantile(0.99)]),
    ("Errors by code", "ops", [(_rate("parley_errors_total", "code"), "{{code}}")]),
    ("Slow consumers closed (4408)", "ops", [(_rate("parley_slow_consumers_total"), "closed")]),
    ("Bus publish failures", "ops", [(_rate("parley_bus_failures_total"), "failed")]),
    ("History reads by source", "ops", [(_rate("parley_history_reads_total", "source"), "{{source}}")]),
]


def _panel(index: int, title: str, unit: str, queries: list[tuple[str, str]]) -> dict[str, Any]:
    width, height = 12, 8
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"x": (index % 2) * width, "y": (index // 2) * height, "w": width, "h": height},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(queries)
        ],
    }


def grafana_dashboard() -> dict[str, Any]:
    datasource = {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"}
    namespace = {
        "name": "namespace",
        "type": "query",
        "label": "Namespace",
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "query": {"query": "label_values(parley_connections, namespace)", "refId": "namespace"},
        "includeAll": True,
        "multi": True,
        "refresh": 2,
    }
    return {
        "uid": "parley-overview",
        "title": "Parley",
        "tags": [APP_NAME],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [datasource, namespace]},
        "panels": [_panel(i, *panel) for i, panel in enumerate(PANELS)],
    }
