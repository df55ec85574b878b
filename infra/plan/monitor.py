"""`RecordingMonitor`: Pulumi's mock resource monitor, keeping each registration as a plan `Resource`. It sees
the SDK's whole request (parent, provider, custom, dependencies, which outputs are secret), which `Mocks`
alone is not told."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from pulumi.runtime import mocks

from infra.plan.model import STACK_TYPE, Resource, Secret
from infra.plan.values import from_wire, provider_urn


class RecordingMonitor(mocks.MockMonitor):
    """The SDK calls the monitor on its executor's threads, where `MockMonitor` makes an event loop if the
    thread has none; this monitor makes them instead and keeps them in `loops`, for the run to close."""

    def __init__(self, plan_mocks: mocks.Mocks) -> None:
        super().__init__(plan_mocks)
        self.recorded: list[Resource] = []
        self.loops: list[asyncio.AbstractEventLoop] = []
        self._threads_with_loops: set[int] = set()
        self._lock = threading.Lock()

    def _ensure_loop(self) -> None:
        with self._lock:
            is_new = threading.get_ident() not in self._threads_with_loops
            self._threads_with_loops.add(threading.get_ident())
        if is_new:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            with self._lock:
                self.loops.append(loop)

    def Invoke(self, request: Any) -> Any:
        self._ensure_loop()
        return super().Invoke(request)  # type: ignore[no-untyped-call]

    def ReadResource(self, request: Any) -> Any:
        self._ensure_loop()
        return super().ReadResource(request)  # type: ignore[no-untyped-call]

    def RegisterResource(self, request: Any) -> Any:
        self._ensure_loop()
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == STACK_TYPE:
            return response
        inputs = from_wire(plain(request.object))
        outputs = from_wire(plain(response.object))
        self.recorded.append(
            Resource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=request.custom,
                inputs=inputs,
                outputs=_secret_outputs(outputs, inputs, set(request.additionalSecretOutputs)),
                parent=request.parent,
                dependencies=_dependencies(request),
                provider=provider_urn(request.provider),
                id=(response.id or None) if request.custom else None,
            )
        )
        return response


def _dependencies(request: Any) -> list[str]:
    """The explicit `depends_on` URNs and those the inputs carry, sorted: the SDK sends them from a set."""
    urns = set(request.dependencies)
    for key in request.propertyDependencies:
        urns.update(request.propertyDependencies[key].urns)
    return sorted(urns)


def _secret_outputs(outputs: dict[str, Any], inputs: dict[str, Any], secret_keys: set[str]) -> dict[str, Any]:
    """As the engine does: an output is secret when the SDK says so or when its input of the same name was."""
    return {
        key: Secret(value)
        if not isinstance(value, Secret) and (key in secret_keys or isinstance(inputs.get(key), Secret))
        else value
        for key, value in outputs.items()
    }


def plain(message: Any) -> Any:
    """A protobuf `Struct`, `ListValue` or `Value` as plain Python values (as `json_format.MessageToDict` gives;
    not imported, so that without the infra extra the first module missing is `pulumi`, which `parley --help`
    can name)."""
    if hasattr(message, "fields"):
        return {key: plain(value) for key, value in message.fields.items()}
    kind = message.WhichOneof("kind")
    if kind == "struct_value":
        return plain(message.struct_value)
    if kind == "list_value":
        return [plain(value) for value in message.list_value.values]
    return None if kind in (None, "null_value") else getattr(message, kind)
