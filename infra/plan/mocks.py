"""`PlanMocks`: the engine's and the clouds' stand-in while a program runs offline. A resource's outputs are its
inputs plus what the provider would add and programs read (ids, ARNs, generated names, endpoints, random
values), all derived from the resource's type and name so every run of a stack gives the same plan."""

from __future__ import annotations

import base64
import string
from typing import Any

import pulumi

from infra.plan import calls
from infra.plan.aws_mocks import aws_outputs, digest
from infra.plan.azure_mocks import azure_outputs
from infra.plan.gcp_mocks import gcp_outputs

DEFAULT_REGION = "us-east-1"

Outputs = dict[str, Any]


class PlanMocks(pulumi.runtime.Mocks):
    """`region` is the stack's `aws:region`; an explicit aws provider's or a resource's own `region` wins."""

    def __init__(self, *, region: str = DEFAULT_REGION) -> None:
        self.region = region
        self._provider_regions: dict[str, str] = {}
        self._outputs: dict[str, Outputs] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, Outputs]:
        resource_id = args.resource_id or f"{args.name}-{digest(args.typ, args.name)}"
        if args.typ == "pulumi:providers:aws":
            self._provider_regions[resource_id] = args.inputs.get("region") or self.region
        package = args.typ.split(":")[0]
        extra: Outputs = {}
        if package == "aws":
            region = self._region(args.provider, args.inputs)
            extra = aws_outputs(args.typ, args.name, args.inputs, resource_id, region, self._outputs)
        elif package == "azure-native":
            extra = azure_outputs(args.typ, args.name, args.inputs, resource_id, self._outputs)
            resource_id = args.resource_id or extra["id"]  # azure-native's resource id is the ARM id
        elif package == "gcp":
            extra = gcp_outputs(args.typ, args.name, args.inputs, resource_id, self._outputs)
        elif package == "random":
            extra = _random_outputs(args)
        self._outputs[resource_id] = {**args.inputs, **extra}
        return resource_id, self._outputs[resource_id]

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[Outputs, list[tuple[str, str]]]:
        """The answer and no check failures."""
        return calls.answer(args.token, args.args, self._region(args.provider, args.args)), []

    def _region(self, provider: str | None, given: dict[str, Any]) -> str:
        if given.get("region"):
            return str(given["region"])
        provider_id = (provider or "").rsplit("::", 1)[-1]
        return self._provider_regions.get(provider_id, self.region)


def _random_outputs(args: pulumi.runtime.MockResourceArgs) -> Outputs:
    seed = digest(args.typ, args.name, size=64)
    kind = args.typ.split(":")[-1]
    if kind in ("RandomPassword", "RandomString"):
        alphabet = string.ascii_letters + string.digits
        length = int(args.inputs.get("length") or 16)
        text = "".join(alphabet[int(seed[(2 * i) % 64 : (2 * i) % 64 + 2], 16) % len(alphabet)] for i in range(length))
        return {"result": text, "bcryptHash": f"$2a$10${seed[:53]}"} if kind == "RandomPassword" else {"result": text}
    if kind == "RandomId":
        raw = bytes.fromhex(seed[: 2 * int(args.inputs.get("byteLength") or 8)])
        return {
            "hex": raw.hex(),
            "dec": str(int.from_bytes(raw, "big")),
            "b64Url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
            "b64Std": base64.b64encode(raw).decode(),
        }
    if kind == "RandomPet":
        return {"id": f"parley-{seed[:6]}"}
    if kind == "RandomUuid":
        return {"result": f"{seed[:8]}-{seed[8:12]}-{seed[12:16]}-{seed[16:20]}-{seed[20:32]}"}
    if kind == "RandomInteger":
        return {"result": int(args.inputs.get("min") or 0)}
    return {}
