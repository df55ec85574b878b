"""Cost-allocation tags and the providers that stamp them on every resource.

Every AWS resource of a Parley stack is created through a provider from `regional_provider`, whose
`default_tags` carry the tags below, so no resource can miss them (the default provider, which would not, is
never used). Activate the keys as cost-allocation tags once in the Billing console to split the bill by
stack and environment."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.tags import AWS_TAG_FOR, cost_labels

TAG_KEYS = tuple(AWS_TAG_FOR.values())


def cost_tags(environment: str) -> dict[str, str]:
    """`cost_labels` (infra/tags.py) in AWS's spelling: `parley:stack`, `pulumi:project`, ..."""
    return {AWS_TAG_FOR[key]: value for key, value in cost_labels(environment).items()}


def regional_provider(
    name: str,
    *,
    region: str,
    tags: dict[str, str],
    profile: str | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> aws.Provider:
    """An explicit provider for one region. Explicit providers ignore the stack's `aws:` settings, so the
    credentials profile is passed on; everything else comes from the environment (AWS_* variables, OIDC)."""
    return aws.Provider(name, region=region, profile=profile, default_tags={"tags": tags}, opts=opts)
