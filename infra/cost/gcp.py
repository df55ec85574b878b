"""Pricers for the GCP stacks: Cloud SQL, Memorystore, Cloud Run, the global load balancer's forwarding rules,
Secret Manager, Artifact Registry, Serverless VPC Access, Cloud NAT and Cloud KMS."""

from __future__ import annotations

import re
from typing import Any

from infra.cost.engine import (
    Component,
    Context,
    NotPriced,
    free,
    number_input,
    pricer,
    scaled_instances,
    text_input,
)
from infra.plan import Resource

# How long a migration job runs per deployment (as in infra/cost/azure.py).
JOB_SECONDS = 120
# Global forwarding rules one hourly price covers (Cloud Load Balancing bills the first five together).
FORWARDING_RULES_PER_PRICE = 5
# Serverless VPC Access connectors start with two instances unless told otherwise.
CONNECTOR_MIN_INSTANCES = 2

free(
    "networks, firewall rules, identities and IAM bindings are free",
    "gcp:compute/network:Network",
    "gcp:compute/subnetwork:Subnetwork",
    "gcp:compute/firewall:Firewall",
    "gcp:compute/router:Router",
    "gcp:compute/globalAddress:GlobalAddress",
    "gcp:servicenetworking/connection:Connection",
    "gcp:serviceaccount/account:Account",
    "gcp:projects/iAMMember:IAMMember",
    "gcp:projects/service:Service",
    "gcp:secretmanager/secretIamMember:SecretIamMember",
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
    "gcp:kms/keyRing:KeyRing",
)
free(
    "configuration without a charge of its own (the load balancer bills its forwarding rules)",
    "gcp:sql/database:Database",
    "gcp:sql/user:User",
    "gcp:secretmanager/secretVersion:SecretVersion",
    "gcp:compute/managedSslCertificate:ManagedSslCertificate",
    "gcp:compute/uRLMap:URLMap",
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
    "gcp:compute/targetHttpProxy:TargetHttpProxy",
    "gcp:compute/backendService:BackendService",
    "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup",
    "gcp:dns/recordSet:RecordSet",
    "gcp:compute/sSLPolicy:SSLPolicy",
)


@pricer("gcp:sql/databaseInstance:DatabaseInstance")
def cloud_sql(ctx: Context) -> list[Component]:
    """vCPU and memory hours of `db-custom-<vCPU>-<MB>` tiers (or a shared-core tier's hours) and storage; a
    REGIONAL (high-availability) instance bills both twice. A replica in another region receives the WAL."""
    inputs = ctx.resource.inputs
    settings = inputs.get("settings") or {}
    tier = text_input(settings, "tier")
    copies = 2 if settings.get("availabilityType") == "REGIONAL" else 1
    label = " (HA)" if copies == 2 else ""
    custom = re.fullmatch(r"db-custom-(\d+)-(\d+)", tier)
    if custom:
        vcpu, memory = int(custom[1]), int(custom[2]) / 1024
        components = [
            ctx.hours(f"{vcpu} vCPU{label}", "sql.vcpu", copies * vcpu),
            ctx.hours(f"{memory:g} GB memory{label}", "sql.memory", copies * memory),
        ]
    elif tier in ("db-f1-micro", "db-g1-small"):
        components = [ctx.hours(f"{tier}{label}", f"sql.{tier}", copies)]
    else:
        raise NotPriced(f"tier {tier} is not modelled (db-custom-N-M, db-f1-micro, db-g1-small)")
    disk = "hdd" if settings.get("diskType") == "PD_HDD" else "ssd"
    size = number_input(settings, "diskSize", 10)
    components.append(ctx.charge(f"{disk} storage{label}", f"sql.storage.{disk}", copies * size))
    if ctx.usage and inputs.get("masterInstanceName") and not ctx.home:
        components.append(
            ctx.charge(
                "replication from the primary region", "transfer.inter-region.gb", ctx.usage.replication_gb, "usage"
            )
        )
    return components


@pricer("gcp:redis/instance:Instance")
def memorystore(ctx: Context) -> list[Component]:
    inputs = ctx.resource.inputs
    tier = {"BASIC": "basic", "STANDARD_HA": "standard"}.get(str(inputs.get("tier") or "BASIC"))
    if tier is None:
        raise NotPriced(f"tier {inputs.get('tier')} is not modelled")
    size = number_input(inputs, "memorySizeGb")
    return [ctx.hours(f"{size:g} GB {tier}", f"memorystore.{tier}", size)]


def _limits(template: dict[str, Any]) -> tuple[float, float]:
    """vCPU and GiB of one instance (limits like cpu "1", memory "512Mi" or "1Gi"; Cloud Run's defaults 1, 512Mi)."""
    cpu = memory = 0.0
    for container in template.get("containers") or [{}]:
        limits = (container.get("resources") or {}).get("limits") or {}
        raw_cpu = str(limits.get("cpu", "1"))
        cpu += float(raw_cpu[:-1]) / 1000 if raw_cpu.endswith("m") else float(raw_cpu)
        size = re.fullmatch(r"([\d.]+)(Mi|Gi)", str(limits.get("memory") or "512Mi"))
        if size is None:
            raise NotPriced(f"memory limit {limits.get('memory')!r} is not in Mi or Gi")
        memory += float(size[1]) / (1024 if size[2] == "Mi" else 1)
    return cpu, memory


