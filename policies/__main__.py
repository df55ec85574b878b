"""The policy pack's entry point: `pulumi preview --policy-pack policies` runs this file, which serves one policy
per rule to the engine (`PolicyPack` blocks, serving, once built)."""

from __future__ import annotations

import sys
from pathlib import Path

# Pulumi runs this file with policies/ on sys.path, not the project root, and the rules import as `policies.*`.
ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policies.pack import build_policies  # noqa: E402
from policies.rules import REGISTRY  # noqa: E402

PolicyPack(
    name="parley",
    policies=build_policies(REGISTRY),
    enforcement_level=EnforcementLevel.ADVISORY,
    description="Parley's rules for AWS, Azure, GCP and Kubernetes stacks (docs/policies.md).",
)
