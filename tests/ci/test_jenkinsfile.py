"""The Jenkinsfile compiled with Debian's groovy and read back (tests/ci/read_jenkinsfile.groovy): its stages,
previews of every stack, approvals with submitters before staging and prod, deploys on main only, and
credentials bound for the OIDC tokens and Pulumi's secret alone. One JVM start reads it; one more shows a
syntax error is caught."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from pathlib import Path

import pytest

from ci.stacks import stacks_by_environment
from tests.ci.pipelines import ROOT, Step, read_jenkinsfile

pytestmark = pytest.mark.skipif(shutil.which("groovy") is None, reason="needs Debian's groovy (tests/setup.py)")

BOUND_CREDENTIALS = {"parley-oidc-aws", "parley-oidc-azure", "parley-oidc-gcp"}
BACKEND_CREDENTIALS = {"parley-pulumi-token", "parley-pulumi-passphrase"}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Step:
    result = read_jenkinsfile(ROOT / "Jenkinsfile", tmp_path_factory.mktemp("groovy"))
    assert result.returncode == 0, result.stderr
    document = Step.from_json(json.loads(result.stdout))
    found = document.child("pipeline")
    assert found is not None, "the Jenkinsfile has no pipeline block"
    return found


def stages(pipeline: Step) -> dict[str, Step]:
    top = pipeline.child("stages")
    assert top is not None
    return {stage.args[0]: stage for stage in top.children if stage.step == "stage"}


def axis_values(stage: Step) -> list[str]:
    axes = stage.find("axis")
    assert len(axes) == 1, f"{stage.args[0]}: one axis expected"
    name = axes[0].child("name")
    values = axes[0].child("values")
    assert name is not None and name.args == ["STACK"] and values is not None
    return list(values.args)


def test_a_syntax_error_fails_the_compile(tmp_path: Path) -> None:
    broken = tmp_path / "Jenkinsfile"
    broken.write_text((ROOT / "Jenkinsfile").read_text().replace("stage('Lint') {", "stage('Lint') {{", 1))
    result = read_jenkinsfile(broken, tmp_path)
    assert result.returncode == 2
    assert "Jenkinsfile" in result.stderr


def test_the_stages_run_in_the_order_of_the_gitlab_pipeline(pipeline: Step) -> None:
    assert list(stages(pipeline)) == [
        "Lint", "Test", "Image", "Preview",
        "Deploy dev", "Approve staging", "Deploy staging", "Approve prod", "Deploy prod",
    ]  # fmt: skip


def test_every_stack_is_previewed_and_each_environment_deploys_its_own(pipeline: Step) -> None:
    found = stages(pipeline)
    previewed = axis_values(found["Preview"])
    assert len(previewed) == len(set(previewed))
    for environment, stacks in stacks_by_environment().items():
        assert set(stacks) <= set(previewed), f"{environment}: {set(stacks) - set(previewed)} not previewed"
        deployed = axis_values(found[f"Deploy {environment}"])
        assert set(stacks) <= set(deployed), f"Deploy {environment} misses {set(stacks) - set(deployed)}"
        assert all(stack.endswith(f"-{environment}") for stack in deployed)
        assert found[f"Deploy {environment}"].child("environment").env == {"PARLEY_ENVIRONMENT": environment}


def test_staging_and_prod_wait_for_an_approval_with_named_submitters(pipeline: Step) -> None:
    found = stages(pipeline)
    for environment in ("staging", "prod"):
        approval = found[f"Approve {environment}"]
        prompt = approval.child("input")
        assert prompt is not None, f"no input before {environment}"
        fields = {child.step: child.args[0] for child in prompt.children}
        assert environment in fields["message"]
        assert fields["submitter"], f"anyone may approve {environment}"
        when = approval.child("when")
        assert when is not None
        # The branch condition is checked before the prompt, so other branches are never asked.
        assert [child.step for child in when.children] == ["beforeInput", "branch"]
        assert when.child("branch").args == ["main"]
    assert found["Approve prod"].child("input").child("submitter").args != ["parley-deployers"], (
        "prod is approved by a narrower group than staging"
    )


def test_deploys_run_on_main_only(pipeline: Step) -> None:
    for name, stage in stages(pipeline).items():
        runs_up = "deploy.sh" in stage.text()
        when = stage.child("when")
        on_main = when is not None and when.child("branch") is not None and when.child("branch").args == ["main"]
        assert runs_up <= on_main, f"{name} deploys outside main"


def test_only_the_oidc_tokens_and_pulumis_secret_are_bound(pipeline: Step) -> None:
    bindings = pipeline.find("withCredentials")
    assert bindings, "no credentials bound"
    for binding in bindings:
        ids = {item["args"][0]["credentialsId"] for item in binding.args[0]}
        assert ids - BACKEND_CREDENTIALS == BOUND_CREDENTIALS
        assert len(ids & BACKEND_CREDENTIALS) == 1
        commands = " ".join(step.args[0] for step in binding.find("sh"))
        assert re.search(r"ci/scripts/(preview|deploy)\.sh", commands)
    assert "credentials(" not in (ROOT / "Jenkinsfile").read_text(), "secrets go through withCredentials only"


def test_cost_reports_are_archived(pipeline: Step) -> None:
    archived = [step.args[0]["artifacts"] for step in stages(pipeline)["Preview"].find("archiveArtifacts")]
    assert archived == ["reports/**"]
    # The scripts write to reports/ of the checkout unless PARLEY_REPORT_DIR says otherwise; with `agent none`
    # the pipeline has no workspace, and each matrix cell has its own, so no block may point it elsewhere.
    assert all("PARLEY_REPORT_DIR" not in block.env for block in pipeline.find("environment"))


def test_every_script_the_jenkinsfile_calls_exists_and_is_executable(pipeline: Step) -> None:
    called = set()
    for step in pipeline.find("sh"):
        called.update(word for word in shlex.split(step.args[0]) if word.startswith("ci/scripts/") and "*" not in word)
    assert called >= {"ci/scripts/preview.sh", "ci/scripts/deploy.sh", "ci/scripts/build-image.sh"}
    for script in called:
        assert os.access(ROOT / script, os.X_OK), f"{script} is missing or not executable"
