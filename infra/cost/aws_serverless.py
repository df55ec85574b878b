"""Pricers for the AWS serverless stack (aws-serverless-prod): Lambda, API Gateway WebSocket and HTTP APIs, and
DynamoDB on demand with global-table replicas. Everything here is usage-priced: idle, it costs nothing."""

from __future__ import annotations

from infra.cost.engine import Component, Context, NotPriced, free, pricer
from infra.cost.usage import GB, Quantities
from infra.plan import Resource

free(
    "API Gateway bills the API's requests and messages, not its parts",
    "aws:apigatewayv2/route:Route",
    "aws:apigatewayv2/integration:Integration",
    "aws:apigatewayv2/stage:Stage",
    "aws:apigatewayv2/deployment:Deployment",
    "aws:apigateway/account:Account",
    "aws:lambda/permission:Permission",
    "aws:apigatewayv2/domainName:DomainName",
    "aws:apigatewayv2/apiMapping:ApiMapping",
)


def _is_websocket(resource: Resource) -> bool:
    """Whether a function or table serves WebSocket traffic: Parley names them for their role."""
    return "websocket" in resource.name or "websocket" in str(resource.inputs.get("name", ""))


@pricer("aws:lambda/function:Function")
def function(ctx: Context) -> list[Component]:
    """Requests and GB-seconds: the WebSocket function runs once per inbound frame, connect and disconnect; the
    HTTP function once per request."""
    usage = ctx.traffic()
    if not usage:
        return []
    websocket = _is_websocket(ctx.resource)
    invocations = usage.websocket_invocations if websocket else usage.http_requests
    milliseconds = usage.websocket_ms if websocket else usage.http_ms
    memory_gb = float(ctx.resource.inputs.get("memorySize") or 128) / 1024
    arch = (ctx.resource.inputs.get("architectures") or ["x86_64"])[0]
    share = ctx.share(ctx.resource.type, lambda r: _is_websocket(r) == websocket)
    invocations *= share
    return [
        ctx.charge("requests", "lambda.requests", invocations / 1e6, "usage"),
        ctx.charge(
            f"duration at {memory_gb * 1024:g} MB",
            f"lambda.duration.{arch}",
            invocations * milliseconds / 1000 * memory_gb,
            "usage",
        ),
    ]


@pricer("aws:apigatewayv2/api:Api")
def api(ctx: Context) -> list[Component]:
    """A WebSocket API bills messages both ways and connection minutes; an HTTP API its requests. Each carries its
    share of the transfer out to the internet."""
    usage = ctx.traffic()
    if not usage:
        return []
    protocol = ctx.resource.inputs.get("protocolType")
    share = ctx.share(ctx.resource.type, lambda r: r.inputs.get("protocolType") == protocol)
    if protocol == "WEBSOCKET":
        return [
            ctx.charge("messages", "apigateway.websocket.messages", share * usage.websocket_messages / 1e6, "usage"),
            ctx.charge(
                "connection minutes", "apigateway.websocket.minutes", share * usage.connection_minutes / 1e6, "usage"
            ),
            ctx.charge(
                "data transfer out to the internet", "transfer.internet-out.gb", share * usage.websocket_out_gb, "usage"
            ),
        ]
    if protocol == "HTTP":
        return [
            ctx.charge("requests", "apigateway.http.requests", share * usage.http_requests / 1e6, "usage"),
            ctx.charge(
                "data transfer out to the internet", "transfer.internet-out.gb", share * usage.http_out_gb, "usage"
            ),
        ]
    raise NotPriced(f"protocol {protocol!r} is not modelled")


@pricer("aws:dynamodb/table:Table")
def table(ctx: Context) -> list[Component]:
    """On-demand read and write request units, storage and point-in-time recovery; each global-table replica
    stores a copy and is billed replicated write units in its region."""
    inputs = ctx.resource.inputs
    if inputs.get("billingMode") != "PAY_PER_REQUEST":
        raise NotPriced(f"billing mode {inputs.get('billingMode')!r} is not modelled (only PAY_PER_REQUEST)")
    usage = ctx.traffic()
    if not usage:
        return []
    writes, reads, stored = _table_usage(ctx.resource.name, usage)
    components = [
        ctx.charge("write request units", "dynamodb.ondemand.write", writes / 1e6, "usage"),
        ctx.charge("read request units", "dynamodb.ondemand.read", reads / 1e6, "usage"),
        ctx.charge("storage", "dynamodb.storage", stored, "usage"),
    ]
    recovery = bool((inputs.get("pointInTimeRecovery") or {}).get("enabled"))
    if recovery:
        components.append(ctx.charge("point-in-time recovery", "dynamodb.pitr", stored, "usage"))
    for replica in inputs.get("replicas") or []:
        region = str(replica.get("regionName"))
        components += [
            ctx.charge(
                f"replicated writes in {region}",
                "dynamodb.ondemand.replicated-write",
                writes / 1e6,
                "usage",
                region=region,
            ),
            ctx.charge(f"storage in {region}", "dynamodb.storage", stored, "usage", region=region),
            # Each write unit replicates at most 1 KB across regions.
            ctx.charge(f"replication to {region}", "transfer.inter-region.gb", writes * 1024 / GB, "usage"),
        ]
        if replica.get("pointInTimeRecovery"):
            components.append(
                ctx.charge(f"point-in-time recovery in {region}", "dynamodb.pitr", stored, "usage", region=region)
            )
    return components


def _table_usage(name: str, usage: Quantities) -> tuple[float, float, float]:
    """Writes, reads and stored GB of a table by its role, which Parley's names say: the connections table (its
    items expire with their connections), the rate limiter's counters (they expire too) or the message store."""
    if "connection" in name:
        return usage.connection_writes, usage.connection_reads, 0.0
    if "ratelimit" in name:
        return usage.ratelimit_writes, usage.ratelimit_reads, 0.0
    return usage.store_writes, usage.store_reads, usage.stored_gb
