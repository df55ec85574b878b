"""ci/scripts/preview.sh, deploy.sh and build-image.sh with `pulumi`, `parley` and `docker` stand-ins: the
commands they run, the reports they write and their exit status on success, policy violations and failures."""

from __future__ import annotations

import json
import tomllib

from tests.ci.conftest import Fakes
from tests.ci.pipelines import ROOT

AWS = {"AWS_ID_TOKEN": "t", "AWS_ROLE_ARN": "arn:deploy", "AWS_PREVIEW_ROLE_ARN": "arn:preview"}
CLOUD = {**AWS, "PULUMI_ACCESS_TOKEN": "pul-x"}


def test_preview_writes_the_preview_policy_and_cost_reports(fakes: Fakes) -> None:
    result = fakes.run("preview.sh", "aws-serverless-prod", PULUMI_ORG="parley-org", **CLOUD)
    assert result.returncode == 0, result.stderr
    stack = ["--stack", "parley-org/aws-serverless-prod", "--non-interactive"]
    assert fakes.calls("pulumi") == [
        ["login", "--non-interactive"],
        ["preview", *stack, "--json", "--policy-pack", str(ROOT / "policies")],
    ]
    reports = fakes.tmp / "reports" / "aws-serverless-prod"
    preview = str(reports / "preview.json")
    assert fakes.calls("parley") == [
        ["package", "lambda", "--out", str(ROOT / "build" / "lambda")],
        ["policy", "--file", preview],
        ["cost", "--file", preview, "--format", "json"],
        ["cost", "--file", preview, "--format", "html"],
        ["cost", "--file", preview, "--format", "markdown"],
    ]
    assert json.loads((reports / "preview.json").read_text()) == {"steps": []}
    assert (reports / "policy.txt").read_text() == "policy report\n"
    assert (reports / "cost.md").read_text().startswith("cost report --file")
    assert {path.name for path in reports.iterdir()} == {
        "preview.json",
        "policy.txt",
        "cost.md",
        "cost.html",
        "cost.json",
    }


def test_preview_uses_the_read_only_identity(fakes: Fakes) -> None:
    result = fakes.run(
        "preview.sh", "aws-dev", PULUMI_ACCESS_TOKEN="pul-x", AWS_ID_TOKEN="t", AWS_ROLE_ARN="arn:deploy"
    )
    assert result.returncode == 2
    assert "AWS_PREVIEW_ROLE_ARN is not set" in result.stderr
    assert fakes.calls("pulumi") == []


def test_a_policy_violation_fails_the_preview_but_the_cost_is_still_reported(fakes: Fakes) -> None:
    result = fakes.run("preview.sh", "aws-dev", FAKE_POLICY_STATUS="1", **CLOUD)
    assert result.returncode == 1
    assert "aws-dev breaks mandatory policies" in result.stderr
    assert (fakes.tmp / "reports" / "aws-dev" / "cost.json").exists()


def test_a_failed_preview_keeps_its_exit_status(fakes: Fakes) -> None:
    failed = fakes.run("preview.sh", "aws-dev", FAKE_PULUMI_STATUS="255", **CLOUD)
    assert failed.returncode == 255
    assert "pulumi preview of aws-dev failed (exit 255)" in failed.stderr
    silent = fakes.run("preview.sh", "aws-dev", FAKE_PULUMI_STATUS="255", FAKE_PREVIEW="", **CLOUD)
    assert silent.returncode == 255
    assert "wrote no JSON" in silent.stderr


def test_a_cost_baseline_is_passed_when_main_has_one(fakes: Fakes) -> None:
    baseline = fakes.tmp / "main" / "aws-dev" / "cost.json"
    baseline.parent.mkdir(parents=True)
    baseline.write_text("{}")
    assert (
        fakes.run("preview.sh", "aws-dev", PARLEY_COST_BASELINE_DIR=str(baseline.parents[1]), **CLOUD).returncode == 0
    )
    costs = [call for call in fakes.calls("parley") if call[0] == "cost"]
    # Only the Markdown comment gets the difference; the JSON (the next baseline) and HTML stay whole reports.
    with_baseline = [call[call.index("--format") + 1] for call in costs if "--baseline" in call]
    assert with_baseline == ["markdown"] and len(costs) == 4
    assert all(call[-2:] == ["--baseline", str(baseline)] for call in costs if "--baseline" in call)
    comment = (fakes.tmp / "reports" / "aws-dev" / "cost.md").read_text()
    assert comment.index("--baseline") < comment.index("cost report --file", comment.index("--baseline"))
    assert "--baseline" not in (fakes.tmp / "reports" / "aws-dev" / "cost.json").read_text()


