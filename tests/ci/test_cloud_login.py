"""ci/scripts/cloud-login.sh and pulumi-login.sh: the ID token into a file only its user reads, the variables
each cloud's SDKs read, and clear refusals of missing settings and of long-lived keys."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from tests.ci.conftest import Fakes

PROVIDER = "projects/123456/locations/global/workloadIdentityPools/parley/providers/gitlab"


def exports(stdout: str) -> dict[str, str]:
    """The `export NAME=value` lines, as the shell would read them."""
    found = {}
    for line in stdout.splitlines():
        words = shlex.split(line)
        assert words[0] == "export", line
        name, _, value = words[1].partition("=")
        found[name] = value
    return found


def test_aws_gets_a_web_identity_token_file_and_the_deploy_role(fakes: Fakes) -> None:
    result = fakes.run(
        "cloud-login.sh", "aws-prod", AWS_ID_TOKEN="eyJ.token", AWS_ROLE_ARN="arn:aws:iam::1:role/deploy",
        CI_PIPELINE_ID="77",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found = exports(result.stdout)
    assert found["AWS_ROLE_ARN"] == "arn:aws:iam::1:role/deploy"
    assert found["AWS_ROLE_SESSION_NAME"] == "parley-77"
    token = Path(found["AWS_WEB_IDENTITY_TOKEN_FILE"])
    assert token.read_text() == "eyJ.token"
    assert token.stat().st_mode & 0o077 == 0, "the token file is readable by others"


def test_previews_take_the_read_only_role_and_name_it_when_missing(fakes: Fakes) -> None:
    base = {"AWS_ID_TOKEN": "t", "AWS_ROLE_ARN": "arn:aws:iam::1:role/deploy"}
    missing = fakes.run("cloud-login.sh", "aws", PARLEY_OIDC_MODE="preview", **base)
    assert missing.returncode == 2
    assert "AWS_PREVIEW_ROLE_ARN is not set" in missing.stderr
    found = fakes.run("cloud-login.sh", "aws", PARLEY_OIDC_MODE="preview", AWS_PREVIEW_ROLE_ARN="arn:ro", **base)
    assert exports(found.stdout)["AWS_ROLE_ARN"] == "arn:ro"


def test_a_missing_token_or_role_is_named(fakes: Fakes) -> None:
    no_token = fakes.run("cloud-login.sh", "aws", AWS_ROLE_ARN="arn:aws:iam::1:role/deploy")
    assert no_token.returncode == 2
    assert "AWS_ID_TOKEN is not set" in no_token.stderr
    no_role = fakes.run("cloud-login.sh", "aws", AWS_ID_TOKEN="t")
    assert "AWS_ROLE_ARN is not set" in no_role.stderr


def test_long_lived_keys_are_refused(fakes: Fakes) -> None:
    result = fakes.run(
        "cloud-login.sh", "aws", AWS_ID_TOKEN="t", AWS_ROLE_ARN="arn", AWS_SECRET_ACCESS_KEY="wJalr",
    )  # fmt: skip
    assert result.returncode == 2
    assert "AWS_SECRET_ACCESS_KEY is set" in result.stderr
    assert result.stdout == ""
    azure = fakes.run("cloud-login.sh", "azure", ARM_CLIENT_SECRET="s")
    assert "ARM_CLIENT_SECRET is set" in azure.stderr


def test_azure_gets_workload_identity_federation(fakes: Fakes) -> None:
    result = fakes.run(
        "cloud-login.sh", "azure", AZURE_ID_TOKEN="az.token", AZURE_CLIENT_ID="client",
        AZURE_TENANT_ID="tenant", AZURE_SUBSCRIPTION_ID="sub",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found = exports(result.stdout)
    assert found["ARM_USE_OIDC"] == "true"
    assert (found["ARM_CLIENT_ID"], found["ARM_TENANT_ID"], found["ARM_SUBSCRIPTION_ID"]) == ("client", "tenant", "sub")
    assert Path(found["AZURE_FEDERATED_TOKEN_FILE"]).read_text() == "az.token"


def test_gcp_gets_an_external_account_credential(fakes: Fakes) -> None:
    result = fakes.run(
        "cloud-login.sh", "gcp", GCP_ID_TOKEN="g.token", GCP_WORKLOAD_IDENTITY_PROVIDER=PROVIDER,
        GCP_SERVICE_ACCOUNT="deploy@parley.iam.gserviceaccount.com",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    credential = json.loads(Path(exports(result.stdout)["GOOGLE_APPLICATION_CREDENTIALS"]).read_text())
    assert credential["type"] == "external_account"
    assert credential["audience"] == f"//iam.googleapis.com/{PROVIDER}"
    assert Path(credential["credential_source"]["file"]).read_text() == "g.token"
    assert credential["service_account_impersonation_url"].endswith(
        "/serviceAccounts/deploy@parley.iam.gserviceaccount.com:generateAccessToken"
    )


def test_gcp_refuses_a_provider_that_is_not_a_resource_name(fakes: Fakes) -> None:
    result = fakes.run(
        "cloud-login.sh", "gcp", GCP_ID_TOKEN="t", GCP_WORKLOAD_IDENTITY_PROVIDER="parley-pool",
        GCP_SERVICE_ACCOUNT="a",
    )  # fmt: skip
    assert result.returncode == 2
    assert "GCP_WORKLOAD_IDENTITY_PROVIDER is 'parley-pool'" in result.stderr


def test_a_kubernetes_stack_needs_the_kubeconfig_the_ci_system_provides(fakes: Fakes) -> None:
    missing = fakes.run("cloud-login.sh", "k8s-dev")
    assert "KUBECONFIG is not set" in missing.stderr
    kubeconfig = fakes.tmp / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")
    assert exports(fakes.run("cloud-login.sh", "k8s-dev", KUBECONFIG=str(kubeconfig)).stdout) == {
        "KUBECONFIG": str(kubeconfig)
    }


def test_an_unknown_stack_is_named(fakes: Fakes) -> None:
    result = fakes.run("cloud-login.sh", "aws-qa")
    assert result.returncode == 2
    assert "no stack 'aws-qa'" in result.stderr


def test_pulumi_cloud_needs_its_token(fakes: Fakes) -> None:
    missing = fakes.run("pulumi-login.sh")
    assert missing.returncode == 2
    assert "PULUMI_ACCESS_TOKEN is not set" in missing.stderr
    assert fakes.calls("pulumi") == []
    assert fakes.run("pulumi-login.sh", PULUMI_ACCESS_TOKEN="pul-x").returncode == 0
    assert fakes.calls("pulumi") == [["login", "--non-interactive"]]


def test_a_bucket_backend_is_logged_in_to_by_url(fakes: Fakes) -> None:
    assert fakes.run("pulumi-login.sh", PULUMI_BACKEND_URL="s3://parley-state").returncode == 0
    assert fakes.run("pulumi-login.sh", PULUMI_BACKEND_URL="azblob://state").returncode == 2
    assert fakes.calls("pulumi") == [["login", "--non-interactive", "s3://parley-state"]]


def test_an_unknown_backend_is_refused(fakes: Fakes) -> None:
    result = fakes.run("pulumi-login.sh", PULUMI_BACKEND_URL="https://state.example.com")
    assert result.returncode == 2
    assert "PULUMI_BACKEND_URL is 'https://state.example.com'" in result.stderr
