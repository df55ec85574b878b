"""Materialise the serverless target: API Gateway v2 APIs, integrations, routes, deployments, stages and API
mappings, the API Gateway account's logging role, and Lambda functions with their invoke permissions."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from infra.plan.model import Resource
from infra.verify.materialise import Context, Handler, Outputs, Unmaterialisable, physical_name

# What a function gets as its code when the plan's archive cannot be read (a package not built yet, a preview
# or an export, which hold no archive contents). Only for materialising: nothing runs it.
PLACEHOLDER_MODULE = "def handler(event, context):\n    return None\n"


def resolve_segments(context: Context, value: Any, separator: str = "/") -> Any:
    """`value` with every `separator`-delimited part that is a known stand-in replaced: programs build ids
    into paths (`integrations/<id>`, `service/<cluster>/<service>`, `<executionArn>/*`), which the plan
    holds as one string that no stand-in equals."""
    if not isinstance(value, str):
        return value
    whole = context.resolve(value)
    if whole != value:
        return whole
    head, sep, tail = value.rpartition(separator)
    if not sep:
        return value
    return f"{resolve_segments(context, head, separator)}{sep}{context.resolve(tail)}"


def _account(context: Context) -> str:
    return str(context.client("sts").get_caller_identity()["Account"])


def api(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    args: dict[str, Any] = {"Name": inputs["name"], "ProtocolType": inputs["protocolType"], "Tags": context.tags}
    if inputs.get("routeSelectionExpression"):
        args["RouteSelectionExpression"] = inputs["routeSelectionExpression"]
    created = context.client("apigatewayv2").create_api(**args)
    api_id = created["ApiId"]
    return {
        "id": api_id,
        "arn": f"arn:aws:apigateway:{context.region}::/apis/{api_id}",
        "apiEndpoint": created["ApiEndpoint"],
        "executionArn": f"arn:aws:execute-api:{context.region}:{_account(context)}:{api_id}",
    }


def integration(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    args: dict[str, Any] = {"ApiId": inputs["apiId"], "IntegrationType": inputs["integrationType"]}
    for pulumi_name, api_name in (
        ("integrationMethod", "IntegrationMethod"),
        ("integrationUri", "IntegrationUri"),
        ("payloadFormatVersion", "PayloadFormatVersion"),
    ):
        if inputs.get(pulumi_name):
            args[api_name] = inputs[pulumi_name]
    created = context.client("apigatewayv2").create_integration(**args)
    return {"id": created["IntegrationId"]}


def route(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    args: dict[str, Any] = {"ApiId": inputs["apiId"], "RouteKey": inputs["routeKey"]}
    if inputs.get("target"):
        args["Target"] = resolve_segments(context, inputs["target"])
    created = context.client("apigatewayv2").create_route(**args)
    return {"id": created["RouteId"]}


def deployment(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    """A deployment of a WebSocket API. moto has no CreateDeployment; there it is skipped with a note, and the
    stage is created without a deployment id (moto serves a stage's routes regardless)."""
    client = context.client("apigatewayv2")
    try:
        created = client.create_deployment(ApiId=inputs["apiId"])
    except ClientError as error:
        if "not yet implemented" not in str(error).lower():
            raise
        raise Unmaterialisable("the endpoint does not implement API Gateway's CreateDeployment") from error
    return {"id": created["DeploymentId"]}


def stage(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    client = context.client("apigatewayv2")
    args: dict[str, Any] = {"ApiId": inputs["apiId"], "StageName": inputs["name"], "Tags": context.tags}
    # Only a deployment that exists: one the endpoint could not create keeps the plan's stand-in.
    if inputs.get("deploymentId") and inputs["deploymentId"] != resource.inputs.get("deploymentId"):
        args["DeploymentId"] = inputs["deploymentId"]
    if inputs.get("autoDeploy") is not None:
        args["AutoDeploy"] = bool(inputs["autoDeploy"])
    settings = inputs.get("defaultRouteSettings") or {}
    route_settings = {
        api_name: settings[pulumi_name]
        for pulumi_name, api_name in (
            ("throttlingBurstLimit", "ThrottlingBurstLimit"),
            ("throttlingRateLimit", "ThrottlingRateLimit"),
            ("loggingLevel", "LoggingLevel"),
            ("detailedMetricsEnabled", "DetailedMetricsEnabled"),
        )
        if settings.get(pulumi_name) is not None
    }
    if route_settings:
        args["DefaultRouteSettings"] = route_settings
    if logs := inputs.get("accessLogSettings"):
        args["AccessLogSettings"] = {"DestinationArn": logs["destinationArn"], "Format": logs["format"]}
    client.create_stage(**args)
    described = client.get_api(ApiId=inputs["apiId"])
    scheme = "wss" if described["ProtocolType"] == "WEBSOCKET" else "https"
    host = described["ApiEndpoint"].split("://", 1)[-1]
    path = "" if inputs["name"] == "$default" else inputs["name"]
    return {
        "id": inputs["name"],
        "invokeUrl": f"{scheme}://{host}/{path}",
        "executionArn": f"arn:aws:execute-api:{context.region}:{_account(context)}:{inputs['apiId']}/{inputs['name']}",
    }


def api_mapping(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    args: dict[str, Any] = {"ApiId": inputs["apiId"], "DomainName": inputs["domainName"], "Stage": inputs["stage"]}
    if inputs.get("apiMappingKey"):
        args["ApiMappingKey"] = inputs["apiMappingKey"]
    created = context.client("apigatewayv2").create_api_mapping(**args)
    return {"id": created["ApiMappingId"]}


def apigateway_account(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    """The region's API Gateway settings: the role CloudWatch access logs are written with."""
    patch = [{"op": "replace", "path": "/cloudwatchRoleArn", "value": inputs["cloudwatchRoleArn"]}]
    context.client("apigateway").update_account(patchOperations=patch)
    return {"id": f"apigateway-account-{context.region}"}


def _code(context: Context, resource: Resource, code: Any) -> bytes:
    """The function's zip: the plan's archive when it is a file this machine has, else a placeholder."""
    archive = (code or {}).get("archive") if isinstance(code, dict) else None
    path = Path(str((archive or {}).get("path") or ""))
    if path.suffix == ".zip" and path.is_file():
        return path.read_bytes()
    context.notes.append(
        f"{resource.name}: its code archive could not be read (build it with `parley package lambda`); "
        "created with a placeholder handler instead"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as placeholder:
        module = str(resource.inputs.get("handler") or "handler.handler").rsplit(".", 1)[0]
        placeholder.writestr(module.replace(".", "/") + ".py", PLACEHOLDER_MODULE)
    return buffer.getvalue()


FUNCTION_FIELDS = {
    "runtime": "Runtime",
    "handler": "Handler",
    "role": "Role",
    "memorySize": "MemorySize",
    "timeout": "Timeout",
    "architectures": "Architectures",
    "description": "Description",
    "kmsKeyArn": "KMSKeyArn",
}


def function(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    """A Lambda function, created but never run; reserved concurrency is set after, as the provider does."""
    client = context.client("lambda")
    name = physical_name(resource, inputs)
    args: dict[str, Any] = {api: inputs[p] for p, api in FUNCTION_FIELDS.items() if inputs.get(p) is not None}
    args |= {"FunctionName": name, "Code": {"ZipFile": _code(context, resource, inputs.get("code"))}}
    args["Tags"] = context.tags
    variables = (inputs.get("environment") or {}).get("variables")
    if variables:
        args["Environment"] = {"Variables": {k: str(v) for k, v in variables.items()}}
    if logging := inputs.get("loggingConfig"):
        args["LoggingConfig"] = {k[0].upper() + k[1:]: v for k, v in logging.items() if v is not None}
    if tracing := inputs.get("tracingConfig"):
        args["TracingConfig"] = {"Mode": tracing["mode"]}
    created = client.create_function(**args)
    reserved = inputs.get("reservedConcurrentExecutions")
    if reserved is not None and int(reserved) >= 0:
        client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=int(reserved))
    arn = created["FunctionArn"]
    return {
        "id": name,
        "name": name,
        "arn": arn,
        "qualifiedArn": f"{arn}:$LATEST",
        "invokeArn": f"arn:aws:apigateway:{context.region}:lambda:path/2015-03-31/functions/{arn}/invocations",
    }


def permission(context: Context, resource: Resource, inputs: Outputs) -> Outputs:
    statement = inputs.get("statementId") or resource.name
    args: dict[str, Any] = {
        "FunctionName": inputs["function"],
        "StatementId": statement,
        "Action": inputs["action"],
        "Principal": inputs["principal"],
    }
    if inputs.get("sourceArn"):
        args["SourceArn"] = resolve_segments(context, inputs["sourceArn"])
    context.client("lambda").add_permission(**args)
    return {"id": statement}


HANDLERS: dict[str, Handler] = {
    "aws:apigatewayv2/api:Api": api,
    "aws:apigatewayv2/integration:Integration": integration,
    "aws:apigatewayv2/route:Route": route,
    "aws:apigatewayv2/deployment:Deployment": deployment,
    "aws:apigatewayv2/stage:Stage": stage,
    "aws:apigatewayv2/apiMapping:ApiMapping": api_mapping,
    "aws:apigateway/account:Account": apigateway_account,
    "aws:lambda/function:Function": function,
    "aws:lambda/permission:Permission": permission,
}
