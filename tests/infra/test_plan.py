"""The offline plan (infra/plan/): every stack in `stacks/` planned under mocks, one after another in one
process; its JSON read back the same; no secret value in any format; valid Graphviz; `parley plan` and its
errors; the readers on real Pulumi CLI outputs (tests/infra/fixtures/SOURCES.md); and the mocks' answers to the
calls and outputs programs use, on small programs written here."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import textwrap
from collections import Counter
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import pulumi
import pytest
import typer
import yaml
from typer.testing import CliRunner

from app.cli import _install_hint, add_plugin_commands, cli
from infra.plan import Plan, PlanError, Secret, load, run_stack
from infra.plan.config import Project, load_project
from infra.plan.model import STACK_TYPE, UNKNOWN
from infra.plan.readers import read
from infra.plan.render import as_dot, as_json, as_table
from tests.support.plans import planned

PROJECT = load_project()
STACKS = list(PROJECT.stacks())
FIXTURES = Path(__file__).parent / "fixtures"
PREVIEW = FIXTURES / "preview-json_aws-s3-lambda_create.json"
VPC_EXPORT = FIXTURES / "stack-export_aws-vpc-alb.json"
RDS_EXPORT = FIXTURES / "stack-export_aws-rds-instance_secret-output.json"
RDS_CIPHERTEXT = "v1:mUAfQWw621puT5mf:d3VHy2+9FGGmsJpJ76Taw5/LXkPweZaek5Gp4g=="
# A secret value short enough to turn up by chance in unrelated text is not worth looking for.
SHORTEST_SECRET = 8


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {stack: planned(stack) for stack in STACKS}


def renderings(plan: Plan) -> dict[str, str]:
    return {"table": as_table(plan), "json": as_json(plan), "dot": as_dot(plan)}


def secret_texts(value: Any, *, inside: bool = False) -> set[str]:
    """The plain strings that `value` holds inside secrets."""
    if isinstance(value, Secret):
        return secret_texts(value.value, inside=True)
    if isinstance(value, dict):
        return set().union(*(secret_texts(v, inside=inside) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(secret_texts(v, inside=inside) for v in value))
    return {value} if inside and isinstance(value, str) and len(value) >= SHORTEST_SECRET else set()


def plan_secrets(plan: Plan) -> set[str]:
    values = [plan.outputs, *(r.inputs for r in plan.resources), *(r.outputs for r in plan.resources)]
    return set().union(*(secret_texts(v) for v in values))


def sample_project(root: Path, program: str, stacks: dict[str, dict[str, Any]]) -> Project:
    """A Pulumi project of its own: `program` as its `__main__.py`, one stack file per entry of `stacks`."""
    (root / "program").mkdir(parents=True)
    (root / "program" / "__main__.py").write_text(textwrap.dedent(program))
    (root / "stacks").mkdir()
    project = {"name": "sample", "runtime": "python", "main": "program/", "stackConfigDir": "stacks"}
    (root / "Pulumi.yaml").write_text(yaml.safe_dump(project))
    for stack, config in stacks.items():
        (root / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))
    return load_project(root)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, ["plan", *args])


# Every stack in stacks/, planned one after another.


def test_there_are_stacks_to_plan() -> None:
    assert {"k8s-dev", "k8s-prod"} <= set(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_hangs_off_this_stack_and_names_what_it_needs(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    assert (plan.stack, plan.project, plan.source) == (stack, "parley", "mocks")
    assert plan.resources
    urns = [r.urn for r in plan.resources]
    assert len(set(urns)) == len(urns)
    stack_urn = f"urn:pulumi:{stack}::parley::{STACK_TYPE}::parley-{stack}"
    for resource in plan.resources:
        assert resource.urn.startswith(f"urn:pulumi:{stack}::parley::")
        assert resource.urn.endswith(f"::{resource.name}")
        assert resource.parent == stack_urn or resource.parent in urns, resource.urn
        assert set(resource.dependencies) <= set(urns), resource.urn
        assert resource.provider in ("", *urns), resource.urn
        assert (resource.id is not None) == resource.custom, resource.urn


@pytest.mark.parametrize("stack", STACKS)
def test_counts_equal_the_resources(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    assert plan.counts() == dict(Counter(r.type for r in plan.resources))
    assert sum(plan.counts().values()) == len(plan.resources)
    document = json.loads(as_json(plan))
    assert (document["counts"], document["total"]) == (plan.counts(), len(plan.resources))
    table = as_table(plan)
    assert f"\n{len(plan.resources)} resources: {sum(r.custom for r in plan.resources)} custom" in table
    for type_, count in plan.counts().items():
        assert re.search(rf"^ *{count}  {re.escape(type_)}$", table, re.MULTILINE), type_


@pytest.mark.parametrize("stack", STACKS)
def test_the_json_plan_reads_back_as_the_same_plan(stack: str, plans: dict[str, Plan]) -> None:
    text = as_json(plans[stack])
    again = read(json.loads(text))
    assert again == plans[stack]
    assert as_json(again) == text


@pytest.mark.parametrize("stack", STACKS)
def test_no_secret_value_appears_in_any_format(stack: str, plans: dict[str, Plan]) -> None:
    plan = plans[stack]
    for name, text in renderings(plan).items():
        assert not {s for s in plan_secrets(plan) if s in text}, name
        assert "offline-plan-stand-in" not in text, name


def test_the_plans_hold_secrets_so_the_check_above_checks_something(plans: dict[str, Plan]) -> None:
    assert all(plan_secrets(plan) for stack, plan in plans.items() if stack.startswith("k8s"))
    assert sum(len(plan_secrets(plan)) for plan in plans.values()) >= len(plans)


@pytest.mark.parametrize("stack", STACKS)
def test_the_dot_output_is_valid_graphviz(stack: str, plans: dict[str, Plan]) -> None:
    check_dot(plans[stack])


def check_dot(plan: Plan) -> None:
    """`dot -Tsvg` draws a node per resource but the components that are clusters, a cluster per resource with
    children, and an arrow per dependency."""
    assert shutil.which("dot"), "Graphviz's dot is missing: `python -m tests.setup` installs it"
    svg = subprocess.run(["dot", "-Tsvg"], input=as_dot(plan), capture_output=True, text=True, check=True).stdout
    parents, urns = {r.parent for r in plan.resources}, {r.urn for r in plan.resources}
    assert svg.count('class="node"') == sum(r.custom or r.urn not in parents for r in plan.resources)
    assert svg.count('class="cluster"') == len(parents & urns)
    assert svg.count('class="edge"') == sum(len(set(r.dependencies) & urns) for r in plan.resources)


def test_a_plan_is_the_same_whatever_ran_before_it(plans: dict[str, Plan], tmp_path: Path) -> None:
    """Pulumi keeps a root Stack resource, configuration, secret keys and settings per thread; a run after
    other stacks' runs and after a program that failed midway gives the plan a first run gives."""
    broken = sample_project(tmp_path, BROKEN_PROGRAM, {"broken": {}})
    with pytest.raises(PlanError):
        run_stack("broken", project=broken)
    for stack in reversed(STACKS):
        assert as_json(run_stack(stack)) == as_json(plans[stack]), stack


