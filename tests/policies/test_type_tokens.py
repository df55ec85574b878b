"""Every type token a rule reads is one the provider SDKs really register: a misspelt token (Pulumi's are not
always the class name in camelCase: `gcp:compute/sSLPolicy:SSLPolicy`) would make a rule that never fires, and
its own test cases, written with the same spelling, would not notice."""

from __future__ import annotations

import importlib

import pytest
from pulumi.type_token import get_type_token

from policies.rules import REGISTRY

PACKAGES = {
    "aws": "pulumi_aws",
    "azure-native": "pulumi_azure_native",
    "gcp": "pulumi_gcp",
    "kubernetes": "pulumi_kubernetes",
}
# Python module names that differ from the token's module (a keyword cannot be a module name).
RENAMED = {"lambda": "lambda_"}


def sdk_class(token: str) -> type:
    """The SDK class a type token names: `aws:ec2/securityGroup:SecurityGroup` is pulumi_aws.ec2.SecurityGroup,
    `kubernetes:networking.k8s.io/v1:Ingress` is pulumi_kubernetes.networking.v1.Ingress."""
    package, module, name = token.split(":")
    if package == "kubernetes":
        group, version = module.split("/")
        path = f"{group.split('.')[0]}.{version}"
    else:
        path = module.split("/")[0]
    path = RENAMED.get(path, path)
    return getattr(importlib.import_module(f"{PACKAGES[package]}.{path}"), name)


@pytest.mark.parametrize("token", sorted({t for rule in REGISTRY.all() for t in rule.resource_types}))
def test_every_type_a_rule_reads_is_a_real_resource_type(token: str) -> None:
    try:
        found = get_type_token(sdk_class(token))
    except (ImportError, AttributeError) as error:
        pytest.fail(f"{token} names no resource class of the provider SDK: {error}")
    assert found == token
