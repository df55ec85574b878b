"""IAM policy documents as plain dictionaries, to be `json.dumps`-ed into roles, keys and buckets."""

from __future__ import annotations

from typing import Any

Statement = dict[str, Any]


def policy_document(*statements: Statement) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def assume_role_policy(service: str) -> dict[str, Any]:
    """Lets one AWS service assume the role."""
    return policy_document({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def allow(actions: list[str], resources: list[str], **extra: Any) -> Statement:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}
