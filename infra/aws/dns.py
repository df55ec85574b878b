"""`PublicName`: the stack's host name in its Route 53 zone, an alias of the load balancer.

With a secondary region the name fails over: Route 53 checks the primary ALB's `/readyz` over HTTPS from
several locations and answers with the primary while it is healthy, with the secondary otherwise (which is
only a full service once its database replica is promoted: docs/aws.md, runbook)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.aws.edge import HEALTH_PATH


@dataclass(frozen=True)
class AliasTarget:
    """A load balancer as Route 53 aliases it."""

    dns_name: pulumi.Input[str]
    zone_id: pulumi.Input[str]


@dataclass(frozen=True)
class PublicNameArgs:
    host: str
    hosted_zone_id: str
    primary: AliasTarget
    secondary: AliasTarget | None = None


class PublicName(pulumi.ComponentResource):
    url: pulumi.Output[str]
    health_check_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: PublicNameArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:aws:PublicName", name, None, opts)
        self._name = name
        child = pulumi.ResourceOptions(parent=self)
        self.health_check_id = None
        if args.secondary is None:
            self._alias("", args, args.primary)
        else:
            check = aws.route53.HealthCheck(
                f"{name}-primary-ready",
                type="HTTPS",
                fqdn=args.primary.dns_name,
                port=443,
                resource_path=HEALTH_PATH,
                enable_sni=True,
                request_interval=10,
                failure_threshold=3,
                tags={"Name": f"{args.host} primary {HEALTH_PATH}"},
                opts=child,
            )
            self._alias("primary", args, args.primary, failover="PRIMARY", health_check_id=check.id)
            self._alias("secondary", args, args.secondary, failover="SECONDARY")
            self.health_check_id = check.id
        self.url = pulumi.Output.from_input(f"https://{args.host}")
        self.register_outputs({"url": self.url, "health_check_id": self.health_check_id})

    def _alias(
        self,
        label: str,
        args: PublicNameArgs,
        target: AliasTarget,
        *,
        failover: str | None = None,
        health_check_id: pulumi.Input[str] | None = None,
    ) -> aws.route53.Record:
        return aws.route53.Record(
            f"{self._name}-{label}" if label else f"{self._name}-alias",
            zone_id=args.hosted_zone_id,
            name=args.host,
            type="A",
            aliases=[{"name": target.dns_name, "zone_id": target.zone_id, "evaluate_target_health": True}],
            set_identifier=label or None,
            failover_routing_policies=[{"type": failover}] if failover else None,
            health_check_id=health_check_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
