"""Cost-allocation labels every cloud target stamps on its resources, in the one spelling every cloud accepts.

AWS tags allow `:` in keys (infra/aws/tags.py keeps `parley:stack`), but GCP label keys allow only lower-case
letters, digits, `_` and `-`, and Azure refuses `:` in tag names (Front Door profiles and endpoints refuse it,
private DNS zones silently drop such tags, so a bill split by tag would miss them), so the cloud-neutral keys
use `-`. `AWS_TAG_FOR` maps each key to its AWS spelling, so a bill split by stack reads the same everywhere."""

from __future__ import annotations

import pulumi

LABEL_KEYS = ("parley-stack", "parley-environment", "pulumi-project", "pulumi-stack")
AWS_TAG_FOR = dict(
    zip(LABEL_KEYS, ("parley:stack", "parley:environment", "pulumi:project", "pulumi:stack"), strict=True)
)


def cost_labels(environment: str) -> dict[str, str]:
    """The four labels of the running stack. Values are stack, project and environment names, which the
    targets already restrict to lower-case letters, digits and `-`, as GCP label values require."""
    stack = pulumi.get_stack()
    return {
        "parley-stack": stack,
        "parley-environment": environment,
        "pulumi-project": pulumi.get_project(),
        "pulumi-stack": stack,
    }
