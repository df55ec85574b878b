"""`Vault`: one region's Key Vault holding the app's secrets, readable by the app's identity only.

RBAC authorization (no access policies); soft delete always, purge protection and 90 days' retention when
the stack is protected. The firewall denies everything but the apps subnet (through its service endpoint) and
Azure's trusted services; `pulumi up` writes the secrets through Azure Resource Manager, not the vault's data
plane. Secret values arrive as Pulumi secrets and are never outputs: the app references them by URI."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure

from infra.azure.access import grant


@dataclass(frozen=True)
class VaultArgs:
    """`vault_name` is global (3-24 letters, digits and hyphens); `secrets` maps secret names to values;
    `reader_principal_id` is the identity granted Key Vault Secrets User on this vault."""

    resource_group_name: pulumi.Input[str]
    location: str
    vault_name: pulumi.Input[str]
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    apps_subnet_id: pulumi.Input[str]
    reader_principal_id: pulumi.Input[str]
    secrets: Mapping[str, pulumi.Input[str]]
    protect: bool
    tags: Mapping[str, str]


class Vault(pulumi.ComponentResource):
    vault_id: pulumi.Output[str]
    secret_uris: dict[str, pulumi.Output[str]]
    reader_grant: azure.authorization.RoleAssignment

    def __init__(self, name: str, args: VaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:azure:Vault", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        vault = azure.keyvault.Vault(
            f"{name}-kv",
            vault_name=args.vault_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties={
                "tenant_id": args.tenant_id,
                "sku": {"family": "A", "name": "standard"},
                "enable_rbac_authorization": True,
                "enable_soft_delete": True,
                "soft_delete_retention_in_days": 90 if args.protect else 7,
                # Purge protection cannot be turned off once on, so unprotected stacks leave it unset.
                "enable_purge_protection": True if args.protect else None,
                "public_network_access": "Enabled",
                "network_acls": {
                    "bypass": "AzureServices",
                    "default_action": "Deny",
                    "virtual_network_rules": [{"id": args.apps_subnet_id}],
                },
            },
            tags=dict(args.tags),
            opts=child,
        )
        self.secret_uris = {}
        for secret_name, value in args.secrets.items():
            secret = azure.keyvault.Secret(
                f"{name}-{secret_name}",
                secret_name=secret_name,
                vault_name=vault.name,
                resource_group_name=args.resource_group_name,
                properties={"value": pulumi.Output.secret(value), "content_type": "text/plain"},
                tags=dict(args.tags),
                opts=child,
            )
            # Versionless, so a new secret version reaches the app at its next revision or restart.
            self.secret_uris[secret_name] = secret.properties.secret_uri
        self.reader_grant = grant(
            f"{name}-secrets-user",
            role="Key Vault Secrets User",
            scope=vault.id,
            principal_id=args.reader_principal_id,
            subscription_id=args.subscription_id,
            parent=self,
        )
        self.vault_id = vault.id
        self.register_outputs({"vault_id": self.vault_id, "secret_uris": self.secret_uris})
