"""Secrets in Secret Manager, readable by the app's service account alone.

Each secret is replicated only to the regions that read it (user-managed replication keeps the data where
the service runs), holds one version written from a Pulumi secret, and grants
`roles/secretmanager.secretAccessor` on itself, never on the project, so the app can read these secrets and
no others."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"


@dataclass(frozen=True)
class StoredSecret:
    """`secret_id` is the short name Cloud Run's `secret_key_ref` takes; `name` the full resource name;
    `ready` what a reader must wait for (the version and the grant), since Cloud Run resolves `latest` and
    checks access when it deploys a revision."""

    secret_id: pulumi.Output[str]
    name: pulumi.Output[str]
    ready: list[pulumi.Resource]


def stored_secret(
    name: str,
    *,
    secret_id: str,
    value: pulumi.Input[str],
    regions: Sequence[str],
    reader: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> StoredSecret:
    """`reader` is the IAM member (`serviceAccount:...`) that may read it; `value` is wrapped as a secret
    whether or not it already is one, so it never shows in the plan or the state. `opts` names the parent
    (and, outside a component that has one, the provider)."""
    child = opts
    secret = gcp.secretmanager.Secret(
        name,
        secret_id=secret_id,
        replication={"user_managed": {"replicas": [{"location": region} for region in regions]}},
        opts=child,
    )
    version = gcp.secretmanager.SecretVersion(
        f"{name}-version", secret=secret.id, secret_data=pulumi.Output.secret(value), opts=child
    )
    grant = gcp.secretmanager.SecretIamMember(
        f"{name}-reader", secret_id=secret.id, role=ACCESSOR_ROLE, member=reader, opts=child
    )
    return StoredSecret(secret_id=secret.secret_id, name=secret.name, ready=[version, grant])
