"""What the pipelines need to know about a stack, read from `stacks/Pulumi.<stack>.yaml`: its target, the cloud
whose credentials it needs and the environment (dev, staging, prod) it is promoted through.

`python -m ci.stacks show STACK --field cloud` prints one field (the shell scripts use it);
`python -m ci.stacks list --environment prod` prints the stacks of one environment, one a line."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

ROOT = Path(__file__).resolve().parents[1]
# The cloud account each target deploys into, hence the OIDC login it needs (ci/scripts/cloud-login.sh).
# Kubernetes stacks talk to a cluster through a kubeconfig the CI system provides, not to a cloud API.
CLOUDS = {"aws": "aws", "aws-serverless": "aws", "azure": "azure", "gcp": "gcp", "kubernetes": "kubernetes"}
ENVIRONMENTS = ("dev", "staging", "prod")


class StackError(Exception):
    """A stack file that is missing or does not say what the pipelines need; the message names the file."""


@dataclass(frozen=True)
class Stack:
    name: str
    target: str
    environment: str

    @property
    def cloud(self) -> str:
        return CLOUDS[self.target]

    @property
    def needs_lambda_package(self) -> bool:
        """The serverless target's functions run `parley package lambda`'s zip, which must exist to preview."""
        return self.target == "aws-serverless"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        raise StackError(f"cannot read {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise StackError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise StackError(f"{path} should hold a mapping")
    return document


def default_environment(root: Path) -> str:
    """Pulumi.yaml's default for `parley:environment`, which a stack file that names none gets."""
    config = _read_yaml(root / "Pulumi.yaml").get("config") or {}
    return str((config.get("environment") or {}).get("default", "dev"))


def load_stack(name: str, root: Path = ROOT) -> Stack:
    """The stack `name`, from `root/stacks/Pulumi.<name>.yaml`. Raises StackError when the file is missing, names
    no `parley:target` or names a target or environment the pipelines do not know."""
    path = root / "stacks" / f"Pulumi.{name}.yaml"
    if not path.is_file():
        known = ", ".join(stack_names(root)) or "none"
        raise StackError(f"no stack {name!r}: {path} does not exist (the stacks are: {known})")
    config = _read_yaml(path).get("config") or {}
    target = config.get("parley:target")
    if target not in CLOUDS:
        raise StackError(f"{path}: parley:target is {target!r}, not one of {', '.join(CLOUDS)}")
    environment = str(config.get("parley:environment", default_environment(root)))
    if environment not in ENVIRONMENTS:
        raise StackError(f"{path}: parley:environment is {environment!r}, not one of {', '.join(ENVIRONMENTS)}")
    return Stack(name=name, target=target, environment=environment)


def stack_names(root: Path = ROOT) -> list[str]:
    """Every stack with a file in `root/stacks`, sorted."""
    files = (root / "stacks").glob("Pulumi.*.yaml")
    return sorted(path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in files)


def stacks_by_environment(root: Path = ROOT) -> dict[str, list[str]]:
    """The stacks of each environment, in promotion order (dev, staging, prod); every environment is a key."""
    grouped: dict[str, list[str]] = {environment: [] for environment in ENVIRONMENTS}
    for name in stack_names(root):
        grouped[load_stack(name, root).environment].append(name)
    return grouped


class Field(StrEnum):
    target = "target"
    cloud = "cloud"
    environment = "environment"


app = typer.Typer(add_completion=False, no_args_is_help=True, help="Stacks as the CI pipelines see them.")
RootOption = Annotated[Path, typer.Option("--root", help="The repository (holding Pulumi.yaml and stacks/).")]


@app.command()
def show(
    stack: Annotated[str, typer.Argument(help="A stack of stacks/Pulumi.<stack>.yaml.")],
    field: Annotated[Field, typer.Option("--field", help="What to print.")] = Field.cloud,
    root: RootOption = ROOT,
) -> None:
    """Print one field of a stack."""
    try:
        found = load_stack(stack, root)
    except StackError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(getattr(found, field.value))


@app.command("list")
def list_stacks(
    environment: Annotated[str | None, typer.Option("--environment", help="Only this environment's stacks.")] = None,
    root: RootOption = ROOT,
) -> None:
    """Print stack names, one a line."""
    if environment is not None and environment not in ENVIRONMENTS:
        raise typer.BadParameter(f"{environment!r} is not one of {', '.join(ENVIRONMENTS)}", param_hint="--environment")
    try:
        grouped = stacks_by_environment(root)
    except StackError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    names = grouped[environment] if environment else [name for group in grouped.values() for name in group]
    for name in sorted(names):
        typer.echo(name)


if __name__ == "__main__":
    app()
