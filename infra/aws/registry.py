"""`Registry`: the ECR repository Parley's image is pushed to, scanned on push, with immutable tags (a tag
always names the same image, so a deploy is repeatable) and a lifecycle policy; replicated to the failover
region so that region can start tasks while the primary is down."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

UNTAGGED_DAYS = 7
KEEP_IMAGES = 50
LIFECYCLE_POLICY = {
    "rules": [
        {
            "rulePriority": 1,
            "description": f"drop untagged images after {UNTAGGED_DAYS} days",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": UNTAGGED_DAYS,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": f"keep the {KEEP_IMAGES} newest images",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES},
            "action": {"type": "expire"},
        },
    ]
}


@dataclass(frozen=True)
class RegistryArgs:
    """`repository_name` is unique in the account and region (the stack's: `parley/<stack>`); `region` is
    the repository's; `replicate_to` the regions it is copied to. ECR keeps one replication configuration per
    registry (account and region): this one replaces any other."""

    repository_name: str
    region: str
    replicate_to: Sequence[str] = ()
    force_delete: bool = False


class Registry(pulumi.ComponentResource):
    repository_url: pulumi.Output[str]
    repository_arn: pulumi.Output[str]

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:aws:Registry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._region = args.region
        repository = aws.ecr.Repository(
            f"{name}-parley",
            name=args.repository_name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "KMS"}],
            force_delete=args.force_delete,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-parley", repository=repository.name, policy=json.dumps(LIFECYCLE_POLICY), opts=child
        )
        if args.replicate_to:
            aws.ecr.ReplicationConfiguration(
                f"{name}-replication",
                replication_configuration={
                    "rules": [
                        {
                            "destinations": [
                                {"region": region, "registry_id": repository.registry_id}
                                for region in args.replicate_to
                            ],
                            "repository_filters": [{"filter": repository.name, "filter_type": "PREFIX_MATCH"}],
                        }
                    ]
                },
                opts=child,
            )
        self.repository_url = repository.repository_url
        self.repository_arn = repository.arn
        self.register_outputs({"repository_url": self.repository_url, "repository_arn": self.repository_arn})

    def url_in(self, region: str) -> pulumi.Output[str]:
        """The repository's URL in `region`: itself, or its replica there (same account, same name)."""
        return self.repository_url.apply(lambda url: url.replace(f".ecr.{self._region}.", f".ecr.{region}."))

    def arn_in(self, region: str) -> pulumi.Output[str]:
        return self.repository_arn.apply(lambda arn: arn.replace(f":ecr:{self._region}:", f":ecr:{region}:"))
