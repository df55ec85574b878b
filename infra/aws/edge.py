"""`LoadBalancer`: the internet-facing Application Load Balancer of one region.

HTTPS on 443 with an ACM certificate validated through the stack's Route 53 zone and a TLS 1.3/1.2 policy;
HTTP on 80 only redirects. WebSockets stay open up to an hour (`idle_timeout`), so a connection is not cut
between heartbeats. The target group checks `/readyz`, which fails while the store or the bus cannot answer;
stickiness is off because any task serves any client (Redis carries events between tasks). Access logs go to
an S3 bucket of their own: private, encrypted, expired after the retention."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.aws.policies import policy_document
from infra.aws.regions import elb_log_writer

SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
HEALTH_PATH = "/readyz"
IDLE_TIMEOUT_SECONDS = 3600
LOG_PREFIX = "alb"


@dataclass(frozen=True)
class LoadBalancerArgs:
    region: str
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    host: str
    hosted_zone_id: str
    app_port: int
    protect: bool
    log_retention_days: int


class LoadBalancer(pulumi.ComponentResource):
    arn_suffix: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    zone_id: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    target_group_arn_suffix: pulumi.Output[str]
    https_listener: aws.lb.Listener

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:aws:LoadBalancer", name, None, opts)
        self._name = name
        child = pulumi.ResourceOptions(parent=self)
        bucket, bucket_policy = self._log_bucket(args)
        alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            ip_address_type="ipv4",
            subnets=list(args.subnet_ids),
            security_groups=[args.security_group_id],
            idle_timeout=IDLE_TIMEOUT_SECONDS,
            drop_invalid_header_fields=True,
            desync_mitigation_mode="defensive",
            enable_http2=True,
            enable_deletion_protection=args.protect,
            access_logs={"bucket": bucket.bucket, "prefix": LOG_PREFIX, "enabled": True},
            # AWS checks that it may write the bucket when logging is turned on.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[bucket_policy]),
        )
        target_group = aws.lb.TargetGroup(
            f"{name}-tg",
            port=args.app_port,
            protocol="HTTP",
            target_type="ip",
            vpc_id=args.vpc_id,
            deregistration_delay=60,
            stickiness={"enabled": False, "type": "lb_cookie"},
            health_check={
                "path": HEALTH_PATH,
                "protocol": "HTTP",
                "port": "traffic-port",
                "matcher": "200",
                "interval": 15,
                "timeout": 5,
                "healthy_threshold": 2,
                "unhealthy_threshold": 3,
            },
            opts=child,
        )
        certificate_arn = self._certificate(args)
        self.https_listener = aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=alb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=SSL_POLICY,
            certificate_arn=certificate_arn,
            default_actions=[{"type": "forward", "target_group_arn": target_group.arn}],
            opts=child,
        )
        aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=alb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                {"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}
            ],
            opts=child,
        )
        self.arn_suffix, self.dns_name, self.zone_id = alb.arn_suffix, alb.dns_name, alb.zone_id
        self.target_group_arn, self.target_group_arn_suffix = target_group.arn, target_group.arn_suffix
        self.register_outputs(
            {
                "arn_suffix": self.arn_suffix,
                "dns_name": self.dns_name,
                "zone_id": self.zone_id,
                "target_group_arn": self.target_group_arn,
                "target_group_arn_suffix": self.target_group_arn_suffix,
            }
        )

    @property
    def request_count_label(self) -> pulumi.Output[str]:
        """What ALBRequestCountPerTarget scaling names: the load balancer and the target group."""
        return pulumi.Output.concat(self.arn_suffix, "/", self.target_group_arn_suffix)

    def _certificate(self, args: LoadBalancerArgs) -> pulumi.Output[str]:
        """An ACM certificate for the host, validated by a DNS record in the zone; its ARN once issued.
        ACM asks for the same record in every region, so each region's copy may overwrite the other's."""
        child = pulumi.ResourceOptions(parent=self)
        certificate = aws.acm.Certificate(
            f"{self._name}-cert", domain_name=args.host, validation_method="DNS", opts=child
        )
        option = certificate.domain_validation_options.apply(lambda options: options[0])
        record = aws.route53.Record(
            f"{self._name}-cert-validation",
            zone_id=args.hosted_zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=60,
            allow_overwrite=True,
            opts=child,
        )
        validation = aws.acm.CertificateValidation(
            f"{self._name}-cert", certificate_arn=certificate.arn, validation_record_fqdns=[record.fqdn], opts=child
        )
        return validation.certificate_arn

    def _log_bucket(self, args: LoadBalancerArgs) -> tuple[aws.s3.Bucket, aws.s3.BucketPolicy]:
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(f"{self._name}-logs", force_destroy=not args.protect, opts=child)
        aws.s3.BucketPublicAccessBlock(
            f"{self._name}-logs",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{self._name}-logs", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{self._name}-logs",
            bucket=bucket.id,
            # ALB access logs can only be written with S3-managed keys.
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{self._name}-logs",
            bucket=bucket.id,
            rules=[
                {
                    "id": "expire-access-logs",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "expiration": {"days": args.log_retention_days},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                }
            ],
            opts=child,
        )
        policy = aws.s3.BucketPolicy(
            f"{self._name}-logs",
            bucket=bucket.id,
            policy=bucket.arn.apply(lambda arn: json.dumps(_log_bucket_policy(arn, args.region))),
            opts=child,
        )
        return bucket, policy


def _log_bucket_policy(bucket_arn: str, region: str) -> dict[str, object]:
    return policy_document(
        {
            "Sid": "AlbAccessLogs",
            "Effect": "Allow",
            "Principal": elb_log_writer(region),
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/{LOG_PREFIX}/AWSLogs/*",
        },
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )
