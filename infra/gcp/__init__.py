"""Parley on GCP with Pulumi (target `gcp`): raw pulumi-gcp resources, one building block per module (network,
database, cache, compute, edge), wired per region by `region.py` and per stack by `app.py`, the same shape as
`infra/aws`. docs/gcp.md is the guide."""
