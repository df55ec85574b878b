"""`Edge`: the global external Application Load Balancer in front of every region's Cloud Run service, and
the failover between them.

    host --DNS A--> global address --443 (managed certificate, TLS 1.2+)--> HTTPS proxy --> URL map
        --> backend service (EXTERNAL_MANAGED) --> serverless NEG per region --> Cloud Run in that region
    host --80--> HTTP proxy --> URL map that only redirects to https (301)

How GCP fails over between serverless NEGs (they take no health checks, and have no capacity to balance):
the load balancer sends each request to the region nearest the client, and away from a region when
- Cloud Run reports that region's service unhealthy: fewer than 60 % of its instances pass their
  readiness probe (`/readyz`; the service keeps a minimum instance so health can be computed), or
- outlier detection (global backend services with EXTERNAL_MANAGED support it for serverless NEGs) ejects
  the NEG after consecutive 5xx responses, for `base_ejection_time`, at most one region of two at a time.
Traffic returns by itself once the region is healthy again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

HTTPS_PORT = "443"
HTTP_PORT = "80"


@dataclass(frozen=True)
class EdgeArgs:
    """`services` maps each region to its Cloud Run service's name."""

    host: str
    services: Mapping[str, pulumi.Input[str]]


class Edge(pulumi.ComponentResource):
    ip_address: pulumi.Output[str]
    backend_service: pulumi.Output[str]

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:gcp:Edge", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        address = gcp.compute.GlobalAddress(f"{name}-ip", ip_version="IPV4", opts=child)
        negs = [
            gcp.compute.RegionNetworkEndpointGroup(
                f"{name}-neg-{region}",
                region=region,
                network_endpoint_type="SERVERLESS",
                cloud_run={"service": service},
                opts=child,
            )
            for region, service in args.services.items()
        ]
        backend = gcp.compute.BackendService(
            f"{name}-backend",
            load_balancing_scheme="EXTERNAL_MANAGED",
            protocol="HTTPS",
            backends=[{"group": neg.id} for neg in negs],
            outlier_detection=_outlier_detection() if len(negs) > 1 else None,
            log_config={"enable": True, "sample_rate": 1.0},
            description="Parley: Cloud Run in every region, nearest healthy first",
            opts=child,
        )
        url_map = gcp.compute.URLMap(f"{name}-urls", default_service=backend.id, opts=child)
        certificate = gcp.compute.ManagedSslCertificate(f"{name}-cert", managed={"domains": [args.host]}, opts=child)
        tls = gcp.compute.SSLPolicy(f"{name}-tls", profile="MODERN", min_tls_version="TLS_1_2", opts=child)
        https_proxy = gcp.compute.TargetHttpsProxy(
            f"{name}-https",
            url_map=url_map.id,
            ssl_certificates=[certificate.id],
            ssl_policy=tls.id,
            opts=child,
        )
        self._forwarding_rule(f"{name}-rule-https", address, https_proxy.id, HTTPS_PORT)
        redirect = gcp.compute.URLMap(
            f"{name}-redirect",
            default_url_redirect={
                "https_redirect": True,
                "redirect_response_code": "MOVED_PERMANENTLY_DEFAULT",
                "strip_query": False,
            },
            opts=child,
        )
        http_proxy = gcp.compute.TargetHttpProxy(f"{name}-http", url_map=redirect.id, opts=child)
        self._forwarding_rule(f"{name}-rule-http", address, http_proxy.id, HTTP_PORT)
        self.ip_address, self.backend_service = address.address, backend.name
        self.register_outputs({"ip_address": self.ip_address, "backend_service": self.backend_service})

    def _forwarding_rule(
        self, name: str, address: gcp.compute.GlobalAddress, target: pulumi.Input[str], port: str
    ) -> None:
        gcp.compute.GlobalForwardingRule(
            name,
            load_balancing_scheme="EXTERNAL_MANAGED",
            ip_address=address.id,
            ip_protocol="TCP",
            port_range=port,
            target=target,
            opts=pulumi.ResourceOptions(parent=self),
        )


def _outlier_detection() -> dict[str, object]:
    """Eject a region after five 5xx in a row (gateway errors count too), for 30 s and longer each time it
    recurs; never both regions at once, so a bad release everywhere still serves its errors rather than
    nothing."""
    return {
        "consecutive_errors": 5,
        "consecutive_gateway_failure": 5,
        "enforcing_consecutive_errors": 100,
        "enforcing_consecutive_gateway_failure": 100,
        "interval": {"seconds": 10},
        "base_ejection_time": {"seconds": 30},
        "max_ejection_percent": 50,
    }
