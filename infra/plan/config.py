"""The project and its stacks as the Pulumi CLI reads them: `Pulumi.yaml` and `stacks/Pulumi.<stack>.yaml`, and
the configuration the CLI hands a program (the project's defaults overlaid with the stack's values)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.plan.model import PlanError

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Project:
    root: Path
    name: str
    main: Path
    stacks_dir: Path
    schema: dict[str, Any]

    def stacks(self) -> dict[str, Path]:
        """Every stack file, by stack name, sorted."""
        found = {p.name.removeprefix("Pulumi.").removesuffix(".yaml"): p for p in self.stacks_dir.glob("Pulumi.*.yaml")}
        return dict(sorted(found.items()))

    def stack_file(self, stack: str) -> Path:
        stacks = self.stacks()
        if stack not in stacks:
            raise UnknownStack(stack, list(stacks))
        return stacks[stack]


class UnknownStack(PlanError):
    def __init__(self, stack: str, known: list[str]) -> None:
        super().__init__(f"unknown stack {stack!r}; the stacks are: {', '.join(known) or 'none'}")
        self.known = known


@dataclass(frozen=True)
class StackConfig:
    """`values` as the CLI passes them (strings; objects as JSON); `encrypted` the keys whose `secure:` values
    only the stack's secrets provider can decrypt, so an offline run stands in for them."""

    values: dict[str, str]
    encrypted: frozenset[str]


def load_project(root: Path = ROOT) -> Project:
    try:
        document = yaml.safe_load((root / "Pulumi.yaml").read_text())
    except OSError as error:
        raise PlanError(f"no Pulumi project in {root}: {error.strerror}") from error
    main = root / document.get("main", ".")
    return Project(
        root=root,
        name=document["name"],
        main=main,
        stacks_dir=root / document.get("stackConfigDir", "."),
        schema=document.get("config") or {},
    )


def stack_config(project: Project, stack: str) -> StackConfig:
    values: dict[str, str] = {}
    for key, spec in project.schema.items():
        # A declaration with a `default`, a provider's setting with a `value`, or a bare value.
        given = spec.get("default", spec.get("value")) if isinstance(spec, dict) else spec
        if given is not None:
            values[_full_key(project.name, key)] = _as_text(given)
    document = yaml.safe_load(project.stack_file(stack).read_text()) or {}
    encrypted = set()
    for key, value in (document.get("config") or {}).items():
        full_key = _full_key(project.name, key)
        if isinstance(value, dict) and set(value) == {"secure"}:
            encrypted.add(full_key)
        else:
            values[full_key] = _as_text(value)
    return StackConfig(values=values, encrypted=frozenset(encrypted))


def _full_key(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _as_text(value: Any) -> str:
    """The CLI's rendering: booleans lower case, objects and lists as JSON, everything else as text."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
