"""Whether a plan's inputs are ones the installed provider SDKs declare. Mocks accept any input, so a misspelt
property or an enum value the provider does not know would otherwise surface only in a real `pulumi up`."""

from __future__ import annotations

import enum
import importlib
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi import _types

from infra.plan import Secret


def sdk_problems(type_: str, inputs: Mapping[str, Any]) -> list[str]:
    """Where a plan's `inputs` (engine names) stray from what the installed SDK declares for `type_`: a key that
    the resource, or the nested input type it sits in, does not have, or a string outside an enum's values.
    Mocks accept any input, so a misspelt property (`sticky_sessions` for `stickySessions`) would otherwise
    surface only in a real `pulumi up`. Components and providers declare nothing and are skipped."""
    package, module, name = type_.split(":")
    top = module.split("/")[0]
    modules = {
        "azure-native": f"pulumi_azure_native.{module}",
        "gcp": f"pulumi_gcp.{top}",
        "aws": f"pulumi_aws.{top}_" if top == "lambda" else f"pulumi_aws.{top}",  # `lambda` is a keyword
        "random": "pulumi_random",
    }
    if package not in modules:
        return []
    sdk = importlib.import_module(modules[package])
    # Where a resource's name clashes with a nested type's (network's Subnet), its arguments are `...InitArgs`.
    args = getattr(sdk, f"{name}InitArgs", None) or getattr(sdk, f"{name}Args")
    return _conformance(dict(inputs), args, type_)


def _conformance(value: Any, hint: Any, path: str) -> list[str]:
    value = value.value if isinstance(value, Secret) else value
    found = _candidates(hint)
    if isinstance(value, dict):
        for declared in (c for c in found if isinstance(c, type) and _types.is_input_type(c)):
            names = _types.input_type_types(declared)
            return [
                problem
                for key, item in value.items()
                for problem in (
                    _conformance(item, names[key], f"{path}.{key}")
                    if key in names
                    else [f"{path}.{key}: {declared.__name__} has no such property"]
                )
            ]
        inner = [c[1] for c in found if isinstance(c, tuple) and c[0] == "map"][:1]
        return [p for key, item in value.items() for h in inner for p in _conformance(item, h, f"{path}.{key}")]
    if isinstance(value, list):
        inner = [c[1] for c in found if isinstance(c, tuple) and c[0] == "seq"][:1]
        return [p for i, item in enumerate(value) for h in inner for p in _conformance(item, h, f"{path}[{i}]")]
    enums = [c for c in found if isinstance(c, type) and issubclass(c, enum.Enum)]
    known = {member.value for e in enums for member in e}
    return (
        [f"{path}: {value!r} is not one of {sorted(known)}"]
        if isinstance(value, str) and enums and value not in known
        else []
    )


def _candidates(hint: Any) -> list[Any]:
    """The concrete types an SDK annotation allows, through Optional, Input (Union, Awaitable, Output),
    with sequences as ("seq", item) and mappings as ("map", value)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or origin is pulumi.Output or getattr(origin, "__name__", "") == "Awaitable":
        return [c for arg in args for c in _candidates(arg)]
    if origin in (list, Sequence, typing.Sequence):
        return [("seq", args[0])] if args else []
    if origin in (dict, Mapping, typing.Mapping):
        return [("map", args[1])] if len(args) == 2 else []
    return [hint]
