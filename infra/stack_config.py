"""Stack configuration shared by every cloud target: the Pulumi config map as one value, and the checks each
target runs before it declares any resource, and what every target's app and `deploy` share. Every refusal
is a `pulumi.RunError` naming the key, so `pulumi up` stops with one clear line."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, Protocol, TypeVar, cast

import pulumi
import yaml
from pulumi.runtime import config as runtime_config

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    Preset = TypeVar("Preset", bound=DataclassInstance)
else:
    Preset = TypeVar("Preset")

Settings = TypeVar("Settings")
Environment = Literal["dev", "staging", "prod"]
ENVIRONMENTS: tuple[Environment, ...] = ("dev", "staging", "prod")
PROJECT_FILE = Path(__file__).resolve().parents[1] / "Pulumi.yaml"
# Keys that only ever hold secrets. Set in plain text, their value already sits in a stack file (and so in
# git), so the program stops instead of deploying it.
SECRET_KEYS = frozenset(
    {
        "parley:secretKey",
        "parley:databaseUrl",
        "parley:busUrl",
        "parley:kubeconfig",
        "parley:dbPassword",
        "parley:redisAuthToken",
        "aws:accessKey",
        "aws:secretKey",
        "aws:token",
        "azure-native:clientSecret",
        "azure-native:clientCertificatePassword",
        "gcp:credentials",
        "gcp:accessToken",
    }
)
HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
IMAGE_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
Role = Literal["primary", "secondary"]
# Plain settings of every cloud target's app. PARLEY_ENV=production in every environment: the secret key is
# always generated, so the production checks hold everywhere.
APP_SETTINGS = {
    "PARLEY_ENV": "production",
    "PARLEY_LOG_JSON": "true",
    "PARLEY_LOG_LEVEL": "INFO",
    "PARLEY_BUS_PREFIX": "parley",
}


def fail(key: str, problem: str) -> NoReturn:
    raise pulumi.RunError(f"{key}: {problem}")


@dataclass(frozen=True)
class StackConfig:
    """What the Pulumi CLI handed the program: every `namespace:key` with its value, and which are secrets.
    The SDK has no public listing of keys, so this reads the map `pulumi.runtime.set_all_config` fills (the
    language host fills it from PULUMI_CONFIG) and falls back to that variable."""

    values: Mapping[str, str]
    secret_keys: frozenset[str]

    @classmethod
    def current(cls) -> StackConfig:
        values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
        secret = {k for k in values if pulumi.runtime.is_config_secret(k)}
        secret |= set(runtime_config.get_config_secret_keys_env())
        return cls({k: str(v) for k, v in values.items()}, frozenset(secret))

    def namespace(self, name: str) -> dict[str, str]:
        return {k.split(":", 1)[1]: v for k, v in self.values.items() if k.split(":", 1)[0] == name}


def begin(stack: StackConfig, *, target: str, reads: Collection[str]) -> tuple[dict[str, str], Environment]:
    """The checks every target runs first (no secret in plain text, no `parley:` key the target does not read),
    then the stack's `parley:` settings and its environment."""
    refuse_plaintext_secrets(stack)
    refuse_unknown_keys(stack, target=target, reads=reads)
    parley = stack.namespace("parley")
    return parley, environment(parley)


class Deployment(Protocol):
    def outputs(self) -> Mapping[str, object]: ...


def deploy_target(load: Callable[[StackConfig, str], Settings], build: Callable[[Settings], Deployment]) -> None:
    """A cloud target's `deploy` (infra/__main__.py): `load` checks the whole stack configuration (not only the
    `parley:` namespace), so unknown keys and plain-text secrets stop the run before any resource exists;
    `build` declares the stack from it, and its `outputs()` become the stack outputs."""
    for key, value in build(load(StackConfig.current(), pulumi.get_stack())).outputs().items():
        pulumi.export(key, value)


def refuse_plaintext_secrets(stack: StackConfig) -> None:
    for key in sorted(SECRET_KEYS & stack.values.keys() - stack.secret_keys):
        namespace, name = key.split(":", 1)
        setting = name if namespace == "parley" else key
        fail(
            key,
            "holds a secret in plain text; remove it from the stack file and set it with "
            f"`pulumi config set --secret {setting} <value>` (Parley's cloud targets generate their own "
            "database, Redis and app secrets)",
        )


def project_defaults(project_file: Path = PROJECT_FILE) -> dict[str, str]:
    """Pulumi.yaml's declared defaults as the CLI passes them (strings; booleans lower-case)."""
    schema = yaml.safe_load(project_file.read_text()).get("config", {})
    return {
        f"parley:{k}": str(spec["default"]).lower() if isinstance(spec["default"], bool) else str(spec["default"])
        for k, spec in schema.items()
        if isinstance(spec, dict) and "default" in spec
    }


def refuse_unknown_keys(stack: StackConfig, *, target: str, reads: Collection[str]) -> None:
    """Every `parley:` key must be one the target reads. The CLI fills in every default Pulumi.yaml declares,
    including other targets' settings, so a key holding exactly its declared default is not the stack's."""
    defaults = project_defaults()
    for name, value in sorted(stack.namespace("parley").items()):
        key = f"parley:{name}"
        if name in reads or (key in defaults and defaults[key] == value and key not in stack.secret_keys):
            continue
        fail(key, f"is not a setting of the {target} target; it reads {', '.join(sorted(reads))}")


