"""`Identity`: the service account Cloud Run runs Parley as, with the project roles it needs and no more.

Project-wide: write logs and metrics, nothing else. No `cloudsql.client`: that role authorizes the Cloud SQL
connectors and Auth Proxy, and Parley dials the instance's private address with a password over TLS, which
the role plays no part in. Secrets are granted one by one where they are stored (infra/gcp/secrets.py), never
project-wide; the image is pulled by Cloud Run's own service agent, so this account needs no registry role."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

PROJECT_ROLES = ("roles/logging.logWriter", "roles/monitoring.metricWriter")


@dataclass(frozen=True)
class IdentityArgs:
    project: str
    account_id: str


class Identity(pulumi.ComponentResource):
    email: pulumi.Output[str]
    member: pulumi.Output[str]

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:gcp:Identity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = gcp.serviceaccount.Account(
            f"{name}-account",
            account_id=args.account_id,
            display_name="Parley on Cloud Run",
            description="Runs the Parley service and its migration job",
            opts=child,
        )
        self.email = account.email
        self.member = pulumi.Output.concat("serviceAccount:", account.email)
        for role in PROJECT_ROLES:
            gcp.projects.IAMMember(
                f"{name}-{role.split('/')[1].replace('.', '-').lower()}",
                project=args.project,
                role=role,
                member=self.member,
                opts=child,
            )
        self.register_outputs({"email": self.email})
