"""What AWS adds to a resource's inputs, as the mocks answer it: the id, the ARN, the name Pulumi generates when
none is given, and the endpoints and identifiers programs read (`alb.dns_name`, `instance.address`,
`record.fqdn`, ...). Every value derives from the type, the logical name and the region."""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from infra.plan.calls import ACCOUNT_ID

Outputs = dict[str, Any]

# The property Pulumi fills with `<logical name>-<random>` when a program gives none, where it is not `name`.
AUTONAMED = {
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:rds/instance:Instance": "identifier",
    "aws:rds/cluster:Cluster": "clusterIdentifier",
    "aws:elasticache/replicationGroup:ReplicationGroup": "replicationGroupId",
    "aws:elasticache/cluster:Cluster": "clusterId",
}
# Services whose ARNs carry no region, and those that carry no account either.
GLOBAL_SERVICES = {"iam", "cloudfront", "route53", "s3"}
NO_ACCOUNT_SERVICES = {"s3", "route53"}
# ARNs not of the form `arn:aws:<module>:<region>:<account>:<kind>/<name>`: (service, what precedes the name),
# by the module and kind of the type (`cloudwatch/logGroup` for `aws:cloudwatch/logGroup:LogGroup`).
ARN_FORMS = {
    "cloudwatch/logGroup": ("logs", "log-group:"),
    "lambda/function": ("lambda", "function:"),
    "rds/instance": ("rds", "db:"),
    "rds/cluster": ("rds", "cluster:"),
    "elasticache/replicationGroup": ("elasticache", "replicationgroup:"),
    "ecs/taskDefinition": ("ecs", "task-definition/"),
    "lb/loadBalancer": ("elasticloadbalancing", "loadbalancer/app/"),
    "lb/targetGroup": ("elasticloadbalancing", "targetgroup/"),
    "lb/listener": ("elasticloadbalancing", "listener/app/"),
    "secretsmanager/secret": ("secretsmanager", "secret:"),
    "s3/bucket": ("s3", ""),
    "sns/topic": ("sns", ""),
    "sqs/queue": ("sqs", ""),
    "apigatewayv2/api": ("apigateway", "/apis/"),
}


def digest(*parts: str, size: int = 8) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:size]


def aws_outputs(
    type_: str, logical_name: str, inputs: Outputs, resource_id: str, region: str, known: Mapping[str, Outputs]
) -> Outputs:
    """`known` holds the outputs of the resources created so far, by id, for outputs that depend on another
    resource's (a stage's URL on its API's protocol)."""
    outputs: Outputs = {"id": resource_id}
    named = AUTONAMED.get(type_, "name")
    if not inputs.get(named) and (named != "name" or _declares(type_, "name")):
        prefix = inputs.get(f"{named}Prefix") or f"{logical_name}-"
        outputs[named] = f"{prefix}{digest(type_, logical_name, size=7)}"
    name = str(inputs.get(named) or outputs.get(named) or logical_name)
    if _declares(type_, "arn") and not inputs.get("arn"):
        outputs["arn"] = _arn(type_, name, region)
    if extra := EXTRAS.get(type_):
        outputs |= extra(inputs | outputs, name, region)
    if type_ == "aws:apigatewayv2/stage:Stage":
        outputs |= _stage(inputs, name, region, known.get(str(inputs.get("apiId")), {}))
    return outputs


def _stage(inputs: Outputs, name: str, region: str, api: Outputs) -> Outputs:
    websocket = api.get("protocolType") == "WEBSOCKET"
    host = f"{inputs.get('apiId')}.execute-api.{region}.amazonaws.com"
    path = "" if name == "$default" else name
    return {
        "invokeUrl": f"wss://{host}/{path}" if websocket else f"https://{host}/{path}",
        "executionArn": f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{inputs.get('apiId')}/{name}",
    }


def _arn(type_: str, name: str, region: str) -> str:
    module_kind = type_.split(":")[1]
    module, _, kind = module_kind.partition("/")
    service, before_name = ARN_FORMS.get(module_kind, (module, f"{kind.lower()}/"))
    account = "" if service in NO_ACCOUNT_SERVICES else ACCOUNT_ID
    where = "" if service in GLOBAL_SERVICES else region
    return f"arn:aws:{service}:{where}:{account}:{before_name}{name}"


@cache
def _declares(type_: str, prop: str) -> bool:
    """Whether the SDK's class for `type_` (pulumi_aws.iam.Role for `aws:iam/role:Role`) has output `prop`."""
    package, module_path, class_name = type_.split(":")
    module_name = module_path.split("/")[0]
    module_name = f"{module_name}_" if module_name == "lambda" else module_name  # pulumi_aws.lambda_: a keyword
    sdk = f"pulumi_{package.replace('-', '_')}"
    try:
        module = importlib.import_module(sdk if module_name == "index" else f"{sdk}.{module_name}")
    except ImportError:
        return False
    return isinstance(getattr(getattr(module, class_name, None), prop, None), property)


def _endpoint(host: str, port: int) -> Outputs:
    return {"address": host, "endpoint": f"{host}:{port}", "port": port}


