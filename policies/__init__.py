"""Parley's policy pack: rules as plain functions over a resource's type and properties (`policies.rules`), run
by the engine (`pulumi preview --policy-pack policies`, `policies/__main__.py`) and offline over a plan
(`parley policy`, `policies/cli.py`). The rules import neither `app` nor `infra`."""
