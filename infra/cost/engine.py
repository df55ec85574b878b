"""Pricing a plan: each resource type maps to a function that turns one resource, its region and the workload's
usage into price components. The registry lives in `PRICERS`; each cloud module adds its own entries."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from infra.cost.prices import REFERENCE_REGION, Catalog, CatalogError
from infra.cost.usage import HOURS_PER_MONTH, Quantities
from infra.plan import Plan, Resource

Kind = Literal["hourly", "usage"]
Status = Literal["priced", "free", "not priced", "outside"]
# Which cloud's catalog a type token belongs to.
CLOUD_PREFIXES = {"aws:": "aws", "azure-native:": "azure", "gcp:": "gcp"}

SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600


@dataclass(frozen=True)
class Component:
    """One line of a bill: `quantity` `unit`s a month at `unit_price` USD each. `kind` is `hourly` for what runs
    whether used or not (instances, gateways, keys) and `usage` for what the workload drives."""

    name: str
    service: str
    sku: str
    quantity: float
    unit: str
    unit_price: float
    kind: Kind
    note: str = ""

    @property
    def monthly(self) -> float:
        return self.quantity * self.unit_price


@dataclass
class ResourceCost:
    """What one resource costs a month. `status` is `priced`, `free` (a type the clouds do not bill),
    `not priced` (no pricer or no catalog price: `note` says why) or `outside` (billed outside the stack)."""

    urn: str
    type: str
    name: str
    region: str
    status: Status
    components: list[Component] = field(default_factory=list)
    note: str = ""

    @property
    def monthly(self) -> float:
        return sum(c.monthly for c in self.components)


class NotPriced(Exception):
    """Raised by a pricer that cannot price a resource (an input it does not know); the report lists it."""


@dataclass
class Context:
    """What a pricer sees: the resource, its region, whether that region carries the traffic (`home`; failover
    regions run idle), the month's usage (or None: hourly prices only) and the catalog."""

    plan: Plan
    resource: Resource
    cloud: str
    region: str
    home: bool
    usage: Quantities | None
    catalog: Catalog
    notes: list[str] = field(default_factory=list)

    def charge(
        self, name: str, sku: str, quantity: float, kind: Kind = "hourly", *, region: str | None = None
    ) -> Component:
        """A component of `quantity` units of `sku` at the catalog's price for this region (or `region`: a
        replica elsewhere)."""
        try:
            price, note = self.catalog.get(self.cloud, sku, region or self.region)
        except CatalogError as error:
            raise NotPriced(str(error)) from error
        return Component(name, price.service, sku, quantity, price.unit, price.usd, kind, note)

    def hours(self, name: str, sku: str, count: float = 1) -> Component:
        """`count` of `sku` running all month."""
        return self.charge(name, sku, count * HOURS_PER_MONTH)

    def traffic(self) -> Quantities | None:
        """The usage this resource carries: all of it in the home region, none in a failover region."""
        return self.usage if self.home else None

    def share(self, type_: str, where: Callable[[Resource], bool] = lambda _: True) -> float:
        """This resource's share of usage split evenly among the home region's resources of `type_` that match
        `where` (two NAT gateways each carry half)."""
        peers = [r for r in self.plan.resources if r.type == type_ and where(r) and self.region_of(r) == self.region]
        return 1 / max(1, len(peers))

    def region_of(self, resource: Resource) -> str:
        return region_of(self.plan, resource, self.region)

    def depended(self, type_: str) -> list[Resource]:
        """The resources of `type_` this resource depends on."""
        urns = self.plan.by_urn()
        return [urns[u] for u in self.resource.dependencies if u in urns and urns[u].type == type_]


def scaled_instances(
    ctx: Context,
    noun: str,
    prefix: str,
    *,
    minimum: int,
    maximum: int,
    cpu: float,
    memory: float,
    idle_memory_sku: str,
) -> list[Component]:
    """Serverless containers billed per vCPU- and GiB-second (Cloud Run, Container Apps), skus `<prefix>.vcpu`,
    `.memory` and `.requests`. The `minimum` instances hold WebSockets, so they bill at active rates all month
    (hourly); more up to `maximum` for the profile's peak bill as usage, plus requests. A failover region's idle
    minimum bills at `<prefix>.vcpu.idle` and `idle_memory_sku`."""
    usage = ctx.traffic()
    seconds = minimum * SECONDS_PER_MONTH
    if not usage:
        return [
            ctx.charge(f"{minimum} idle {noun}, vCPU", f"{prefix}.vcpu.idle", seconds * cpu),
            ctx.charge(f"{minimum} idle {noun}, memory", idle_memory_sku, seconds * memory),
        ]
    components = [
        ctx.charge(f"{minimum} {noun}, vCPU", f"{prefix}.vcpu", seconds * cpu),
        ctx.charge(f"{minimum} {noun}, memory", f"{prefix}.memory", seconds * memory),
    ]
    extra = max(0, min(maximum, usage.instances_needed) - minimum)
    if extra:
        seconds = extra * SECONDS_PER_MONTH
        components.append(ctx.charge(f"{extra} more {noun} at peak, vCPU", f"{prefix}.vcpu", seconds * cpu, "usage"))
        components.append(
            ctx.charge(f"{extra} more {noun} at peak, memory", f"{prefix}.memory", seconds * memory, "usage")
        )
    requests = (usage.http_requests + usage.connections) / 1e6
    components.append(ctx.charge("requests", f"{prefix}.requests", requests, "usage"))
    return components