def ipv4_network(key: str, value: str, *, prefixes: range = range(16, 25)) -> ipaddress.IPv4Network:
    """A private IPv4 CIDR whose prefix length is in `prefixes` (the VPC's: /16 to /24)."""
    try:
        network = ipaddress.IPv4Network(value)
    except ValueError as error:
        fail(key, f"{value!r} is not an IPv4 CIDR block: {error}")
    if not network.is_private:
        fail(key, f"{value} is not a private (RFC 1918) range")
    if network.prefixlen not in prefixes:
        fail(key, f"{value} must have a prefix length from /{prefixes.start} to /{prefixes.stop - 1}")
    return network


def matching(key: str, value: str, pattern: re.Pattern[str], what: str) -> str:
    if not value:
        fail(key, f"is required: {what}")
    if not pattern.match(value):
        fail(key, f"{value!r} is not {what}")
    return value


def host(parley: Mapping[str, str]) -> str:
    """`parley:host`, required: the public DNS name."""
    return matching("parley:host", parley.get("host", ""), HOST_NAME, "a lower-case DNS name")


def image_tag(parley: Mapping[str, str]) -> str:
    """`parley:imageTag`, required: the tag of the image to run."""
    return matching("parley:imageTag", parley.get("imageTag", ""), IMAGE_TAG, "a tag")


def replica_promoted(parley: Mapping[str, str]) -> bool:
    """`parley:replicaPromoted`, false when unset: the secondary region's database replica was promoted."""
    return boolean("parley:replicaPromoted", parley.get("replicaPromoted", "false"))


def boolean(key: str, value: str) -> bool:
    if value.lower() not in ("true", "false"):
        fail(key, f"{value!r} is not true or false")
    return value.lower() == "true"


def environment(parley: Mapping[str, str]) -> Environment:
    """`parley:environment`, dev when unset."""
    value = parley.get("environment") or "dev"
    if value not in ENVIRONMENTS:
        fail("parley:environment", f"{value!r} is not one of {', '.join(ENVIRONMENTS)}")
    return cast(Environment, value)


def regions(
    stack: StackConfig,
    *,
    environment: Environment,
    primary_key: str,
    check: Callable[[str, str], str],
    why_in_prod: str = "which fails over to a second region",
) -> tuple[str, str | None]:
    """The primary region (the provider's setting `primary_key`, required) and `parley:secondaryRegion`, both
    checked by the cloud's `check(key, value)`: the secondary is a region other than the primary, required in
    prod."""
    primary = check(primary_key, stack.values.get(primary_key, ""))
    given = stack.values.get("parley:secondaryRegion")
    secondary = check("parley:secondaryRegion", given) if given else None
    if secondary == primary:
        fail("parley:secondaryRegion", f"must differ from {primary_key} ({primary})")
    if environment == "prod" and secondary is None:
        fail("parley:secondaryRegion", f"is required in prod, {why_in_prod}")
    return primary, secondary


def private_networks(
    parley: Mapping[str, str],
    defaults: Mapping[str, str],
    *,
    in_use: Collection[str],
    prefixes: range = range(16, 25),
) -> list[ipaddress.IPv4Network]:
    """Each `parley:<key>` of `defaults` (the default when unset) as a private network (`ipv4_network`), in
    `defaults`' order. The networks of `in_use` are routed together, so none may overlap an earlier one."""
    networks = {
        key: ipv4_network(f"parley:{key}", parley.get(key) or default, prefixes=prefixes)
        for key, default in defaults.items()
    }
    used = [key for key in networks if key in in_use]
    for index, later in enumerate(used):
        for earlier in used[:index]:
            if networks[later].overlaps(networks[earlier]):
                fail(f"parley:{later}", f"{networks[later]} overlaps parley:{earlier} {networks[earlier]}")
    return list(networks.values())


def replica_counts(replicas: int, max_replicas: int, *, ceiling: tuple[int, str] | None = None) -> None:
    """`parley:replicas` at most `parley:maxReplicas`, and that within the platform's `ceiling`: the most it
    runs and the phrase naming that limit."""
    if max_replicas < replicas:
        fail("parley:maxReplicas", f"{max_replicas} is below parley:replicas ({replicas})")
    if ceiling and max_replicas > ceiling[0]:
        fail("parley:maxReplicas", f"{max_replicas} is above {ceiling[1]}")


def with_overrides(preset: Preset, parley: Mapping[str, str], overrides: Mapping[str, str]) -> Preset:
    """The environment's preset (a dataclass) with each `parley:<key>` of `overrides` the stack gives in place
    of its attribute. "" and "0" keep the preset's value, as Pulumi.yaml's defaults mean; an attribute that
    holds a whole number takes only a whole number."""
    changes: dict[str, Any] = {}
    for key, attribute in overrides.items():
        given = parley.get(key, "")
        if given in ("", "0"):
            continue
        if isinstance(getattr(preset, attribute), int):
            if not given.isdigit():
                fail(f"parley:{key}", f"{given!r} is not a whole number")
            changes[attribute] = int(given)
        else:
            changes[attribute] = given
    return dataclasses.replace(preset, **changes)
