"""Parley on AWS with Pulumi: raw pulumi-aws resources (no awsx, whose remote components mocks cannot
expand), one building block per module, wired per region by `region.py` and per stack by `app.py` (target
`aws`). `config.py`, `tags.py`, `network.py`, `security.py` and `policies.py` are general and shared with the
other AWS targets. docs/aws.md is the guide."""
