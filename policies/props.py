"""Reading resource properties the same way whatever their source: a run under mocks, a preview, an export or the
policy engine. Values may be missing, `"[unknown]"` (a preview's value of something not created yet), JSON held
in a string (IAM documents, ECS container definitions, provider settings) or a secret marker object."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

UNKNOWN = "[unknown]"
WORLD = ("0.0.0.0/0", "::/0")


def is_unknown(value: Any) -> bool:
    return value == UNKNOWN


def get(props: Mapping[str, Any] | Any, path: str, default: Any = None) -> Any:
    """The value at dotted `path` (`settings.ipConfiguration.ipv4Enabled`), `default` where any step is missing,
    and `"[unknown]"` where a step is unknown, so callers can tell "not set" from "not known yet"."""
    value: Any = props
    for key in path.split("."):
        if is_unknown(value):
            return UNKNOWN
        if not isinstance(value, Mapping) or key not in value:
            return default
        value = value[key]
    return default if value is None else value


def is_true(value: Any) -> bool:
    """True for `True` and for `"true"`: provider settings travel as strings."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def is_off(value: Any) -> bool:
    """Whether a flag that must be on is known not to be: missing, false or anything but true, yet not
    `"[unknown]"` (a preview cannot tell yet, so a rule does not complain)."""
    return not is_true(value) and not is_unknown(value)


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def as_dict(value: Any) -> Mapping[str, Any]:
    """A mapping, parsing a JSON object held in a string (the Pulumi CLI hands providers objects that way);
    `{}` for anything else, including secrets and unknowns, which a rule cannot read."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def json_list(value: Any) -> list[Any]:
    """A list, parsing a JSON array held in a string (ECS container definitions); `[]` otherwise."""
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return []
        return parsed if isinstance(parsed, list) else []
    return []


def ports_of(low: Any, high: Any) -> set[int] | None:
    """The ports from `low` to `high` (AWS's fromPort/toPort); `None` for all ports (-1, missing or huge)."""
    if not isinstance(low, int) or not isinstance(high, int) or low < 0 or high < low or high - low > 1024:
        return None
    return set(range(low, high + 1))


def port_ranges(specs: Any) -> set[int] | None:
    """Ports of Azure and GCP port specs (`"443"`, `"8000-8010"`, `"*"`); `None` for all ports."""
    found: set[int] = set()
    for spec in specs if isinstance(specs, list | tuple) else [specs]:
        text = str(spec).strip()
        if text in ("*", "", "None", "0-65535"):
            return None
        low, _, high = text.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            return None
        ranged = ports_of(int(low), int(high or low))
        if ranged is None:
            return None
        found |= ranged
    return found


# Names of settings that carry credentials: the credential word ends the name (`DB_PASSWORD`,
# `PARLEY_SECRET_KEY`), so `PARLEY_TOKEN_TTL_SECONDS` or `PARLEY_SECRET_KEY_ARN` (a reference) do not count.
SECRET_NAME = re.compile(
    r"(^|[_.-])(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|SECRET_KEY|CREDENTIALS?)$", re.IGNORECASE
)
URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s:]*:[^/@\s]+@", re.IGNORECASE)


def plain_secret(name: str, value: Any) -> bool:
    """Whether a plain setting `name=value` carries a credential: its name ends in a credential word, or its
    value is a URL with a password in it. Secret-marked values count too:
    Pulumi encrypts them in its state, but the cloud shows them to anyone who can read the resource."""
    if value is None or value == "" or is_unknown(value):
        return False
    if SECRET_NAME.search(name):
        return True
    return isinstance(value, str) and bool(URL_WITH_PASSWORD.match(value))


def named_values(entries: Any, value_key: str = "value") -> Iterator[tuple[str, Any]]:
    """(name, literal value) of a list of `{name, value}` entries, skipping those without a literal value."""
    for entry in as_list(entries):
        if isinstance(entry, Mapping) and value_key in entry:
            yield str(entry.get("name", "")), entry[value_key]
