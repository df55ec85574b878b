"""Create a stack's planned AWS resources for real, through boto3: in moto's model of AWS (offline), or against
any endpoint that speaks the AWS APIs. `parley verify --offline` and the verify tests check what this builds.

A plan under mocks names other resources by stand-ins (`parley-primary-net-vpc-949c4c71`, an ARN made up from
the logical name). Each resource is created in dependency order, and every stand-in output it had in the plan
(`id`, `arn`, `name`, `dnsName`, ...) is mapped to the value the endpoint returned, so the inputs of the
resources after it name what really exists. Tags are applied as the AWS provider applies them: the
provider's `defaultTags` merged under the resource's own `tags`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from infra.plan.model import Plan, Resource, Secret

Outputs = dict[str, Any]


class MaterialiseError(Exception):
    """A resource the endpoint refused, named with its URN and the endpoint's reason."""


class Unmaterialisable(Exception):
    """Raised by a handler for a resource the plan does not describe fully enough to create (an alias to a
    target whose outputs the plan does not know): counted as skipped, with the reason as a note."""


@dataclass
class Materialised:
    """What `materialise` did: the real id (or ARN) of each created resource by URN, and the custom resources it
    does not know how to create, counted by type (components and providers are neither)."""

    stack: str
    created: dict[str, str] = field(default_factory=dict)
    created_types: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    regions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        skipped = ", ".join(f"{t} x{n}" for t, n in sorted(self.skipped.items())) or "none"
        return f"{len(self.created)} resources materialised, {sum(self.skipped.values())} skipped ({skipped})"


class Clients:
    """boto3 clients per (service, region) from one session, all pointed at `endpoint_url` when given (a moto
    server, LocalStack). Cached, and one session for everything: a session loads each service's model once
    (EC2's alone takes about half a second)."""

    def __init__(self, session: boto3.Session, endpoint_url: str | None = None) -> None:
        self.session = session
        self.endpoint_url = endpoint_url
        self._cache: dict[tuple[str, str], Any] = {}

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._cache:
            self._cache[key] = self.session.client(service, region_name=region, endpoint_url=self.endpoint_url)
        return self._cache[key]


@dataclass
class Context:
    """What a handler needs: the clients, the resource's region and tags, and the stand-ins seen so far."""

    clients: Clients
    plan: Plan
    refs: dict[str, Any]
    region: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    # Route 53 zones created for a plan's `zoneId` that names a zone only the real account has.
    zones: dict[str, str] = field(default_factory=dict)
    # Per-URN real outputs, for handlers that need more than a stand-in (a listener's load balancer region).
    outputs: dict[str, Outputs] = field(default_factory=dict)
    # Where the endpoint could not model a resource as planned and a handler did the nearest thing instead.
    notes: list[str] = field(default_factory=list)

    def client(self, service: str, region: str | None = None) -> Any:
        return self.clients(service, region or self.region)

    def tag_list(self, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
        return [{key: k, value: v} for k, v in sorted(self.tags.items())]

    def resolve(self, value: Any) -> Any:
        """`value` with every string that is a known stand-in replaced by the real value it stands for."""
        if isinstance(value, Secret):
            return self.resolve(value.value)
        if isinstance(value, str):
            return self.refs.get(value, value)
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value


# A handler creates one resource and returns its real outputs under the plan's output names ("id", "arn", ...).
Handler = Callable[[Context, Resource, Outputs], Outputs]


def physical_name(resource: Resource, inputs: Outputs, key: str = "name") -> str:
    """The name the resource is created under: its input `key`, else its planned output, else its logical name."""
    return str(inputs.get(key) or resource.outputs.get(key) or resource.name)


def handlers() -> dict[str, Handler]:
    """Every resource type materialise knows, by type token."""
    # Imported here: the handler modules import this one for `Context`.
    from infra.verify import aws_compute, aws_data, aws_edge, aws_logging, aws_network, aws_serverless

    modules = (aws_network, aws_data, aws_compute, aws_edge, aws_serverless, aws_logging)
    return {token: handler for module in modules for token, handler in module.HANDLERS.items()}


def materialise(plan: Plan, *, clients: Clients, default_region: str = "us-east-1") -> Materialised:
    """Create the plan's AWS resources through `clients`, parents and dependencies first.

    Each resource goes to its provider's region (`default_region` for one without an explicit provider).
    Custom resources of types without a handler are counted in `skipped`, never silently dropped.
    Raises `MaterialiseError` naming the resource when the endpoint refuses one."""
    known = handlers()
    by_urn = plan.by_urn()
    context = Context(clients=clients, plan=plan, refs={})
    result = Materialised(stack=plan.stack)
    for resource in plan.resources:
        if not resource.custom or resource.is_provider:
            continue
        handler = known.get(resource.type)
        if handler is None:
            result.skipped[resource.type] += 1
            continue
        provider = by_urn.get(resource.provider)
        context.region = _region(provider, default_region)
        context.tags = _tags(provider, resource.inputs)
        try:
            real = _create(context, handler, resource)
        except Unmaterialisable as reason:
            result.skipped[resource.type] += 1
            context.notes.append(f"{resource.name}: skipped, {reason}")
            continue
        context.outputs[resource.urn] = real
        _remember(context.refs, resource, real)
        result.created[resource.urn] = str(real.get("arn") or real.get("id"))
        result.created_types[resource.type] += 1
        if context.region not in result.regions:
            result.regions.append(context.region)
    result.notes = context.notes
    return result


def _create(context: Context, handler: Handler, resource: Resource) -> Outputs:
    inputs = context.resolve(resource.inputs)
    try:
        return handler(context, resource, inputs)
    except (MaterialiseError, Unmaterialisable):
        raise
    except Exception as error:  # botocore's ClientError and parameter validation errors alike
        raise MaterialiseError(f"{resource.type} {resource.name} ({resource.urn}): {error}") from error


def _remember(refs: dict[str, Any], resource: Resource, real: Outputs) -> None:
    """Map every stand-in output the plan gave the resource to the value the endpoint returned."""
    planned = dict(resource.outputs)
    if resource.id:
        planned.setdefault("id", resource.id)
    _pair(refs, planned, real)


def _pair(refs: dict[str, Any], planned: Any, real: Any) -> None:
    """Walk the real outputs and the planned ones side by side (nested objects too: a domain name's
    `domainNameConfiguration.targetDomainName`), mapping each planned string to its real value."""
    if isinstance(real, dict) and isinstance(planned, dict):
        for name, value in real.items():
            _pair(refs, planned.get(name), value)
    elif isinstance(real, list) and isinstance(planned, list):
        for planned_item, real_item in zip(planned, real, strict=False):
            _pair(refs, planned_item, real_item)
    elif isinstance(planned, str) and planned and real is not None:
        refs[planned] = real


def _region(provider: Resource | None, default: str) -> str:
    if provider is None:
        return default
    return str(provider.inputs.get("region") or default)


def _tags(provider: Resource | None, inputs: Outputs) -> dict[str, str]:
    """The provider's default tags with the resource's own on top, as the AWS provider merges them."""
    tags: dict[str, str] = {}
    if provider is not None:
        defaults = provider.inputs.get("defaultTags") or {}
        if isinstance(defaults, str):  # providers take their object settings as JSON text
            defaults = json.loads(defaults)
        tags.update(defaults.get("tags") or {})
    own = inputs.get("tags")
    if isinstance(own, dict):
        tags.update({str(k): str(v) for k, v in own.items()})
    return tags
