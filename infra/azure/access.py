"""Azure RBAC: the built-in roles Parley grants, and one role assignment per grant. Every grant names one
principal (a managed identity) and the narrowest scope that works: one vault, one registry."""

from __future__ import annotations

from typing import Literal

import pulumi
import pulumi_azure_native as azure

Role = Literal["AcrPull", "Key Vault Secrets User"]
# Built-in role definitions: the same ids in every subscription.
ROLE_IDS: dict[Role, str] = {
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
}


def role_definition_id(subscription_id: pulumi.Input[str], role: Role) -> pulumi.Output[str]:
    return pulumi.Output.concat(
        "/subscriptions/", subscription_id, "/providers/Microsoft.Authorization/roleDefinitions/", ROLE_IDS[role]
    )


def grant(
    name: str,
    *,
    role: Role,
    scope: pulumi.Input[str],
    principal_id: pulumi.Input[str],
    subscription_id: pulumi.Input[str],
    parent: pulumi.Resource,
) -> azure.authorization.RoleAssignment:
    """`principal_id` (a managed identity's) gets `role` on `scope`. The principal type is given, so Azure
    does not look the new identity up in Entra ID, where it may not have replicated yet."""
    return azure.authorization.RoleAssignment(
        name,
        role_definition_id=role_definition_id(subscription_id, role),
        principal_id=principal_id,
        principal_type="ServicePrincipal",
        scope=scope,
        description=f"Parley: {role}",
        opts=pulumi.ResourceOptions(parent=parent),
    )