BROKEN_PROGRAM = """
    import pulumi

    pulumi.ComponentResource("sample:index:Half", "half")
    pulumi.export("half", "done")
    raise ValueError("the broken stack stops here")
"""
OUTPUTS_PROGRAM = """
    import pulumi

    config = pulumi.Config()
    pulumi.ComponentResource("sample:index:Thing", config.require("thing"))
    pulumi.export(config.require("thing"), "exported")
"""


def test_outputs_parents_and_configuration_are_the_planned_stacks_own(tmp_path: Path) -> None:
    project = sample_project(tmp_path, OUTPUTS_PROGRAM, {"one": {"thing": "first"}, "two": {"thing": "second"}})
    one, two = run_stack("one", project=project), run_stack("two", project=project)
    assert (one.outputs, two.outputs) == ({"first": "exported"}, {"second": "exported"})
    assert two.one("sample:index:Thing").parent == f"urn:pulumi:two::sample::{STACK_TYPE}::sample-two"
    assert [r.name for r in two.resources] == ["second"]


def test_the_callers_pulumi_state_is_left_alone() -> None:
    pulumi.runtime.set_all_config({"parley:probe": "kept"}, ["parley:probe"])
    try:
        run_stack("k8s-dev")
        assert pulumi.runtime.get_config("parley:probe") == "kept"
        assert pulumi.runtime.is_config_secret("parley:probe")
        assert pulumi.runtime.get_config("parley:target") is None
        assert pulumi.runtime.settings.get_root_resource() is None
    finally:
        pulumi.runtime.set_all_config({}, [])