def test_a_kubernetes_preview_selects_the_ci_systems_context(fakes: Fakes) -> None:
    kubeconfig = fakes.tmp / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")
    result = fakes.run(
        "preview.sh", "k8s-dev", KUBECONFIG=str(kubeconfig), KUBE_CONTEXT="parley/agent:dev", PULUMI_ACCESS_TOKEN="p",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "--config\tparley:kubeContext=parley/agent:dev" in "\t".join(fakes.calls("pulumi")[1])


def test_deploy_refreshes_enforces_the_policy_pack_and_keeps_the_outputs(fakes: Fakes) -> None:
    result = fakes.run("deploy.sh", "aws-prod", PARLEY_ENVIRONMENT="prod", CI_COMMIT_SHORT_SHA="abc123", **CLOUD)
    assert result.returncode == 0, result.stderr
    _login, up, output = fakes.calls("pulumi")
    assert up[:4] == ["up", "--stack", "aws-prod", "--non-interactive"]
    assert {"--yes", "--refresh", "--policy-pack"} <= set(up)
    assert up[up.index("--policy-pack") + 1] == str(ROOT / "policies")
    assert "(abc123)" in up[up.index("--message") + 1]
    assert output == ["stack", "output", "--stack", "aws-prod", "--json"]
    outputs = fakes.tmp / "reports" / "aws-prod" / "outputs.json"
    assert json.loads(outputs.read_text()) == {"url": "https://chat.example.com"}


def test_deploy_refuses_a_stack_of_another_environment(fakes: Fakes) -> None:
    result = fakes.run("deploy.sh", "aws-prod", PARLEY_ENVIRONMENT="dev", **CLOUD)
    assert result.returncode == 2
    assert "stack aws-prod belongs to environment prod, but PARLEY_ENVIRONMENT is dev" in result.stderr
    assert fakes.calls() == []


def test_a_failed_update_fails_the_deploy(fakes: Fakes) -> None:
    result = fakes.run("deploy.sh", "aws-dev", FAKE_PULUMI_STATUS="255", **CLOUD)
    assert result.returncode == 255
    assert not (fakes.tmp / "reports" / "aws-dev" / "outputs.json").exists()


def test_the_image_is_built_and_pushed_only_when_asked(fakes: Fakes) -> None:
    image = {"PARLEY_IMAGE": "registry.example.com/parley/parley", "PARLEY_IMAGE_TAG": "abc123"}
    assert fakes.run("build-image.sh", **image).returncode == 0
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    build = ["build", "--build-arg", f"VERSION={version}", "--tag", "registry.example.com/parley/parley:abc123", "."]
    assert fakes.calls("docker") == [build]
    pushed = fakes.run("build-image.sh", PARLEY_IMAGE_PUSH="true", REGISTRY_USER="ci", REGISTRY_PASSWORD="job", **image)
    assert pushed.returncode == 0, pushed.stderr
    assert fakes.calls("docker")[1:] == [
        build,
        ["login", "--username", "ci", "--password-stdin", "registry.example.com"],
        ["push", "registry.example.com/parley/parley:abc123"],
    ]


def test_the_image_settings_are_checked(fakes: Fakes) -> None:
    assert "PARLEY_IMAGE is not set" in fakes.run("build-image.sh").stderr
    bad_tag = fakes.run("build-image.sh", PARLEY_IMAGE="parley", PARLEY_IMAGE_TAG="feature/x")
    assert bad_tag.returncode == 2
    assert "PARLEY_IMAGE_TAG is 'feature/x'" in bad_tag.stderr
    bad_push = fakes.run("build-image.sh", PARLEY_IMAGE="parley", PARLEY_IMAGE_TAG="1", PARLEY_IMAGE_PUSH="yes")
    assert "PARLEY_IMAGE_PUSH is 'yes'" in bad_push.stderr
    assert fakes.calls("docker") == []
