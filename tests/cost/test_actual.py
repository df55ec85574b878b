"""`parley cost actual` against moto's Cost Explorer, its results injected through moto's own API."""

from __future__ import annotations

import json
from datetime import date

import boto3
import pytest
import requests
from moto import mock_aws
from typer.testing import CliRunner

from infra.cost import cli
from infra.cost.actual import ActualError, actual_costs, month_range


def _inject(groups: dict[str, str], *, estimated: bool = False) -> None:
    result = {
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"},
                "Total": {},
                "Groups": [
                    {"Keys": [k], "Metrics": {"UnblendedCost": {"Amount": v, "Unit": "USD"}}} for k, v in groups.items()
                ],
                "Estimated": estimated,
            }
        ]
    }
    answer = requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/ce/cost-and-usage-results", json={"results": [result]}
    )
    assert answer.status_code == 201


@pytest.fixture
def aws(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield


def test_spend_per_service_from_cost_explorer(aws):
    _inject({"Amazon Relational Database Service": "702.5", "AWS Fargate": "216.25"})
    found = actual_costs(boto3.client("ce", region_name="us-east-1"), stack="aws-prod", month="2026-10")
    assert found.by_service == {"Amazon Relational Database Service": 702.5, "AWS Fargate": 216.25}
    assert found.total == pytest.approx(918.75)
    assert not found.estimated


def test_cli_actual_json(aws):
    _inject({"Amazon DynamoDB": "12.5"}, estimated=True)
    result = CliRunner().invoke(cli.app, ["actual", "--stack", "aws-serverless-prod", "--month", "2026-10", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert (document["total"], document["estimated"], document["month"]) == (12.5, True, "2026-10")


def test_default_month_is_the_last_one():
    assert month_range(None, today=date(2026, 1, 15)) == ("2025-12", "2025-12-01", "2026-01-01")
    assert month_range("2026-12") == ("2026-12", "2026-12-01", "2027-01-01")


def test_bad_month_is_named():
    with pytest.raises(ActualError, match="--month '2026-13'"):
        month_range("2026-13")


def test_request_filters_on_the_stack_tag_and_follows_pages():
    from botocore.stub import Stubber

    client = boto3.client("ce", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    page = {
        "ResultsByTime": [
            {"Groups": [{"Keys": ["AWS Lambda"], "Metrics": {"UnblendedCost": {"Amount": "1.5", "Unit": "USD"}}}]}
        ]
    }
    request = {
        "TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"},
        "Granularity": "MONTHLY",
        "Metrics": ["UnblendedCost"],
        "Filter": {"Tags": {"Key": "parley:stack", "Values": ["aws-serverless-prod"], "MatchOptions": ["EQUALS"]}},
        "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}],
    }
    with Stubber(client) as stub:
        stub.add_response("get_cost_and_usage", {**page, "NextPageToken": "2"}, request)
        stub.add_response("get_cost_and_usage", page, {**request, "NextPageToken": "2"})
        found = actual_costs(client, stack="aws-serverless-prod", month="2026-10")
    assert found.by_service == {"AWS Lambda": 3.0}