# Secrets the stack file cannot give offline.

SECRET_PROGRAM = """
    import pulumi

    config = pulumi.Config()
    pulumi.export("token", config.require_secret("token"))
    pulumi.export("apiKey", config.require_secret("apiKey"))
    pulumi.export("region", config.require("region"))
"""


def test_encrypted_and_missing_secrets_are_stood_in_and_named(tmp_path: Path) -> None:
    stacks = {"prod": {"token": {"secure": "v1:AAAA"}, "region": "eu-west-1"}}
    plan = run_stack("prod", project=sample_project(tmp_path, SECRET_PROGRAM, stacks))
    assert plan.stand_ins == ["sample:apiKey", "sample:token"]
    assert plan.outputs == {"token": Secret(), "apiKey": Secret(), "region": "eu-west-1"}
    assert all(isinstance(plan.outputs[key], Secret) for key in ("token", "apiKey"))
    assert "stand-in" not in as_json(plan) and "v1:AAAA" not in as_json(plan)


def test_given_secrets_are_used_and_never_shown(tmp_path: Path) -> None:
    project = sample_project(tmp_path, SECRET_PROGRAM, {"prod": {"region": "eu-west-1"}})
    given = {"sample:token": Secret("given-token-value"), "sample:apiKey": Secret("given-api-key-value")}
    plan = run_stack("prod", project=project, config_overrides=given)
    assert plan.stand_ins == []
    assert plan.outputs["token"].value == "given-token-value"
    assert not any("given-" in text for text in renderings(plan).values())


def test_a_missing_plain_setting_or_unwanted_stand_in_is_the_programs_error(tmp_path: Path) -> None:
    project = sample_project(tmp_path, SECRET_PROGRAM, {"bare": {}})
    with pytest.raises(PlanError, match="Missing required configuration variable 'sample:region'"):
        run_stack("bare", project=project, config_overrides={"sample:token": Secret("t"), "sample:apiKey": "k"})
    with pytest.raises(PlanError, match=r"sample:(token|apiKey)"):
        run_stack("bare", project=project, stand_in_secrets=False)


# The mocks: what calls return and what providers would add, on a small AWS program.

AWS_PROGRAM = """
    import pulumi
    import pulumi_aws as aws
    import pulumi_random as random

    pulumi.export("zones", aws.get_availability_zones_output(state="available").names)
    pulumi.export("account", aws.get_caller_identity_output().account_id)
    pulumi.export("region", aws.get_region_output().region)
    pulumi.export("echo", pulumi.runtime.invoke("sample:index:echo", {"value": 42, "list": ["a"]}).value)
    trust = aws.iam.get_policy_document_output(
        statements=[{
            "actions": ["sts:AssumeRole"],
            "principals": [{"type": "Service", "identifiers": ["ecs-tasks.amazonaws.com"]}],
        }]
    )
    role = aws.iam.Role("app", assume_role_policy=trust.json)
    aws.iam.RolePolicyAttachment("app", role=role.name, policy_arn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    west = aws.Provider("west", region="us-west-2")
    bucket = aws.s3.Bucket("logs", opts=pulumi.ResourceOptions(provider=west))
    password = random.RandomPassword("db", length=24)
    secret = aws.secretsmanager.Secret("db")
    aws.secretsmanager.SecretVersion("db", secret_id=secret.id, secret_string=password.result)
    pulumi.export("bucketArn", bucket.arn)
    pulumi.export("bucketDomain", bucket.bucket_regional_domain_name)
    websocket = aws.apigatewayv2.Api("chat", protocol_type="WEBSOCKET", route_selection_expression="$request.body.a")
    http = aws.apigatewayv2.Api("rest", protocol_type="HTTP")
    stages = [aws.apigatewayv2.Stage("chat", api_id=websocket.id, name="prod"),
              aws.apigatewayv2.Stage("rest", api_id=http.id, name="$default")]
    pulumi.export("stageUrls", [stage.invoke_url for stage in stages])
"""


