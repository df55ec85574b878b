"""ci/stacks.py: a stack's target, cloud and environment as the pipelines read them from its stack file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ci.stacks import StackError, app, load_stack, stacks_by_environment

PULUMI_YAML = "name: parley\nconfig:\n  environment:\n    type: string\n    default: dev\n"


def project(tmp_path: Path, stacks: dict[str, str]) -> Path:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text(PULUMI_YAML)
    for name, text in stacks.items():
        (tmp_path / "stacks" / f"Pulumi.{name}.yaml").write_text(text)
    return tmp_path


def test_the_cloud_follows_the_target_and_the_environment_defaults_to_pulumi_yamls(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "sls-prod": "config:\n  parley:target: aws-serverless\n  parley:environment: prod\n",
            "az-dev": "config:\n  parley:target: azure\n",
        },
    )
    serverless = load_stack("sls-prod", root)
    assert (serverless.cloud, serverless.environment, serverless.needs_lambda_package) == ("aws", "prod", True)
    assert (load_stack("az-dev", root).cloud, load_stack("az-dev", root).environment) == ("azure", "dev")
    assert stacks_by_environment(root) == {"dev": ["az-dev"], "staging": [], "prod": ["sls-prod"]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("config:\n  parley:environment: dev\n", "parley:target is None"),
        ("config:\n  parley:target: heroku\n", "parley:target is 'heroku'"),
        ("config:\n  parley:target: gcp\n  parley:environment: qa\n", "parley:environment is 'qa'"),
        ("config: [unclosed\n", "is not valid YAML"),
    ],
)
def test_a_stack_file_the_pipelines_cannot_use_is_named(tmp_path: Path, text: str, message: str) -> None:
    root = project(tmp_path, {"broken": text})
    with pytest.raises(StackError, match=r"Pulumi\.broken\.yaml") as error:
        load_stack("broken", root)
    assert message in str(error.value)


def test_the_cli_prints_a_field_or_a_list_and_exits_2_on_an_unknown_stack(tmp_path: Path) -> None:
    root = project(tmp_path, {"k8s-dev": "config:\n  parley:target: kubernetes\n"})
    runner = CliRunner()
    shown = runner.invoke(app, ["show", "k8s-dev", "--field", "cloud", "--root", str(root)])
    assert (shown.exit_code, shown.output) == (0, "kubernetes\n")
    listed = runner.invoke(app, ["list", "--environment", "dev", "--root", str(root)])
    assert listed.output == "k8s-dev\n"
    unknown = runner.invoke(app, ["show", "k8s-qa", "--root", str(root)])
    assert unknown.exit_code == 2
    assert "no stack 'k8s-qa'" in unknown.output and "k8s-dev" in unknown.output
    bad = runner.invoke(app, ["list", "--environment", "qa", "--root", str(root)])
    assert bad.exit_code == 2
