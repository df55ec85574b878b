"""What the mocks answer for the provider functions (invokes) the programs call. Each answer is what the real
function returns in shape, with stand-in values that depend only on the arguments and the region, so every plan
of a stack is the same. A function not listed here returns its arguments."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

ACCOUNT_ID = "123456789012"  # AWS's documentation account, also moto's default
ZONE_SUFFIXES = ("a", "b", "c")

Args = dict[str, Any]


def availability_zones(args: Args, region: str) -> Args:
    zones = [f"{region}{suffix}" for suffix in ZONE_SUFFIXES]
    excluded = set(args.get("excludeNames") or [])
    names = [zone for zone in zones if zone not in excluded]
    return {
        "id": region,
        "region": region,
        "names": names,
        "zoneIds": [f"{region[:3]}{region.split('-')[-1]}-az{zones.index(zone) + 1}" for zone in names],
        "groupNames": [region] * len(names),
        "state": args.get("state") or "available",
    }


def caller_identity(args: Args, region: str) -> Args:
    return {
        "id": ACCOUNT_ID,
        "accountId": ACCOUNT_ID,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/parley-plan",
        "userId": "AIDAPARLEYPLANSTANDIN",
    }


def region_info(args: Args, region: str) -> Args:
    name = args.get("region") or args.get("name") or region
    return {"id": name, "name": name, "region": name, "endpoint": f"ec2.{name}.amazonaws.com", "description": name}


def partition(args: Args, region: str) -> Args:
    return {"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws"}


def policy_document(args: Args, region: str) -> Args:
    """The IAM JSON the provider would render from `statements` (sources and overrides are not merged)."""
    statements = [_statement(s) for s in args.get("statements") or []]
    document: dict[str, Any] = {"Version": args.get("version") or "2012-10-17"}
    if args.get("policyId"):
        document["Id"] = args["policyId"]
    document["Statement"] = statements
    return {
        "id": hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:10],
        "json": json.dumps(document, indent=2),
        "minifiedJson": json.dumps(document, separators=(",", ":")),
        "statements": args.get("statements") or [],
        "version": document["Version"],
    }


def _statement(given: Args) -> Args:
    statement: Args = {}
    if given.get("sid"):
        statement["Sid"] = given["sid"]
    statement["Effect"] = given.get("effect") or "Allow"
    for key, field in (("actions", "Action"), ("notActions", "NotAction")):
        if given.get(key):
            statement[field] = _one_or_many(given[key])
    for key, field in (("resources", "Resource"), ("notResources", "NotResource")):
        if given.get(key):
            statement[field] = _one_or_many(given[key])
    for key, field in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
        if given.get(key):
            statement[field] = {p["type"]: _one_or_many(p["identifiers"]) for p in given[key]}
    conditions: dict[str, dict[str, Any]] = {}
    for condition in given.get("conditions") or []:
        conditions.setdefault(condition["test"], {})[condition["variable"]] = _one_or_many(condition["values"])
    if conditions:
        statement["Condition"] = conditions
    return statement


def _one_or_many(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else sorted(values)


CALLS: dict[str, Callable[[Args, str], Args]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": availability_zones,
    "aws:index/getCallerIdentity:getCallerIdentity": caller_identity,
    "aws:index/getRegion:getRegion": region_info,
    "aws:index/getPartition:getPartition": partition,
    "aws:iam/getPolicyDocument:getPolicyDocument": policy_document,
}


def answer(token: str, args: Args, region: str) -> Args:
    # Imported here: the cloud modules import this one for `Args`.
    from infra.plan.azure_mocks import CALLS as AZURE_CALLS
    from infra.plan.gcp_mocks import CALLS as GCP_CALLS

    handler = CALLS.get(token) or AZURE_CALLS.get(token) or GCP_CALLS.get(token)
    return handler(args, region) if handler else dict(args)
