"""A stack's cost report: every resource's components with totals per region, service and kind, its JSON form
(docs/cost.md), and the difference between two reports for merge-request comments."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from infra.cost import aws, aws_serverless, azure, gcp  # noqa: F401  (each registers its pricers)
from infra.cost.engine import Component, ResourceCost, price_resources
from infra.cost.prices import Catalog
from infra.cost.usage import Profile, quantities
from infra.plan import Plan

VERSION = 1


class ReportError(Exception):
    """A file that is not a cost report this version can read."""


@dataclass
class Report:
    """The monthly cost of one stack under one usage profile (`profile` None: hourly prices only)."""

    stack: str
    source: str
    home_region: str
    resources: list[ResourceCost]
    profile: str | None = None
    daily_users: int | None = None

    def components(self) -> list[tuple[ResourceCost, Component]]:
        return [(r, c) for r in self.resources for c in r.components]

    @property
    def total(self) -> float:
        return sum(r.monthly for r in self.resources)

    def kind_total(self, kind: str) -> float:
        return sum(c.monthly for _, c in self.components() if c.kind == kind)

    @property
    def per_user(self) -> float | None:
        return self.total / self.daily_users if self.daily_users else None

    def by_region(self) -> dict[str, float]:
        return _grouped((r.region or "global", c.monthly) for r, c in self.components())

    def by_service(self) -> dict[str, float]:
        return _grouped((c.service, c.monthly) for _, c in self.components())

    def with_status(self, status: str) -> list[ResourceCost]:
        return [r for r in self.resources if r.status == status]


def _grouped(pairs: Any) -> dict[str, float]:
    """Sums per key, largest first."""
    sums: dict[str, float] = defaultdict(float)
    for key, value in pairs:
        sums[key] += value
    return dict(sorted(sums.items(), key=lambda item: (-item[1], item[0])))


def build_report(plan: Plan, *, catalog: Catalog, profile: Profile | None, region: str | None = None) -> Report:
    """Price every resource of `plan`; `region` is the stack's home region (its configured one) if known."""
    usage = quantities(profile) if profile else None
    home, costs = price_resources(plan, catalog=catalog, usage=usage, region=region)
    return Report(
        stack=plan.stack,
        source=plan.source,
        home_region=home,
        resources=costs,
        profile=profile.name if profile else None,
        daily_users=profile.daily_users if profile else None,
    )


def to_json(report: Report) -> dict[str, Any]:
    """The report as JSON (docs/cost.md, version 1)."""
    return {
        "version": VERSION,
        "stack": report.stack,
        "source": report.source,
        "home_region": report.home_region,
        "profile": report.profile,
        "daily_users": report.daily_users,
        "currency": "USD",
        "totals": {
            "monthly": report.total,
            "hourly": report.kind_total("hourly"),
            "usage": report.kind_total("usage"),
            "per_user": report.per_user,
            "by_region": report.by_region(),
            "by_service": report.by_service(),
        },
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "region": r.region,
                "status": r.status,
                "note": r.note,
                "monthly": r.monthly,
                "components": [{**asdict(c), "monthly": c.monthly} for c in r.components],
            }
            for r in report.resources
        ],
    }


def from_json(document: Any) -> Report:
    """A report from its JSON form (a `--baseline` file); `ReportError` when it is not one."""
    if not isinstance(document, dict) or document.get("version") != VERSION or "resources" not in document:
        raise ReportError(f"not a version {VERSION} cost report (write one with `parley cost --format json`)")
    try:
        resources = [
            ResourceCost(
                urn=r["urn"],
                type=r["type"],
                name=r["name"],
                region=r["region"],
                status=r["status"],
                note=r.get("note", ""),
                components=[Component(**{k: v for k, v in c.items() if k != "monthly"}) for c in r["components"]],
            )
            for r in document["resources"]
        ]
        return Report(
            stack=document["stack"],
            source=document["source"],
            home_region=document["home_region"],
            resources=resources,
            profile=document.get("profile"),
            daily_users=document.get("daily_users"),
        )
    except (KeyError, TypeError) as error:
        raise ReportError(f"cost report is missing or has a bad field: {error}") from error


@dataclass(frozen=True)
class Change:
    """One resource's component in either report: `before` or `after` is 0 where it is absent."""

    type: str
    name: str
    component: str
    before: float
    after: float

    @property
    def delta(self) -> float:
        return self.after - self.before


@dataclass
class Diff:
    """What changed from `base` to `head`, per resource component (matched by type, logical name and component
    name, so two stacks compare too), largest change first."""

    base: Report
    head: Report
    changes: list[Change] = field(default_factory=list)

    @property
    def delta(self) -> float:
        return self.head.total - self.base.total


def diff(base: Report, head: Report, *, threshold: float = 0.005) -> Diff:
    """Changes of at least `threshold` USD a month (half a cent: what rounding hides)."""

    def lines(report: Report) -> dict[tuple[str, str, str], float]:
        found: dict[tuple[str, str, str], float] = defaultdict(float)
        for resource, component in report.components():
            found[(resource.type, resource.name, component.name)] += component.monthly
        return found

    before, after = lines(base), lines(head)
    changes = [
        Change(key[0], key[1], key[2], before.get(key, 0.0), after.get(key, 0.0))
        for key in sorted(set(before) | set(after))
        if abs(after.get(key, 0.0) - before.get(key, 0.0)) >= threshold
    ]
    changes.sort(key=lambda c: -abs(c.delta))
    return Diff(base, head, changes)