def _database_port(inputs: Outputs) -> int:
    return int(inputs.get("port") or (3306 if "mysql" in str(inputs.get("engine", "")) else 5432))


def _cache_host(role: str, name: str, region: str) -> str:
    return f"{role}.{name}.abcdef.{region[:3]}{region.split('-')[-1]}.cache.amazonaws.com"


def _validation_options(o: Outputs, n: str, r: str) -> list[Outputs]:
    return [
        {
            "domainName": domain,
            "resourceRecordName": f"_{digest(domain)}.{domain}.",
            "resourceRecordType": "CNAME",
            "resourceRecordValue": f"_{digest(domain, 'value')}.acm-validations.aws.",
        }
        for domain in [o.get("domainName", n), *(o.get("subjectAlternativeNames") or [])]
    ]


EXTRAS: dict[str, Callable[[Outputs, str, str], Outputs]] = {
    "aws:s3/bucket:Bucket": lambda o, n, r: {
        "bucketDomainName": f"{n}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{n}.s3.{r}.amazonaws.com",
    },
    "aws:lb/loadBalancer:LoadBalancer": lambda o, n, r: {
        "dnsName": f"{n}-{digest(n, size=10)}.{r}.elb.amazonaws.com",
        "zoneId": "Z35SXDOTRQ7X7K",
        "arnSuffix": f"app/{n}/{digest(n, size=16)}",
    },
    "aws:lb/targetGroup:TargetGroup": lambda o, n, r: {"arnSuffix": f"targetgroup/{n}/{digest(n, size=16)}"},
    "aws:rds/instance:Instance": lambda o, n, r: _endpoint(
        f"{n}.abcdefghijkl.{r}.rds.amazonaws.com", _database_port(o)
    ),
    "aws:rds/cluster:Cluster": lambda o, n, r: {
        "endpoint": f"{n}.cluster-abcdefghijkl.{r}.rds.amazonaws.com",
        "readerEndpoint": f"{n}.cluster-ro-abcdefghijkl.{r}.rds.amazonaws.com",
        "port": _database_port(o),
    },
    "aws:elasticache/replicationGroup:ReplicationGroup": lambda o, n, r: {
        "primaryEndpointAddress": _cache_host("master", n, r),
        "readerEndpointAddress": _cache_host("replica", n, r),
        "port": int(o.get("port") or 6379),
    },
    "aws:apigatewayv2/api:Api": lambda o, n, r: {
        "apiEndpoint": f"{'wss' if o.get('protocolType') == 'WEBSOCKET' else 'https'}://{o['id']}.execute-api.{r}"
        ".amazonaws.com",
        "executionArn": f"arn:aws:execute-api:{r}:{ACCOUNT_ID}:{o['id']}",
    },
    "aws:apigatewayv2/domainName:DomainName": lambda o, n, r: {
        "domainNameConfiguration": {
            **(o.get("domainNameConfiguration") or {}),
            "targetDomainName": f"d-{digest(n, size=10)}.execute-api.{r}.amazonaws.com",
            "hostedZoneId": f"Z{digest(r, size=12).upper()}",  # API Gateway's zone in that region
        },
        "apiMappingSelectionExpression": "$request.basepath",
    },
    "aws:lambda/function:Function": lambda o, n, r: {
        "invokeArn": f"arn:aws:apigateway:{r}:lambda:path/2015-03-31/functions/{o['arn']}/invocations",
        "qualifiedArn": f"{o['arn']}:$LATEST",
    },
    "aws:dynamodb/table:Table": lambda o, n, r: (
        {"streamArn": f"{o['arn']}/stream/2024-01-01T00:00:00.000"} if o.get("streamEnabled") else {}
    ),
    "aws:ecr/repository:Repository": lambda o, n, r: {
        "registryId": ACCOUNT_ID,
        "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{r}.amazonaws.com/{n}",
    },
    "aws:cloudfront/distribution:Distribution": lambda o, n, r: {
        "domainName": f"d{digest(n, size=13)}.cloudfront.net",
        "hostedZoneId": "Z2FDTNDATAQYW2",
    },
    "aws:route53/zone:Zone": lambda o, n, r: {
        "zoneId": f"Z{digest(n, size=12).upper()}",
        "nameServers": [f"ns-{i}.awsdns-{i:02d}.org" for i in range(1, 5)],
    },
    "aws:route53/record:Record": lambda o, n, r: {"fqdn": str(o.get("name") or n).rstrip(".")},
    "aws:acm/certificate:Certificate": lambda o, n, r: {"domainValidationOptions": _validation_options(o, n, r)},
    "aws:kms/key:Key": lambda o, n, r: {"keyId": o["id"]},
    "aws:ec2/vpcEndpoint:VpcEndpoint": lambda o, n, r: (
        {"prefixListId": f"pl-{digest(str(o.get('serviceName')), size=8)}"}
        if o.get("vpcEndpointType", "Gateway") == "Gateway"
        else {"dnsEntries": [{"dnsName": f"{o['id']}.{o.get('serviceName', n)}", "hostedZoneId": "Z7HUB22UULQXV"}]}
    ),
}
