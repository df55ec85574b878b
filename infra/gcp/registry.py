"""`Registry`: the stack's Artifact Registry repository for the Parley image, in the primary region.

Tags are immutable, so a tag names one image forever and a rollback is a config change. The secondary
region's service pulls from the same repository: a regional outage that takes the registry down also stops
new revisions there, but running instances keep their image."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

IMAGE_NAME = "parley"


@dataclass(frozen=True)
class RegistryArgs:
    project: str
    region: str
    repository_id: str


class Registry(pulumi.ComponentResource):
    url: pulumi.Output[str]

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:gcp:Registry", name, None, opts)
        repository = gcp.artifactregistry.Repository(
            f"{name}-images",
            repository_id=args.repository_id,
            location=args.region,
            format="DOCKER",
            description="Parley images",
            docker_config={"immutable_tags": True},
            cleanup_policy_dry_run=False,
            cleanup_policies=[
                {"id": "keep-recent", "action": "KEEP", "most_recent_versions": {"keep_count": 20}},
                {
                    "id": "delete-untagged",
                    "action": "DELETE",
                    "condition": {"tag_state": "UNTAGGED", "older_than": "604800s"},
                },
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.url = pulumi.Output.concat(
            repository.location, "-docker.pkg.dev/", args.project, "/", repository.repository_id
        )
        self.register_outputs({"url": self.url})

    def image(self, tag: str) -> pulumi.Output[str]:
        return pulumi.Output.concat(self.url, "/", IMAGE_NAME, ":", tag)