@pytest.fixture(scope="module")
def aws_plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    root = tmp_path_factory.mktemp("aws")
    return run_stack("dev", project=sample_project(root, AWS_PROGRAM, {"dev": {"aws:region": "eu-west-1"}}))


def test_calls_answer_for_the_stacks_region_and_unknown_calls_echo(aws_plan: Plan) -> None:
    assert aws_plan.outputs["zones"] == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert aws_plan.outputs["account"] == "123456789012"
    assert aws_plan.outputs["region"] == "eu-west-1"
    assert aws_plan.outputs["echo"] == {"value": 42, "list": ["a"]}


def test_policy_documents_are_rendered_to_iam_json(aws_plan: Plan) -> None:
    policy = json.loads(aws_plan.one("aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert policy == {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ecs-tasks.amazonaws.com"}}
        ],
    }


def test_generated_names_arns_and_regions_flow_into_other_resources(aws_plan: Plan) -> None:
    role = aws_plan.one("aws:iam/role:Role")
    attachment = aws_plan.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert re.fullmatch(r"app-[0-9a-f]{7}", role.outputs["name"])
    assert attachment.inputs["role"] == role.outputs["name"]
    assert role.urn in attachment.dependencies
    assert role.outputs["arn"] == f"arn:aws:iam::123456789012:role/{role.outputs['name']}"
    bucket, west = aws_plan.one("aws:s3/bucket:Bucket"), aws_plan.one("pulumi:providers:aws")
    assert bucket.provider == west.urn
    assert aws_plan.outputs["bucketArn"] == f"arn:aws:s3:::{bucket.outputs['bucket']}"
    assert aws_plan.outputs["bucketDomain"] == f"{bucket.outputs['bucket']}.s3.us-west-2.amazonaws.com"
    assert role.provider == ""


def test_a_stages_url_follows_its_apis_protocol(aws_plan: Plan) -> None:
    ids = {r.name: r.id for r in aws_plan.resources if r.type == "aws:apigatewayv2/api:Api"}
    assert aws_plan.outputs["stageUrls"] == [
        f"wss://{ids['chat']}.execute-api.eu-west-1.amazonaws.com/prod",
        f"https://{ids['rest']}.execute-api.eu-west-1.amazonaws.com/",
    ]


def test_generated_secrets_stay_secret_through_resources(aws_plan: Plan) -> None:
    password = aws_plan.one("random:index/randomPassword:RandomPassword")
    version = aws_plan.one("aws:secretsmanager/secretVersion:SecretVersion")
    assert isinstance(password.outputs["result"], Secret) and len(password.outputs["result"].value) == 24
    assert isinstance(version.inputs["secretString"], Secret)
    assert version.inputs["secretString"].value == password.outputs["result"].value
    assert all(password.outputs["result"].value not in text for text in renderings(aws_plan).values())


def test_mock_outputs_are_the_same_every_run(aws_plan: Plan, tmp_path: Path) -> None:
    again = run_stack("dev", project=sample_project(tmp_path, AWS_PROGRAM, {"dev": {"aws:region": "eu-west-1"}}))
    assert as_json(again) == as_json(aws_plan)
    assert again.one("random:index/randomPassword:RandomPassword").outputs["result"].value == (
        aws_plan.one("random:index/randomPassword:RandomPassword").outputs["result"].value
    )


# The readers, on real Pulumi CLI outputs.


def test_a_preview_reads_as_its_fifteen_resources() -> None:
    plan = load(PREVIEW)
    assert (plan.stack, plan.project, plan.source, len(plan.resources)) == ("dev", "sample", "preview", 15)
    assert plan.counts()["aws:iam/rolePolicyAttachment:RolePolicyAttachment"] == 9
    bucket = plan.one("aws:s3/bucket:Bucket")
    subscription = plan.one("aws:s3:BucketEventSubscription")
    function = plan.one("aws:lambda/function:Function")
    role = plan.one("aws:iam/role:Role")
    assert (bucket.name, subscription.name, function.name) == ("docs", "docsHandler", "docsHandler")
    assert not subscription.custom and bucket.custom
    assert subscription.parent == bucket.urn and function.parent == subscription.urn
    assert bucket.parent == f"urn:pulumi:dev::sample::{STACK_TYPE}::sample-dev"
    assert function.dependencies == [role.urn]
    assert function.provider == "urn:pulumi:dev::sample::pulumi:providers:aws::default_6_63_0"
    assert function.inputs["role"] == UNKNOWN
    assert function.inputs["runtime"] == "nodejs20.x"
    assert set(function.inputs["code"]["archive"]["assets"]["__index.js"]["asset"]) == {"hash", "text"}
    assert bucket.id is None


