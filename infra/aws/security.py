"""Who may talk to whom, and how data is kept: the security-group chain, the region's KMS key, and secrets
in Secrets Manager.

The chain, each hop a rule naming the peer security group (never an address range):

    internet --443, 80 (redirect only)--> alb --app port--> app --5432--> database
                                                            app --6379--> cache
                                                            app --443---> endpoints (or the internet via NAT)

Nothing reaches the database or the cache except the app; the database and cache groups have no egress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

ANYWHERE = "0.0.0.0/0"
HTTPS_PORT = 443
HTTP_PORT = 80


@dataclass(frozen=True)
class SecurityGroupsArgs:
    """`interface_endpoints`: the tasks reach AWS APIs through the VPC's interface endpoints and S3 through
    its gateway endpoint (`s3_prefix_list_id`), so their HTTPS egress goes there and nowhere else."""

    vpc_id: pulumi.Input[str]
    app_port: int
    database_port: int
    cache_port: int
    interface_endpoints: bool
    s3_prefix_list_id: pulumi.Input[str]


class SecurityGroups(pulumi.ComponentResource):
    alb_id: pulumi.Output[str]
    app_id: pulumi.Output[str]
    database_id: pulumi.Output[str]
    cache_id: pulumi.Output[str]
    endpoints_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: SecurityGroupsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:aws:SecurityGroups", name, None, opts)
        self._name = name
        alb = self._group("alb", "Parley load balancer: HTTPS from anywhere, HTTP only to redirect", args)
        app = self._group("app", "Parley tasks: the app port from the load balancer", args)
        database = self._group("database", "Parley PostgreSQL: from the app only", args)
        cache = self._group("cache", "Parley Redis: from the app only", args)
        self._rule("in", "alb-https", alb, HTTPS_PORT, cidr=ANYWHERE)
        self._rule("in", "alb-http", alb, HTTP_PORT, cidr=ANYWHERE)
        self._pair("alb-app", alb, app, args.app_port)
        self._pair("app-database", app, database, args.database_port)
        self._pair("app-cache", app, cache, args.cache_port)
        self.endpoints_id = None
        if args.interface_endpoints:
            endpoints = self._group("endpoints", "AWS API endpoints in the VPC: HTTPS from the app only", args)
            self._pair("app-endpoints", app, endpoints, HTTPS_PORT)
            self._rule("out", "app-s3", app, HTTPS_PORT, prefix_list=args.s3_prefix_list_id)
            self.endpoints_id = endpoints.id
        else:
            # ECR, CloudWatch Logs and Secrets Manager through NAT: their addresses are not fixed.
            self._rule("out", "app-aws-apis", app, HTTPS_PORT, cidr=ANYWHERE)
        self.alb_id, self.app_id, self.database_id, self.cache_id = alb.id, app.id, database.id, cache.id
        self.register_outputs(
            {
                "alb_id": self.alb_id,
                "app_id": self.app_id,
                "database_id": self.database_id,
                "cache_id": self.cache_id,
                "endpoints_id": self.endpoints_id,
            }
        )

    def _group(self, role: str, description: str, args: SecurityGroupsArgs) -> aws.ec2.SecurityGroup:
        # No inline rules: AWS's default allow-all egress is removed and every hop is a rule of its own.
        return aws.ec2.SecurityGroup(
            f"{self._name}-{role}",
            vpc_id=args.vpc_id,
            description=description,
            tags={"Name": f"{self._name}-{role}"},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _pair(self, label: str, source: aws.ec2.SecurityGroup, target: aws.ec2.SecurityGroup, port: int) -> None:
        """`source` may open `port` on `target`: an egress rule on one side, the ingress rule on the other."""
        self._rule("out", label, source, port, peer=target)
        self._rule("in", label, target, port, peer=source)

    def _rule(
        self,
        direction: Literal["in", "out"],
        label: str,
        group: aws.ec2.SecurityGroup,
        port: int,
        *,
        peer: aws.ec2.SecurityGroup | None = None,
        cidr: str | None = None,
        prefix_list: pulumi.Input[str] | None = None,
    ) -> None:
        """One TCP rule of `group` on `port`: ingress (`in`) from, or egress (`out`) to, `peer`, `cidr` or
        `prefix_list`."""
        rule = aws.vpc.SecurityGroupIngressRule if direction == "in" else aws.vpc.SecurityGroupEgressRule
        rule(
            f"{self._name}-{direction}-{label}",
            security_group_id=group.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            referenced_security_group_id=peer.id if peer else None,
            cidr_ipv4=cidr,
            prefix_list_id=prefix_list,
            description=f"{label} on {port}",
            opts=pulumi.ResourceOptions(parent=self),
        )


def data_key(name: str, *, alias: str, description: str, parent: pulumi.Resource) -> aws.kms.Key:
    """A customer-managed key, rotated yearly, with the default key policy (the account's IAM policies decide
    who may use it). It encrypts the database, its snapshots and Performance Insights, the cache and the
    secrets of one region."""
    key = aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=30,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    aws.kms.Alias(name, name=alias, target_key_id=key.key_id, opts=pulumi.ResourceOptions(parent=parent))
    return key


def stored_secret(
    name: str,
    *,
    description: str,
    value: pulumi.Input[str],
    key: aws.kms.Key,
    recovery_window_days: int,
    parent: pulumi.Resource,
) -> aws.secretsmanager.Secret:
    """A Secrets Manager secret holding `value` (kept a Pulumi secret, so state and previews show it
    encrypted). Tasks read it by ARN; the value itself is never an output."""
    secret = aws.secretsmanager.Secret(
        name,
        description=description,
        kms_key_id=key.arn,
        recovery_window_in_days=recovery_window_days,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    aws.secretsmanager.SecretVersion(
        name,
        secret_id=secret.id,
        secret_string=pulumi.Output.secret(value),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return secret
