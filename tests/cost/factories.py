"""Tiny plans for pricing tests: resources built inline, each in a region through an explicit provider."""

from __future__ import annotations

from typing import Any

from infra.plan import Plan, Resource


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::parley::{type_}::{name}"


def provider(region: str) -> Resource:
    return Resource(urn("pulumi:providers:aws", region), "pulumi:providers:aws", region, True, {"region": region})


def resource(
    type_: str, name: str, inputs: dict[str, Any] | None = None, *, region: str = "us-east-1", **extra: Any
) -> Resource:
    provider_urn = urn("pulumi:providers:aws", region) if type_.startswith("aws:") else ""
    return Resource(urn(type_, name), type_, name, True, inputs or {}, provider=provider_urn, **extra)


def plan(*resources: Resource, regions: tuple[str, ...] = ("us-east-1", "us-west-2")) -> Plan:
    return Plan(stack="test", project="parley", source="mocks", resources=[*map(provider, regions), *resources])