@pricer("gcp:cloudrunv2/service:Service")
def cloud_run(ctx: Context) -> list[Component]:
    """Minimum instances hold WebSockets, so they bill at active rates all month (hourly), more for the peak as
    usage, plus requests; a failover region's idle minimum bills at idle rates."""
    template = ctx.resource.inputs.get("template") or {}
    scaling = template.get("scaling") or {}
    cpu, memory = _limits(template)
    return scaled_instances(
        ctx,
        "instances",
        "run",
        minimum=int(scaling.get("minInstanceCount") or 0),
        maximum=int(scaling.get("maxInstanceCount") or 100),
        cpu=cpu,
        memory=memory,
        idle_memory_sku="run.memory.idle",
    )


@pricer("gcp:compute/globalForwardingRule:GlobalForwardingRule")
def forwarding_rule(ctx: Context) -> list[Component]:
    """Rule hours; the HTTPS rule carries the data processed and the internet egress (the port 80 rule only
    redirects), split evenly when several rules serve HTTPS.

    The hourly price covers a project's first five rules together, not each: the first rule of the plan carries
    it, the next four cost nothing more; past five, the catalog has no price."""
    rules = sorted((r for r in ctx.plan.resources if r.type == ctx.resource.type), key=lambda r: r.urn)
    position = rules.index(ctx.resource)
    if position >= FORWARDING_RULES_PER_PRICE:
        raise NotPriced(f"rule {position + 1} of {len(rules)}: the catalog prices the first five rules only")
    components = []
    if position == 0:
        components.append(ctx.hours("forwarding rule hours (the first five rules)", "lb.forwarding-rule"))
    serving = [r for r in rules if _serves_https(r)] or rules
    if ctx.usage and ctx.resource in serving:
        share = 1 / len(serving)
        components.append(ctx.charge("data processed", "lb.data", share * ctx.usage.processed_gb, "usage"))
        egress = share * ctx.usage.internet_out_gb
        components.append(ctx.charge("internet egress", "transfer.internet-out.gb", egress, "usage"))
    return components


def _serves_https(rule: Resource) -> bool:
    return str(rule.inputs.get("portRange", "")).split("-")[0] == "443"


@pricer("gcp:secretmanager/secret:Secret")
def secret(ctx: Context) -> list[Component]:
    replication = ctx.resource.inputs.get("replication") or {}
    replicas = (replication.get("userManaged") or {}).get("replicas") or [None]
    return [ctx.charge(f"active version in {len(replicas)} locations", "secretmanager.version", len(replicas))]


@pricer("gcp:artifactregistry/repository:Repository")
def artifact_registry(ctx: Context) -> list[Component]:
    return [ctx.charge("image storage", "artifactregistry.storage", ctx.usage.images_gb, "usage")] if ctx.usage else []


@pricer("gcp:vpcaccess/connector:Connector")
def vpc_connector(ctx: Context) -> list[Component]:
    inputs = ctx.resource.inputs
    machine = str(inputs.get("machineType") or "e2-micro")
    instances = int(inputs.get("minInstances") or CONNECTOR_MIN_INSTANCES)
    return [ctx.hours(f"{instances} x {machine}", f"vpcaccess.{machine}", instances)]


@pricer("gcp:compute/routerNat:RouterNat")
def cloud_nat(ctx: Context) -> list[Component]:
    """Per VM-hour: the connector's instances are the VMs behind it; and data processed."""
    connectors = [
        r
        for r in ctx.plan.resources
        if r.type == "gcp:vpcaccess/connector:Connector" and ctx.region_of(r) == ctx.region
    ]
    vms = sum(int(c.inputs.get("minInstances") or CONNECTOR_MIN_INSTANCES) for c in connectors) or 1
    components = [ctx.hours(f"{vms} VMs", "nat.gateway", vms)]
    usage = ctx.traffic()
    if usage:
        components.append(ctx.charge("data processed", "nat.gb", usage.nat_gb, "usage"))
    return components


@pricer("gcp:kms/cryptoKey:CryptoKey")
def kms_key(ctx: Context) -> list[Component]:
    return [ctx.charge("key version", "kms.key", 1)]


@pricer("gcp:cloudrunv2/job:Job")
def run_job(ctx: Context) -> list[Component]:
    """A job (the schema migration) runs once per deployment, for `JOB_SECONDS`, at active rates."""
    usage = ctx.traffic()
    if not usage:
        return []
    template = ((ctx.resource.inputs.get("template") or {}).get("template")) or {}
    cpu, memory = _limits(template)
    seconds = usage.deployments * JOB_SECONDS
    return [
        ctx.charge(f"{usage.deployments} runs, vCPU", "run.vcpu", seconds * cpu, "usage"),
        ctx.charge(f"{usage.deployments} runs, memory", "run.memory", seconds * memory, "usage"),
    ]
