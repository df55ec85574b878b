"""Which environment a resource belongs to, for the rules that apply in prod only.

Each cloud carries Parley's cost-allocation marker in its own way:

| cloud | where | key |
|---|---|---|
| AWS | the resource's `tags` or `tagsAll`, else its provider's `defaultTags.tags` | `parley:environment` |
| Azure | the resource's `tags` | `parley-environment` (or `parley:environment`) |
| GCP | its `labels` (or effective/pulumi labels), else the provider's `defaultLabels` | `parley-environment` |
| Kubernetes | the object's `metadata.labels`, else its pod template's labels | `parley/environment` |

An explicit environment (the pack's `environment` config, `parley policy --environment`) overrides the marker;
`parley policy --stack` falls back to the stack's `parley:environment` where a resource carries none. `production`
counts as `prod`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.props import as_dict, get

AWS_KEY = "parley:environment"
AZURE_KEYS = ("parley-environment", "parley:environment")
GCP_KEY = "parley-environment"
KUBERNETES_KEY = "parley/environment"
ALIASES = {"production": "prod", "development": "dev", "stage": "staging"}


def normalise(environment: str | None) -> str | None:
    if not environment or not isinstance(environment, str):
        return None
    lowered = environment.strip().lower()
    return ALIASES.get(lowered, lowered) or None


def marked_environment(resource_type: str, props: Mapping[str, Any], provider_props: Mapping[str, Any]) -> str | None:
    """The environment a resource's own tags or labels (or its provider's defaults) name, or `None`."""
    cloud = resource_type.split(":", 1)[0]
    if cloud == "aws":
        default_tags = as_dict(provider_props.get("defaultTags")).get("tags")
        return normalise(_first(AWS_KEY, props.get("tags"), props.get("tagsAll"), default_tags))
    if cloud == "azure-native":
        return normalise(_first(AZURE_KEYS[0], props.get("tags")) or _first(AZURE_KEYS[1], props.get("tags")))
    if cloud == "gcp":
        return normalise(
            _first(
                GCP_KEY,
                props.get("labels"),
                props.get("effectiveLabels"),
                props.get("pulumiLabels"),
                as_dict(provider_props.get("defaultLabels")),
            )
        )
    if cloud == "kubernetes":
        return normalise(
            _first(KUBERNETES_KEY, get(props, "metadata.labels"), get(props, "spec.template.metadata.labels"))
        )
    return None


def resolve(
    resource_type: str,
    props: Mapping[str, Any],
    provider_props: Mapping[str, Any] | None = None,
    *,
    override: str | None = None,
    fallback: str | None = None,
) -> str | None:
    """The environment rules should assume: `override`, else the resource's marker, else `fallback`."""
    return normalise(override) or marked_environment(resource_type, props, provider_props or {}) or normalise(fallback)


def _first(key: str, *candidates: Any) -> str | None:
    for candidate in candidates:
        value = as_dict(candidate).get(key)
        if isinstance(value, str) and value:
            return value
    return None
