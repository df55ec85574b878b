"""Property values between Pulumi's wire form and the plan's: secrets become `Secret`, unknowns `[unknown]`,
resource references their URN, assets and archives plain `{"asset": ...}` / `{"archive": ...}` objects, and
whole-number floats (protobuf has no integers) ints again. `to_json` is the only way a value leaves the plan, and
it writes every secret as `[secret]`."""

from __future__ import annotations

from typing import Any

from infra.plan.model import SECRET_TEXT, UNKNOWN, Secret

# The signature key of Pulumi's special values and the kinds it marks (sdk/go/common/resource/properties.go).
SIGNATURE = "4dabf18193072939515e22adb298388d"
SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270"
ASSET_SIGNATURE = "c44067f5952c0a294b673a41bacd8c17"
ARCHIVE_SIGNATURE = "0def7320c3a5731c473e5ecbe6d01bc7"
RESOURCE_SIGNATURE = "5cf8f73096256a8f31e491e813e4eb8e"
OUTPUT_SIGNATURE = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
UNKNOWN_WIRE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def from_wire(value: Any) -> Any:
    """A plan value from a JSON-shaped Pulumi property value (a preview, an export, or a mock's protobuf)."""
    if isinstance(value, dict):
        if SIGNATURE in value:
            return _special(value)
        return {k: from_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_wire(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == UNKNOWN_WIRE:
        return UNKNOWN
    return value


def _special(value: dict[str, Any]) -> Any:
    kind = value[SIGNATURE]
    rest = {k: from_wire(v) for k, v in value.items() if k != SIGNATURE}
    if kind == SECRET_SIGNATURE:
        # An export holds only `ciphertext`; a preview or the mock monitor holds the plain `value`.
        return Secret(rest.get("value"))
    if kind == ASSET_SIGNATURE:
        return {"asset": rest}
    if kind == ARCHIVE_SIGNATURE:
        return {"archive": rest}
    if kind == RESOURCE_SIGNATURE:
        return rest["urn"]
    if kind == OUTPUT_SIGNATURE:
        known = rest.get("value", UNKNOWN)
        return Secret(known) if rest.get("secret") else known
    raise ValueError(f"unknown Pulumi value signature {kind!r}")


def to_json(value: Any) -> Any:
    """`value` as JSON-ready data with every secret replaced by `[secret]`, and objects' keys sorted as the
    Pulumi CLI writes them (the mock monitor's arrive in no fixed order)."""
    if isinstance(value, Secret):
        return SECRET_TEXT
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in sorted(value.items(), key=lambda item: str(item[0]))}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def from_json(value: Any) -> Any:
    """The inverse of `to_json` for a plan file: `[secret]` becomes a `Secret` without a value."""
    if value == SECRET_TEXT:
        return Secret()
    if isinstance(value, dict):
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def reveal(value: Any) -> Any:
    """`value` with its secrets' plain values in place, for tests that check what a program passed."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def provider_urn(reference: str) -> str:
    """A provider reference is `<provider URN>::<provider id>`; the plan keeps the URN."""
    urn_parts = 4  # urn:pulumi:<stack>::<project>::<type>::<name>
    parts = reference.split("::")
    return "::".join(parts[:urn_parts]) if len(parts) > urn_parts else reference
