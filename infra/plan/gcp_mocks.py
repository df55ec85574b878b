"""What the mocks add to `gcp:` resources' outputs, and answer for its provider functions: the id, the name
Pulumi generates when none is given, self links, and the addresses and identifiers programs read (a Cloud Run
service's `uri`, a Cloud SQL instance's `connectionName` and private address, Memorystore's `host`, `port`,
`authString` and CA, a service account's `email`, a global address's `address`, ...). Every value derives from
the type, the logical name, the project and the region, so every plan of a stack is the same."""

from __future__ import annotations

import importlib
import ipaddress
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from infra.plan.aws_mocks import digest

Args = dict[str, Any]
# Where the stack's explicit provider names no project (never, for Parley's programs).
STAND_IN_PROJECT = "parley-project"
PROJECT_NUMBER = "123456789012"
SQL_AGENT_DOMAIN = "gcp-sa-cloud-sql.iam.gserviceaccount.com"
COMPUTE_API = "https://www.googleapis.com/compute/v1"
# The kind of path segment compute self links use, by resource class.
COMPUTE_COLLECTIONS = {
    "Network": ("global", "networks"),
    "Subnetwork": ("regions", "subnetworks"),
    "GlobalAddress": ("global", "addresses"),
    "Firewall": ("global", "firewalls"),
    "RegionNetworkEndpointGroup": ("regions", "networkEndpointGroups"),
    "BackendService": ("global", "backendServices"),
    "URLMap": ("global", "urlMaps"),
    "TargetHttpsProxy": ("global", "targetHttpsProxies"),
    "TargetHttpProxy": ("global", "targetHttpProxies"),
    "GlobalForwardingRule": ("global", "forwardingRules"),
    "ManagedSslCertificate": ("global", "sslCertificates"),
    "SSLPolicy": ("global", "sslPolicies"),
}


def gcp_outputs(typ: str, name: str, inputs: Args, resource_id: str, known: dict[str, Args]) -> Args:
    """The outputs beyond the inputs that a `gcp` resource of type `typ` would return. `known` holds the
    outputs of what was created so far, by id: the stack's provider (for its project and region) and the
    Private Service Access range (for Cloud SQL's and Memorystore's addresses)."""
    outputs: Args = {"id": resource_id}
    if not inputs.get("name") and _declares(typ, "name"):
        outputs["name"] = f"{name}-{digest(typ, name, size=7)}"
    given = inputs | outputs
    project, region = _project_and_region(inputs, known)
    kind = typ.split(":")[-1]
    if typ.startswith("gcp:compute/") and kind in COMPUTE_COLLECTIONS:
        scope, collection = COMPUTE_COLLECTIONS[kind]
        where = "global" if scope == "global" else f"regions/{region}"
        outputs["selfLink"] = f"{COMPUTE_API}/projects/{project}/{where}/{collection}/{given.get('name')}"
    if extra := EXTRAS.get(typ):
        outputs |= extra(given, name, project, region, known)
    return outputs


def _global_address(inputs: Args, name: str, project: str, region: str, known: Mapping[str, Args]) -> Args:
    if inputs.get("address"):
        return {}
    seed = int(digest("address", name), 16)
    return {"address": f"34.{120 + seed % 8}.{seed // 8 % 256}.{seed // 2048 % 254 + 1}"}


def _sql_instance(inputs: Args, name: str, project: str, region: str, known: Mapping[str, Args]) -> Args:
    private_ip = _services_host(known, f"sql/{name}")
    return {
        "connectionName": f"{project}:{region}:{inputs['name']}",
        "privateIpAddress": private_ip,
        "publicIpAddress": "",
        "ipAddresses": [{"ipAddress": private_ip, "type": "PRIVATE", "timeToRetire": ""}],
        "serviceAccountEmailAddress": f"p{PROJECT_NUMBER}-{digest(name, size=6)}@{SQL_AGENT_DOMAIN}",
        "firstIpAddress": private_ip,
    }


def _redis_instance(inputs: Args, name: str, project: str, region: str, known: Mapping[str, Args]) -> Args:
    tls = inputs.get("transitEncryptionMode") == "SERVER_AUTHENTICATION"
    outputs: Args = {
        "host": _services_host(known, f"redis/{name}"),
        "port": 6378 if tls else 6379,
        "currentLocationId": f"{region}-a",
        "serverCaCerts": [_ca_cert(name)] if tls else [],
    }
    if inputs.get("authEnabled"):
        outputs["authString"] = digest("auth", name, size=32)
    return outputs


def _ca_cert(name: str) -> Args:
    body = digest("ca", name, size=64)
    return {
        "cert": f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n",
        "serialNumber": str(int(body[:12], 16)),
        "sha1Fingerprint": digest("sha1", name, size=40),
        "commonName": "C=US,O=Google\\, Inc,CN=Google Cloud Memorystore Redis Server CA",
        "createTime": "2025-01-01T00:00:00Z",
        "expireTime": "2035-01-01T00:00:00Z",
    }