Pricer = Callable[[Context], list[Component]]
PRICERS: dict[str, Pricer] = {}
# Types the clouds do not bill for (networks, rules, roles, records, attachments...), marked free explicitly.
FREE: dict[str, str] = {}


def pricer(*types: str) -> Callable[[Pricer], Pricer]:
    """Register a function as the pricer of `types`."""

    def register(function: Pricer) -> Pricer:
        for type_ in types:
            PRICERS[type_] = function
        return function

    return register


def free(note: str, *types: str) -> None:
    for type_ in types:
        FREE[type_] = note


def cloud_of(type_: str) -> str | None:
    return next((cloud for prefix, cloud in CLOUD_PREFIXES.items() if type_.startswith(prefix)), None)


def region_of(plan: Plan, resource: Resource, default: str) -> str:
    """Where a resource runs: its own `region` or `location` input (AWS provider 7 resources, Azure, GCP), else
    its explicit provider's `region` (or `location`), else the region in its ARN (an export), else `default`."""
    for key in ("region", "location"):
        value = resource.inputs.get(key)
        if isinstance(value, str) and value and not value.startswith("["):
            return _normal(value)
    provider = plan.by_urn().get(resource.provider)
    if provider is not None:
        for key in ("region", "location"):
            value = provider.inputs.get(key)
            if isinstance(value, str) and value:
                return _normal(value)
    # An export's outputs know where the resource is even when its default provider's inputs do not say.
    arn = resource.outputs.get("arn")
    if isinstance(arn, str) and arn.startswith("arn:") and arn.count(":") >= 4 and arn.split(":")[3]:
        return arn.split(":")[3]
    return default


def _normal(region: str) -> str:
    # Azure accepts "East US" as well as "eastus"; the catalog uses the ARM name.
    return region.replace(" ", "").lower()


def price_resource(
    plan: Plan, resource: Resource, *, catalog: Catalog, usage: Quantities | None, home: str
) -> ResourceCost:
    """The cost of one resource; never raises for a resource it cannot price, it says so instead."""
    cost = ResourceCost(resource.urn, resource.type, resource.name, "", "not priced")
    if resource.type.startswith("kubernetes:"):
        cost.status, cost.note = "outside", "runs on a cluster the stack does not create; its nodes are billed there"
        return cost
    cloud = cloud_of(resource.type)
    if cloud is None:
        cost.status, cost.note = "free", "not a cloud resource (random values, providers)"
        return cost
    cost.region = region_of(plan, resource, home)
    notes = []
    if not cost.region:
        # A preview of a stack whose default provider takes its region from configuration the plan lacks.
        cost.region = REFERENCE_REGION[cloud]
        notes.append(f"region unknown, priced in {cost.region} (give --region)")
    if resource.type in FREE:
        cost.status, cost.note = "free", FREE[resource.type]
        return cost
    function = PRICERS.get(resource.type)
    if function is None:
        cost.note = "no pricer for this type"
        return cost
    context = Context(plan, resource, cloud, cost.region, cost.region == (home or cost.region), usage, catalog, notes)
    try:
        cost.components = [c for c in function(context) if c.quantity > 0]
    except NotPriced as error:
        cost.note = str(error)
        return cost
    cost.status = "priced"
    cost.note = "; ".join(context.notes + sorted({c.note for c in cost.components if c.note}))
    return cost


def home_region(plan: Plan, fallback: str | None) -> str:
    """The region that carries the traffic: `fallback` (the stack's configured region) when given, else the
    region of the first explicit provider or located resource in the plan, else "" (no cloud resource)."""
    if fallback:
        return _normal(fallback)
    for resource in plan.resources:
        region = region_of(plan, resource, "")
        if region and cloud_of(resource.type):
            return region
    return ""


def price_resources(
    plan: Plan, *, catalog: Catalog, usage: Quantities | None, region: str | None = None
) -> tuple[str, list[ResourceCost]]:
    """The home region and every custom resource's cost (components and providers are not billed)."""
    home = home_region(plan, region)
    costs = [
        price_resource(plan, r, catalog=catalog, usage=usage, home=home)
        for r in plan.resources
        if r.custom and not r.is_provider
    ]
    return home, costs


def text_input(inputs: dict[str, Any], key: str) -> str:
    """A string input, or `NotPriced` naming it when it is absent or unknown (a preview's `[unknown]`)."""
    value = inputs.get(key)
    if not isinstance(value, str) or not value or value.startswith("["):
        raise NotPriced(f"input {key} is {value!r}, not a known value")
    return value


def number_input(inputs: dict[str, Any], key: str, default: float | None = None) -> float:
    """A numeric input (numbers and numeric strings), else `default`, else `NotPriced` naming it."""
    value = inputs.get(key)
    if value is None and default is not None:
        return default
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise NotPriced(f"input {key} is {value!r}, not a number") from None
    if math.isnan(number):
        raise NotPriced(f"input {key} is not a number")
    return number