def test_a_stack_export_reads_as_its_ten_resources() -> None:
    plan = load(VPC_EXPORT)
    assert (plan.stack, plan.project, plan.source, len(plan.resources)) == ("test", "lb", "export", 10)
    assert plan.counts()["aws:ec2/subnet:Subnet"] == 2
    provider = plan.one("pulumi:providers:aws")
    vpc, listener = plan.one("aws:ec2/vpc:Vpc"), plan.one("aws:lb/listener:Listener")
    balancer, target_group = plan.one("aws:lb/loadBalancer:LoadBalancer"), plan.one("aws:lb/targetGroup:TargetGroup")
    assert (provider.name, vpc.name, listener.name) == ("default", "exampleVpc", "exampleListener")
    assert set(listener.dependencies) == {balancer.urn, target_group.urn}
    assert all(r.provider == provider.urn for r in plan.resources if r is not provider)
    assert vpc.id and vpc.id.startswith("vpc-") and vpc.outputs["id"] == vpc.id
    assert balancer.inputs["loadBalancerType"] == "application"


def test_an_exports_secrets_come_out_as_secret() -> None:
    plan = load(RDS_EXPORT)
    assert (plan.stack, plan.project, plan.source, len(plan.resources)) == ("test", "test", "export", 2)
    instance = plan.one("aws:rds/instance:Instance")
    assert instance.name == "tested-resource"
    assert (
        instance.provider
        == plan.one("pulumi:providers:aws").urn
        == "urn:pulumi:test::test::pulumi:providers:aws::provider"
    )
    assert instance.outputs["password"] == Secret() and instance.outputs["password"].value is None
    # The test program passed the password without pulumi.secret(), and the plan says so rather than hide it.
    assert instance.inputs["password"] == "mypassword"
    for name, text in renderings(plan).items():
        assert RDS_CIPHERTEXT not in text, name
    assert json.loads(as_json(plan))["resources"][1]["outputs"]["password"] == "[secret]"


@pytest.mark.parametrize("path", [PREVIEW, VPC_EXPORT, RDS_EXPORT], ids=lambda p: p.name)
def test_real_outputs_round_trip_and_draw(path: Path) -> None:
    plan = load(path)
    assert read(json.loads(as_json(plan))) == plan
    check_dot(plan)


def test_the_fixtures_are_the_recorded_files() -> None:
    sources = (FIXTURES / "SOURCES.md").read_text()
    for path in (PREVIEW, VPC_EXPORT, RDS_EXPORT):
        assert f"`{path.name}` | {path.stat().st_size:,} |" in sources


@pytest.mark.parametrize(
    ("content", "message"),
    [("[]", "neither a plan"), ('{"version": 2, "source": "mocks", "resources": []}', "version 2"), ("{", "not JSON")],
)
def test_files_that_are_no_plan_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content)
    with pytest.raises(PlanError, match=message):
        load(path)


# `parley plan`.


def test_plan_prints_the_tree_and_counts() -> None:
    result = invoke("--stack", "k8s-dev")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "stack k8s-dev of project parley, from mocks"
    assert re.search(r"^parley:kubernetes:Parley +parley$", result.stdout, re.MULTILINE)
    assert re.search(
        r"^  kubernetes:core/v1:Namespace +parley-namespace-parley +metadata.name=parley", result.stdout, re.MULTILINE
    )
    assert "18 resources: 17 custom, 1 component" in result.stdout


