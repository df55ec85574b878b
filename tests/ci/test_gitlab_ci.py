"""`.gitlab-ci.yml` and ci/gitlab/*.yml, merged as GitLab merges them, against GitLab's own schema and
against what the pipeline must do: preview every stack, deploy on main only, prod and staging by hand, log
in to the clouds with ID tokens and never with stored keys."""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from ci.stacks import ENVIRONMENTS, stack_names, stacks_by_environment
from tests.ci.pipelines import HERE, ROOT, jobs, load_gitlab, matrix

DEPLOY_JOBS = {"dev": "deploy:dev", "staging": "deploy:staging", "prod": "deploy:prod"}
# Names under which a cloud's long-lived secret would travel; none may be set by the pipeline.
LONG_LIVED = re.compile(
    r"(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|CLIENT_SECRET|CLIENT_CERTIFICATE|"
    r"GOOGLE_CREDENTIALS|GOOGLE_CLOUD_KEYFILE_JSON|SERVICE_ACCOUNT_KEY|_KEY_JSON)$"
)
ON_MAIN = '$CI_COMMIT_BRANCH == "main"'


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return load_gitlab()


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads((HERE / "gitlab-ci.schema.json").read_text())


def errors(schema: dict[str, Any], document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_the_pipeline_validates_against_gitlabs_schema(config: dict[str, Any], schema: dict[str, Any]) -> None:
    assert errors(schema, config) == []


def test_the_schema_check_catches_a_broken_job(config: dict[str, Any], schema: dict[str, Any]) -> None:
    broken = copy.deepcopy(config)
    broken["deploy:prod"]["rules"][0]["when"] = "sometimes"
    broken["lint"]["script"] = {"run": "make lint"}
    found = errors(schema, broken)
    assert any(error.startswith("deploy:prod") for error in found)
    assert any(error.startswith("lint") for error in found)


def test_includes_pull_in_every_file_of_ci_gitlab(config: dict[str, Any]) -> None:
    for path in (ROOT / "ci" / "gitlab").glob("*.yml"):
        for name in yaml.safe_load(path.read_text()):
            assert name in config, f"{path.name}: {name} is not in the merged pipeline"


def test_every_job_is_in_a_declared_stage(config: dict[str, Any]) -> None:
    for name, definition in jobs(config).items():
        assert definition.get("stage", "test") in config["stages"], name


def test_every_stack_is_previewed_in_its_environment(config: dict[str, Any]) -> None:
    cells = matrix(jobs(config)["preview"])
    previewed = {cell["STACK"]: cell["PARLEY_ENVIRONMENT"] for cell in cells}
    assert len(previewed) == len(cells), "a stack is previewed twice"
    for environment, stacks in stacks_by_environment().items():
        for stack in stacks:
            assert previewed.get(stack) == environment, f"{stack} is not previewed in {environment}"
    # Stacks other engineers add keep the naming scheme stacks/ follows: <target>-<environment>.
    for stack, environment in previewed.items():
        assert stack.endswith(f"-{environment}"), stack


def test_each_environment_deploys_the_stacks_it_previews(config: dict[str, Any]) -> None:
    resolved = jobs(config)
    previews = matrix(resolved["preview"])
    for environment, name in DEPLOY_JOBS.items():
        deployed = sorted(cell["STACK"] for cell in matrix(resolved[name]))
        assert deployed == sorted(c["STACK"] for c in previews if c["PARLEY_ENVIRONMENT"] == environment), name
        assert resolved[name]["variables"]["PARLEY_ENVIRONMENT"] == environment
        assert resolved[name]["environment"]["name"] == environment
        assert resolved[name]["resource_group"], f"{name} deploys without a resource group"
    assert set(stack_names()) <= {c["STACK"] for c in previews}


def test_deploys_run_on_main_only_and_staging_and_prod_wait_for_a_person(config: dict[str, Any]) -> None:
    resolved = jobs(config)
    for environment, name in DEPLOY_JOBS.items():
        rules = resolved[name]["rules"]
        assert [rule["if"] for rule in rules] == [ON_MAIN], f"{name} runs outside main"
        manual = rules[0].get("when") == "manual"
        assert manual is (environment != "dev"), name
        if manual:
            # A manual job that may fail would let the stages after it run without the approval.
            assert rules[0]["allow_failure"] is False, name
    stages = config["stages"]
    order = [stages.index(resolved[DEPLOY_JOBS[e]]["stage"]) for e in ENVIRONMENTS]
    assert order == sorted(order) and len(set(order)) == 3, "dev, staging and prod deploy in separate stages, in order"
    assert stages.index(resolved["preview"]["stage"]) < order[0]


def test_cloud_jobs_log_in_with_id_tokens(config: dict[str, Any]) -> None:
    for name, definition in jobs(config).items():
        script = " ".join(definition.get("script", []))
        if "preview.sh" in script or "deploy.sh" in script:
            tokens = definition.get("id_tokens", {})
            assert set(tokens) == {"AWS_ID_TOKEN", "AZURE_ID_TOKEN", "GCP_ID_TOKEN"}, name
            assert tokens["AWS_ID_TOKEN"]["aud"] == "sts.amazonaws.com"
            assert tokens["AZURE_ID_TOKEN"]["aud"] == "api://AzureADTokenExchange"
            assert "$GCP_WORKLOAD_IDENTITY_PROVIDER" in tokens["GCP_ID_TOKEN"]["aud"]


def _variables(config: dict[str, Any]) -> list[tuple[str, str, Any]]:
    found = [("(global)", key, value) for key, value in config.get("variables", {}).items()]
    for name, definition in jobs(config).items():
        found += [(name, key, value) for key, value in (definition.get("variables") or {}).items()]
        for rule in definition.get("rules", []):
            found += [(name, key, value) for key, value in (rule.get("variables") or {}).items()]
    return found


def test_no_variable_carries_a_long_lived_cloud_key(config: dict[str, Any]) -> None:
    for where, key, value in _variables(config):
        assert not LONG_LIVED.search(key), f"{where}: {key} looks like a long-lived cloud key"
        assert not re.search(r"AKIA[0-9A-Z]{16}|-----BEGIN", str(value)), f"{where}: {key} holds a key"


def test_the_key_check_spots_a_stored_key(config: dict[str, Any]) -> None:
    leaky = copy.deepcopy(config)
    leaky["deploy:prod"]["variables"]["AWS_SECRET_ACCESS_KEY"] = "$PROD_SECRET"
    with pytest.raises(AssertionError, match="AWS_SECRET_ACCESS_KEY"):
        test_no_variable_carries_a_long_lived_cloud_key(leaky)


def test_the_cost_report_is_kept_and_commented_on_merge_requests(config: dict[str, Any]) -> None:
    resolved = jobs(config)
    artifacts = resolved["preview"]["artifacts"]
    assert artifacts["when"] == "always", "a failing preview's cost report is still kept"
    assert "reports/$STACK/" in artifacts["paths"]
    comment = resolved["cost-comment"]
    assert comment["needs"] == [{"job": "preview", "artifacts": True}]
    assert [rule["if"] for rule in comment["rules"]] == ['$CI_PIPELINE_SOURCE == "merge_request_event"']
    assert "ci/scripts/post-mr-comment.sh reports/*/cost.md" in comment["script"]


def test_tests_run_beside_postgresql_and_redis(config: dict[str, Any]) -> None:
    for name in ("test", "test:infra"):
        services = {service["alias"] for service in jobs(config)[name]["services"]}
        assert {"postgres", "redis", "mariadb"} <= services, name


def test_every_script_the_pipeline_calls_exists_and_is_executable(config: dict[str, Any]) -> None:
    called = set()
    for definition in jobs(config).values():
        for line in definition.get("script", []):
            called.update(word for word in shlex.split(line) if word.startswith("ci/scripts/") and "*" not in word)
    assert called >= {"ci/scripts/preview.sh", "ci/scripts/deploy.sh", "ci/scripts/post-mr-comment.sh"}
    for script in called:
        path = Path(ROOT, script)
        assert path.is_file() and os.access(path, os.X_OK), f"{script} is missing or not executable"
