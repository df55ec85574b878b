"""The Pulumi program: reads `parley:target` and hands the stack's configuration to that target's program."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pulumi

# Pulumi runs this file with infra/ on sys.path, not the project root, and the targets import as `infra.*`.
ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# Each target is a module with `deploy(config: pulumi.Config) -> None`, imported only when a stack names it,
# so a stack needs its own target's SDK alone.
TARGETS = {
    "kubernetes": "infra.kubernetes.app",
    "aws": "infra.aws.app",
    "aws-serverless": "infra.aws.serverless",
    "azure": "infra.azure.app",
    "gcp": "infra.gcp.app",
}

config = pulumi.Config("parley")
target = config.require("target")
if target not in TARGETS:
    raise pulumi.RunError(f"parley:target {target!r} is not one of {', '.join(sorted(TARGETS))}")
importlib.import_module(TARGETS[target]).deploy(config)
