"""Every rule, one module per cloud; importing this package registers them all in `REGISTRY`."""

from __future__ import annotations

from policies.registry import REGISTRY
from policies.rules import aws, aws_access, azure, common, gcp, kubernetes

__all__ = ["REGISTRY", "aws", "aws_access", "azure", "common", "gcp", "kubernetes"]
