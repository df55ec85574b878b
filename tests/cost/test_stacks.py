"""Every shipped stack priced at the default profile, each planned once; diffs, formats and the CLI on them."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.cost import cli
from infra.cost.html import as_html
from infra.cost.prices import load_catalog
from infra.cost.render import as_json, as_markdown, as_table, compare_table
from infra.cost.report import build_report, diff, from_json, to_json
from infra.cost.usage import load_profile
from infra.plan.config import load_project
from infra.plan.render import as_json as plan_json
from tests.support.plans import planned

STACKS = list(load_project().stacks())


@pytest.fixture(scope="module")
def plans():
    return {stack: planned(stack) for stack in STACKS}


@pytest.fixture(scope="module")
def reports(plans):
    catalog, profile = load_catalog(), load_profile()
    return {
        stack: build_report(plans[stack], catalog=catalog, profile=profile, region=_home(stack)) for stack in STACKS
    }


def _home(stack: str) -> str | None:
    from infra.plan.config import stack_config

    values = stack_config(load_project(), stack).values
    return next((values[k] for k in cli.REGION_KEYS if values.get(k)), None)


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_is_priced_free_or_outside(reports, stack):
    unpriced = [(r.type, r.note) for r in reports[stack].with_status("not priced")]
    assert unpriced == []


@pytest.mark.parametrize("stack", [s for s in STACKS if not s.startswith("k8s")])
def test_cloud_stacks_cost_something(reports, stack):
    report = reports[stack]
    assert report.total > 0
    assert report.total == pytest.approx(sum(report.by_region().values()))
    assert report.total == pytest.approx(sum(report.by_service().values()))


def test_kubernetes_stacks_are_outside(reports):
    report = reports["k8s-dev"]
    assert report.total == 0
    assert {r.status for r in report.resources} == {"outside"}


def test_prod_spans_two_regions_and_the_failover_is_idle(reports):
    report = reports["aws-prod"]
    assert set(report.by_region()) == {"us-east-1", "us-west-2"}
    west_usage = [c for r, c in report.components() if r.region == "us-west-2" and c.kind == "usage"]
    # The failover region only receives the database's replication stream.
    assert [c.name for c in west_usage] == ["replication from the primary region"]


def test_serverless_is_almost_all_usage(reports):
    report = reports["aws-serverless-prod"]
    assert report.kind_total("usage") > 10 * report.kind_total("hourly")
    assert {"API Gateway", "Lambda", "DynamoDB"} <= set(report.by_service())


def test_compare_two_stacks(reports):
    change = diff(reports["aws-dev"], reports["aws-prod"])
    assert change.delta == pytest.approx(reports["aws-prod"].total - reports["aws-dev"].total)
    assert sum(c.delta for c in change.changes) == pytest.approx(change.delta, abs=0.5)
    database = next(c for c in change.changes if c.name == "parley-primary-db-postgres" and c.after and not c.before)
    assert "db.r6g.large" in database.component


def test_baseline_round_trip_shows_no_change(reports):
    report = reports["aws-staging"]
    again = from_json(json.loads(json.dumps(to_json(report))))
    assert again.total == pytest.approx(report.total)
    assert diff(again, report).changes == []


def test_formats_render(reports):
    report = reports["aws-prod"]
    assert "total" in as_table(report)
    assert as_markdown(report).startswith("### Cost of `aws-prod`")
    assert json.loads(as_json(report))["totals"]["monthly"] == pytest.approx(report.total)
    assert "aws-serverless-prod" in compare_table(list(reports.values()))


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def test_html_is_one_page_with_svg_charts(reports):
    page = as_html(reports["aws-prod"])
    parser = _Tags()
    parser.feed(page)
    assert parser.tags.count("svg") == 2
    assert parser.tags.count("path") == len(reports["aws-prod"].by_service())
    assert "<script" not in page
    assert "http://" not in page.replace("http://www.w3.org", "")


@pytest.fixture
def runner(plans, monkeypatch):
    # The CLI plans stacks with run_stack; hand it the plans made once for this module.
    monkeypatch.setattr(cli, "run_stack", lambda stack, project: plans[stack])
    return CliRunner()


def test_cli_stack_json(runner, reports):
    result = runner.invoke(cli.app, ["--stack", "aws-dev", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["totals"]["monthly"] == pytest.approx(reports["aws-dev"].total)


def test_cli_file_plan_and_baseline(runner, plans, reports, tmp_path: Path):
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(plan_json(plans["aws-staging"]))
    baseline = tmp_path / "base.json"
    baseline.write_text(json.dumps(to_json(reports["aws-dev"])))
    result = runner.invoke(cli.app, ["--file", str(plan_file), "--baseline", str(baseline), "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("### Cost of aws-staging against aws-dev")


def test_cli_compare(runner):
    result = runner.invoke(cli.app, ["compare", "--stacks", "aws-dev,aws-serverless-prod", "--users", "1000"])
    assert result.exit_code == 0, result.output
    assert "aws-serverless-prod" in result.output
    assert "messaging-10k" in result.output


def test_cli_errors_name_the_problem(runner, tmp_path: Path):
    assert "exactly one of --stack and --file" in runner.invoke(cli.app, []).output
    assert "unknown stack 'nope'" in runner.invoke(cli.app, ["--stack", "nope"]).output
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = runner.invoke(cli.app, ["--stack", "aws-dev", "--baseline", str(bad)])
    assert result.exit_code == 1
    assert "not a version 1 cost report" in result.output


def test_cli_html_and_compare_with_a_stack(runner):
    page = runner.invoke(cli.app, ["--stack", "aws-serverless-prod", "--format", "html"])
    assert page.exit_code == 0, page.output
    assert page.output.lstrip().startswith("<!doctype html>")
    change = runner.invoke(cli.app, ["--stack", "aws-staging", "--compare", "aws-dev", "--format", "json"])
    assert change.exit_code == 0, change.output
    document = json.loads(change.output)
    assert (document["base"]["stack"], document["head"]["stack"]) == ("aws-dev", "aws-staging")
    assert document["delta"] == pytest.approx(document["head"]["monthly"] - document["base"]["monthly"])


def test_cli_no_usage_leaves_only_hourly_prices(runner):
    result = runner.invoke(cli.app, ["--stack", "aws-serverless-prod", "--no-usage", "--format", "json"])
    assert result.exit_code == 0, result.output
    totals = json.loads(result.output)["totals"]
    assert totals["usage"] == 0
    assert totals["monthly"] == pytest.approx(totals["hourly"]) and totals["monthly"] > 0
