"""`Registry`: the stack's Azure Container Registry, holding the Parley image.

No admin user and no anonymous pull: each region's identity pulls with AcrPull (granted in region.py), CI
pushes with its own Entra ID identity. Premium (prod) is zone-redundant and geo-replicated to the secondary
region, so that region pulls from its own replica and still starts replicas while the primary is down."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure


@dataclass(frozen=True)
class RegistryArgs:
    """`registry_name` is global (5-50 letters and digits); `replicate_to` lists locations (Premium only)."""

    resource_group_name: pulumi.Input[str]
    location: str
    registry_name: pulumi.Input[str]
    sku: str
    tags: Mapping[str, str]
    replicate_to: Sequence[str] = ()


class Registry(pulumi.ComponentResource):
    registry_id: pulumi.Output[str]
    login_server: pulumi.Output[str]

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:azure:Registry", name, None, opts)
        if args.replicate_to and args.sku != "Premium":
            raise pulumi.RunError(f"{name}: only a Premium registry replicates (this one is {args.sku})")
        child = pulumi.ResourceOptions(parent=self)
        premium = args.sku == "Premium"
        registry = azure.containerregistry.Registry(
            f"{name}-acr",
            registry_name=args.registry_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku={"name": args.sku},
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            public_network_access="Enabled",  # CI pushes from outside Azure's networks
            zone_redundancy="Enabled" if premium else "Disabled",
            tags=dict(args.tags),
            opts=child,
        )
        for location in args.replicate_to:
            azure.containerregistry.Replication(
                f"{name}-{location}",
                registry_name=registry.name,
                resource_group_name=args.resource_group_name,
                location=location,
                zone_redundancy="Enabled",
                region_endpoint_enabled=True,
                tags=dict(args.tags),
                opts=child,
            )
        self.registry_id, self.login_server = registry.id, registry.login_server
        self.register_outputs({"registry_id": self.registry_id, "login_server": self.login_server})
