"""Names in the stack's Route 53 zone.

`PublicName`: a host name, an alias of the load balancer (aws) or of a region's API Gateway custom domain
(aws-serverless). With a secondary region the name fails over: Route 53 checks the primary's `/readyz` over
HTTPS from several locations and answers with the primary while it is healthy, with the secondary otherwise
(for the aws target only a full service once its database replica is promoted: docs/aws.md, runbook).

`Certificates`: one ACM certificate per region for the same names, validated by one DNS record per name.
`ApiDomains`: a region's API Gateway custom domains on its certificate, and the health check of that region."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.aws.edge import HEALTH_PATH

SERVERLESS_CHECK_INTERVAL = 30


@dataclass(frozen=True)
class AliasTarget:
    """A load balancer or a custom domain as Route 53 aliases it. `health_check_id`: the check whose failure
    takes this target out of the answers; without one, `PublicName` checks a primary's `/readyz` itself."""

    dns_name: pulumi.Input[str]
    zone_id: pulumi.Input[str]
    health_check_id: pulumi.Input[str] | None = None


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
            check_id = args.primary.health_check_id
            if check_id is None:
                check_id = aws.route53.HealthCheck(
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
                ).id
            self._alias("primary", args, args.primary, failover="PRIMARY", health_check_id=check_id)
            self._alias(
                "secondary", args, args.secondary, failover="SECONDARY", health_check_id=args.secondary.health_check_id
            )
            self.health_check_id = pulumi.Output.from_input(check_id)
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


@dataclass(frozen=True)
class CertificatesArgs:
    """`hosts`: the certificate's name first, then its alternative names. `providers`: one per region, the
    primary's first (the validation records are declared through it; Route 53 is global)."""

    hosts: tuple[str, ...]
    hosted_zone_id: str
    providers: Mapping[str, pulumi.ProviderResource]


class Certificates(pulumi.ComponentResource):
    """ACM asks for the same validation record for a name in every region of an account, so the records are
    declared once, from the primary's certificate, and every region's validation waits for them: no two
    resources own one record, and removing a region cannot delete the record the others renew with."""

    arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: CertificatesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:aws:Certificates", name, None, opts)
        certificates = {
            region: aws.acm.Certificate(
                f"{name}-{region}",
                domain_name=args.hosts[0],
                subject_alternative_names=list(args.hosts[1:]) or None,
                validation_method="DNS",
                opts=pulumi.ResourceOptions(parent=self, provider=provider),
            )
            for region, provider in args.providers.items()
        }
        primary_region, primary_provider = next(iter(args.providers.items()))
        options = certificates[primary_region].domain_validation_options.apply(_by_host)
        fqdns = [
            _validation_record(f"{name}-validation-{host}", options, host, args.hosted_zone_id, self, primary_provider)
            for host in args.hosts
        ]
        self.arns = {
            region: aws.acm.CertificateValidation(
                f"{name}-{region}",
                certificate_arn=certificate.arn,
                validation_record_fqdns=fqdns,
                opts=pulumi.ResourceOptions(parent=self, provider=args.providers[region]),
            ).certificate_arn
            for region, certificate in certificates.items()
        }
        self.register_outputs({"arns": self.arns})


ValidationOption = aws.acm.outputs.CertificateDomainValidationOption


def _by_host(options: Sequence[ValidationOption]) -> dict[str, ValidationOption]:
    return {str(option.domain_name): option for option in options}


def _validation_record(
    name: str,
    options: pulumi.Output[dict[str, ValidationOption]],
    host: str,
    hosted_zone_id: str,
    parent: pulumi.Resource,
    provider: pulumi.ProviderResource,
) -> pulumi.Output[str]:
    """The record ACM asks for to validate `host`; its name once declared."""
    option = options.apply(lambda by_host: by_host[host])
    record = aws.route53.Record(
        name,
        zone_id=hosted_zone_id,
        name=option.apply(lambda o: str(o.resource_record_name)),
        type=option.apply(lambda o: str(o.resource_record_type)),
        records=[option.apply(lambda o: str(o.resource_record_value))],
        ttl=60,
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
    return record.fqdn


@dataclass(frozen=True)
class ApiDomain:
    """A host name served by one API's stage."""

    host: str
    api_id: pulumi.Input[str]
    stage: pulumi.Input[str]


@dataclass(frozen=True)
class ApiDomainsArgs:
    """`domains` by label (`websocket`, `http`); `health_host` the host whose `/readyz` tells whether the
    region serves (the HTTP API's own `execute-api` name: a custom domain name leads to whichever region
    Route 53 picked, and the regional target answers only to the custom name), None for no health check
    (one region: nothing to fail over to, so a check would only cost)."""

    region: str
    certificate_arn: pulumi.Input[str]
    domains: Mapping[str, ApiDomain]
    health_host: pulumi.Input[str] | None = None


class ApiDomains(pulumi.ComponentResource):
    """Regional custom domains (TLS 1.2 and up) mapped to their APIs, and one health check for the region."""

    targets: dict[str, AliasTarget]
    health_check_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: ApiDomainsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:aws:ApiDomains", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.health_check_id = self._health_check(name, args) if args.health_host is not None else None
        self.targets = {}
        for label, domain in args.domains.items():
            custom = aws.apigatewayv2.DomainName(
                f"{name}-{label}",
                domain_name=domain.host,
                domain_name_configuration=aws.apigatewayv2.DomainNameDomainNameConfigurationArgs(
                    certificate_arn=args.certificate_arn, endpoint_type="REGIONAL", security_policy="TLS_1_2"
                ),
                opts=child,
            )
            aws.apigatewayv2.ApiMapping(
                f"{name}-{label}", api_id=domain.api_id, domain_name=custom.id, stage=domain.stage, opts=child
            )
            # What API Gateway assigns the domain: a `d-*.execute-api.<region>.amazonaws.com` name and its zone.
            configuration = custom.domain_name_configuration
            self.targets[label] = AliasTarget(
                dns_name=configuration.target_domain_name,
                zone_id=configuration.hosted_zone_id,
                health_check_id=self.health_check_id,
            )
        self.register_outputs({"health_check_id": self.health_check_id})

    def _health_check(self, name: str, args: ApiDomainsArgs) -> pulumi.Output[str]:
        return aws.route53.HealthCheck(
            f"{name}-ready",
            type="HTTPS",
            fqdn=args.health_host,
            port=443,
            resource_path=HEALTH_PATH,
            enable_sni=True,
            # Every check is a paid invocation of the HTTP function: every 30 s, not 10 (about 90 s to fail over).
            request_interval=SERVERLESS_CHECK_INTERVAL,
            failure_threshold=3,
            tags={"Name": f"{name} {HEALTH_PATH} ({args.region})"},
            opts=pulumi.ResourceOptions(parent=self),
        ).id
