"""`FrontDoor`: the stack's public entry, Azure Front Door (Standard), in front of each region's app.

Why Front Door and not Traffic Manager: Traffic Manager answers DNS only, so clients would reach each
region's Container Apps ingress directly, and every region would need the custom domain and its certificate;
Front Door terminates TLS once at the edge with a managed certificate for the host, proxies WebSockets, and
fails over within seconds of its probes (not after DNS TTLs). It does not make the apps private: each app's
own host name stays reachable (compute.py), but every request Front Door forwards carries the profile's id in
`X-Azure-FDID` (the `frontDoorId` stack output), and the apps refuse any request without it
(`PARLEY_FRONT_DOOR_IDS`, app/front_door.py).

So the apps need the profile's id before Front Door needs their host names: the component is built in two
steps. The constructor creates the profile, endpoint, origin group and custom domain, whose outputs exist at
once; `route_to(origins)`, called once the regions exist, adds the origins and the route.

One origin group holds the regions as origins with priorities 1 (primary) and 2 (secondary): traffic goes to
the primary while its `/readyz` answers over HTTPS, to the secondary otherwise. HTTP only redirects to HTTPS;
nothing is cached (a chat API and WebSockets). The custom domain's certificate is issued once its DNS
validation record exists (docs/azure.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure

HEALTH_PATH = "/readyz"
SKU = "Standard_AzureFrontDoor"


@dataclass(frozen=True)
class FrontDoorArgs:
    """`endpoint_name` is global; `host` the custom domain. The origins come later, to `route_to`."""

    resource_group_name: pulumi.Input[str]
    endpoint_name: str
    host: str
    tags: Mapping[str, str]


class FrontDoor(pulumi.ComponentResource):
    """Front Door in two steps: construct it (its `front_door_id` is then known), then call `route_to` exactly
    once with the regions' host names; its outputs are registered then."""

    front_door_id: pulumi.Output[str]
    endpoint_host_name: pulumi.Output[str]
    validation_token: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: FrontDoorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:azure:FrontDoor", name, None, opts)
        self._name = name
        child = pulumi.ResourceOptions(parent=self)
        self._in_profile: dict[str, pulumi.Input[str]] = {"resource_group_name": args.resource_group_name}
        profile = azure.cdn.Profile(
            f"{name}-profile",
            location="global",
            sku={"name": SKU},
            origin_response_timeout_seconds=60,
            tags=dict(args.tags),
            opts=child,
            **self._in_profile,
        )
        self._in_profile["profile_name"] = profile.name
        self._endpoint = azure.cdn.AFDEndpoint(
            f"{name}-endpoint",
            endpoint_name=args.endpoint_name,
            location="global",
            enabled_state="Enabled",
            auto_generated_domain_name_label_scope="TenantReuse",
            tags=dict(args.tags),
            opts=child,
            **self._in_profile,
        )
        self._group = azure.cdn.AFDOriginGroup(
            f"{name}-origins",
            health_probe_settings={
                "probe_path": HEALTH_PATH,
                "probe_protocol": "Https",
                "probe_request_type": "GET",
                "probe_interval_in_seconds": 30,
            },
            load_balancing_settings={
                "sample_size": 4,
                "successful_samples_required": 3,
                "additional_latency_in_milliseconds": 0,
            },
            session_affinity_state="Disabled",  # any replica serves any client; Redis carries the events
            opts=child,
            **self._in_profile,
        )
        self._domain = azure.cdn.AFDCustomDomain(
            f"{name}-domain",
            custom_domain_name=args.host.replace(".", "-"),
            host_name=args.host,
            tls_settings={"certificate_type": "ManagedCertificate", "minimum_tls_version": "TLS12"},
            opts=child,
            **self._in_profile,
        )
        self._routed = False
        self.front_door_id = profile.front_door_id
        self.endpoint_host_name = self._endpoint.host_name
        self.validation_token = self._domain.validation_properties.validation_token
        self.url = pulumi.Output.from_input(f"https://{args.host}")

    def route_to(self, origins: Sequence[pulumi.Input[str]]) -> None:
        """Send the host's traffic to `origins`, the regions' app host names, primary first (priority 1, 2...)."""
        if self._routed:
            raise RuntimeError(f"{self._name}: route_to was already called; give every origin at once")
        self._routed = True
        created = [
            azure.cdn.AFDOrigin(
                f"{self._name}-origin-{priority}",
                origin_group_name=self._group.name,
                host_name=host_name,
                origin_host_header=host_name,  # Container Apps routes on the app's own host name
                http_port=80,
                https_port=443,
                priority=priority,
                weight=1000,
                enabled_state="Enabled",
                enforce_certificate_name_check=True,
                opts=pulumi.ResourceOptions(parent=self),
                **self._in_profile,
            )
            for priority, host_name in enumerate(origins, start=1)
        ]
        azure.cdn.Route(
            f"{self._name}-route",
            endpoint_name=self._endpoint.name,
            origin_group={"id": self._group.id},
            custom_domains=[{"id": self._domain.id}],
            supported_protocols=["Http", "Https"],
            https_redirect="Enabled",
            forwarding_protocol="HttpsOnly",
            link_to_default_domain="Enabled",
            patterns_to_match=["/*"],
            enabled_state="Enabled",
            # A route needs its origin group to hold origins already.
            opts=pulumi.ResourceOptions(parent=self, depends_on=created),
            **self._in_profile,
        )
        self.register_outputs(
            {
                "front_door_id": self.front_door_id,
                "endpoint_host_name": self.endpoint_host_name,
                "validation_token": self.validation_token,
                "url": self.url,
            }
        )
