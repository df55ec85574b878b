"""What the mocks add to `azure-native:` resources' outputs, and answer for its provider functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Args = dict[str, Any]


def azure_outputs(typ: str, name: str, inputs: Args, resource_id: str, known: dict[str, Args]) -> Args:
    """The outputs beyond the inputs that a `azure-native` resource of type `typ` would return."""
    return {"id": resource_id}


CALLS: dict[str, Callable[[Args, str], Args]] = {}