def _secret(inputs: Args, name: str, project: str, region: str, known: Mapping[str, Args]) -> Args:
    return {"name": f"projects/{PROJECT_NUMBER}/secrets/{inputs['secretId']}"}


def _secret_version(inputs: Args, name: str, project: str, region: str, known: Mapping[str, Args]) -> Args:
    return {"name": f"{inputs.get('secret')}/versions/1", "version": "1", "enabled": True}


def _service_account(inputs: Args, name: str, project: str, region: str, known: Mapping[str, Args]) -> Args:
    email = f"{inputs['accountId']}@{project}.iam.gserviceaccount.com"
    return {
        "email": email,
        "member": f"serviceAccount:{email}",
        "name": f"projects/{project}/serviceAccounts/{email}",
        "uniqueId": str(int(digest("sa", name, size=15), 16)),
    }


def _cloud_run(inputs: Args, name: str, project: str, region: str, known: Mapping[str, Args]) -> Args:
    location = inputs.get("location") or region
    uri = f"https://{inputs['name']}-{digest(project, size=10)}.{location}.run.app"
    return {
        "uri": uri,
        "urls": [uri],
        "uid": digest("uid", name, size=32),
        "latestReadyRevision": f"{inputs['name']}-00001",
    }


def _repository(inputs: Args, name: str, project: str, region: str, known: Mapping[str, Args]) -> Args:
    location, repository = inputs.get("location") or region, inputs["repositoryId"]
    return {
        "name": f"projects/{project}/locations/{location}/repositories/{repository}",
        "registryUri": f"{location}-docker.pkg.dev/{project}/{repository}",
    }


def _certificate(inputs: Args, name: str, project: str, region: str, known: Mapping[str, Args]) -> Args:
    domains = (inputs.get("managed") or {}).get("domains") or []
    return {"certificateId": int(digest("cert", name, size=12), 16), "subjectAlternativeNames": domains}


def _iam_member(inputs: Args, name: str, project: str, region: str, known: Mapping[str, Args]) -> Args:
    return {"etag": f"BwY{digest('etag', name, size=9)}="}


EXTRAS: dict[str, Callable[[Args, str, str, str, Mapping[str, Args]], Args]] = {
    "gcp:compute/globalAddress:GlobalAddress": _global_address,
    "gcp:sql/databaseInstance:DatabaseInstance": _sql_instance,
    "gcp:redis/instance:Instance": _redis_instance,
    "gcp:secretmanager/secret:Secret": _secret,
    "gcp:secretmanager/secretVersion:SecretVersion": _secret_version,
    "gcp:serviceaccount/account:Account": _service_account,
    "gcp:cloudrunv2/service:Service": _cloud_run,
    "gcp:artifactregistry/repository:Repository": _repository,
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": _certificate,
    "gcp:projects/iAMMember:IAMMember": _iam_member,
    "gcp:secretmanager/secretIamMember:SecretIamMember": _iam_member,
}


def _project_and_region(inputs: Args, known: Mapping[str, Args]) -> tuple[str, str]:
    """The resource's own `project` and `region`, else the stack's gcp provider's (the one known output
    that carries `defaultLabels`)."""
    provider = next((o for o in known.values() if "defaultLabels" in o and "project" in o), {})
    project = inputs.get("project") or provider.get("project") or STAND_IN_PROJECT
    region = inputs.get("region") or inputs.get("location") or provider.get("region") or "us-central1"
    return str(project), str(region)


def _services_host(known: Mapping[str, Args], seed: str) -> str:
    """An address inside the stack's Private Service Access range (the VPC_PEERING global address), as
    Google allocates one to each Cloud SQL and Memorystore instance; 10.255.0.0/16 without one."""
    ranges = [o for o in known.values() if o.get("purpose") == "VPC_PEERING" and o.get("address")]
    network = (
        ipaddress.IPv4Network(f"{ranges[0]['address']}/{int(ranges[0].get('prefixLength') or 16)}")
        if ranges
        else ipaddress.IPv4Network("10.255.0.0/16")
    )
    return str(network[2 + int(digest("host", seed), 16) % (network.num_addresses - 4)])


@cache
def _declares(type_: str, prop: str) -> bool:
    """Whether the SDK's resource class takes `prop` (in its Python spelling)."""
    module, class_name = type_.split(":")[1].split("/")[0], type_.split(":")[2]
    try:
        resource_class = getattr(importlib.import_module(f"pulumi_gcp.{module}"), class_name)
    except (ImportError, AttributeError):
        return False
    return prop in resource_class._internal_init.__code__.co_varnames


def project_info(args: Args, region: str) -> Args:
    project = args.get("projectId") or STAND_IN_PROJECT
    return {
        "id": f"projects/{project}",
        "projectId": project,
        "number": PROJECT_NUMBER,
        "name": project,
        "labels": {},
        "effectiveLabels": {},
    }


CALLS: dict[str, Callable[[Args, str], Args]] = {
    "gcp:organizations/getProject:getProject": project_info,
}