def test_plan_json_and_dot_formats() -> None:
    result = invoke("--stack", "k8s-prod", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["version"], document["stack"], document["source"], document["total"]) == (
        1,
        "k8s-prod",
        "mocks",
        14,
    )
    assert document["stand_ins"] == ["parley:busUrl", "parley:databaseUrl", "parley:secretKey"]
    assert "offline-plan-stand-in" not in result.stdout
    dot = invoke("--stack", "k8s-prod", "-f", "dot")
    assert dot.exit_code == 0 and dot.stdout.startswith("digraph plan {")


def test_plan_all_summarises_every_stack_with_times() -> None:
    result = invoke("--all")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()[1:]}
    assert list(rows) == [*STACKS, "total"]
    assert sum(int(rows[stack][0]) for stack in STACKS) == int(rows["total"][0])
    assert all(re.fullmatch(r"\d+\.\d\d", rows[stack][3]) for stack in [*STACKS, "total"])


def test_plan_shows_a_preview_or_export_file() -> None:
    result = invoke("--file", str(RDS_EXPORT))
    assert result.exit_code == 0, result.output
    assert "stack test of project test, from export" in result.stdout
    assert RDS_CIPHERTEXT not in result.stdout
    assert "2 resources: 2 custom, 0 components" in result.stdout


def test_an_unknown_stack_is_refused_with_the_known_ones() -> None:
    result = invoke("--stack", "nowhere")
    assert result.exit_code == 2
    assert "unknown stack 'nowhere'" in result.stderr
    assert all(stack in result.stderr for stack in STACKS)


def test_a_failing_program_prints_its_message_without_a_traceback(tmp_path: Path) -> None:
    sample_project(tmp_path, BROKEN_PROGRAM, {"broken": {}, "fine": {}})
    result = invoke("--stack", "broken", "--project-dir", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == "error: the program of stack 'broken' failed: the broken stack stops here\n"
    assert "Traceback" not in result.output
    every = invoke("--all", "--project-dir", str(tmp_path))
    assert every.exit_code == 1
    assert re.search(r"^broken +- +- +- +\d+\.\d\d +failed$", every.stdout, re.MULTILINE)
    assert "broken: the program of stack 'broken' failed: the broken stack stops here" in every.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("--stack", "k8s-dev", "--format", "yaml"),
        (),
        ("--stack", "k8s-dev", "--all"),
        ("--all", "--format", "json"),
    ],
    ids=["bad-format", "nothing-to-plan", "two-things-to-plan", "all-as-json"],
)
def test_bad_flags_are_usage_errors(args: tuple[str, ...]) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("content", [None, "not json"], ids=["missing", "not-json"])
def test_a_file_that_is_no_plan_is_an_error(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "preview.json"
    if content is not None:
        path.write_text(content)
    result = invoke("--file", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")


# How `parley` finds `plan` without importing infra.


def test_plan_is_registered_as_a_parley_command_entry_point() -> None:
    (entry,) = [e for e in entry_points(group="parley.commands") if e.name == "plan"]
    assert entry.value == "infra.plan.cli:app"


def test_without_the_infra_extra_plan_is_left_out_and_help_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in the runtime image: infra is importable but the Pulumi SDK is not."""
    real_import = importlib.import_module

    def import_without_pulumi(name: str, package: str | None = None) -> Any:
        if name.startswith("infra.plan"):
            raise ModuleNotFoundError("No module named 'pulumi'", name="pulumi")
        return real_import(name, package)

    monkeypatch.setattr("importlib.metadata.import_module", import_without_pulumi)
    app = typer.Typer(help="Parley.")
    app.callback()(lambda: None)
    add_plugin_commands(app)
    assert "plan" not in [group.name for group in app.registered_groups]
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "plan: install the infra extra (pip install 'parley[infra]')" in " ".join(result.stdout.split())


def test_a_missing_module_no_extra_provides_is_named() -> None:
    (real,) = [e for e in entry_points(group="parley.commands") if e.name == "plan"]
    assert _install_hint(real, "pulumi_kubernetes.core") == "install the infra extra (pip install 'parley[infra]')"
    assert _install_hint(real, "a_module_nowhere") == "needs a_module_nowhere, which is not installed"
    lost = EntryPoint("plan", "a_module_nowhere:app", "parley.commands")
    assert _install_hint(lost, "a_module_nowhere") == "needs a_module_nowhere, which is not installed"
