"""Pricing what the Pulumi CLI writes: a real `pulumi preview --json` and real `pulumi stack export` files
(tests/infra/fixtures, copied from public repositories; see their SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.cost.prices import load_catalog
from infra.cost.report import build_report
from infra.cost.usage import HOURS_PER_MONTH, load_profile
from infra.plan import load

FIXTURES = Path(__file__).parents[1] / "infra" / "fixtures"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_export_region_comes_from_arns(catalog):
    report = build_report(load(FIXTURES / "stack-export_aws-vpc-alb.json"), catalog=catalog, profile=None)
    assert report.home_region == "us-west-2"
    alb = next(r for r in report.resources if r.type == "aws:lb/loadBalancer:LoadBalancer")
    assert alb.region == "us-west-2"
    assert alb.monthly == pytest.approx(HOURS_PER_MONTH * catalog.prices[("aws", "elb.alb.hour", "us-west-2")].usd)
    assert report.with_status("not priced") == []


def test_export_database_uses_the_providers_defaults(catalog):
    report = build_report(
        load(FIXTURES / "stack-export_aws-rds-instance_secret-output.json"), catalog=catalog, profile=None
    )
    (database,) = report.with_status("priced")
    # The export holds what the provider filled in: gp2 storage, Single-AZ.
    assert {c.sku for c in database.components} == {"rds.postgres.db.t4g.micro", "rds.storage.gp2"}


def test_preview_without_region_is_priced_in_the_reference_region_and_says_so(catalog):
    plan = load(FIXTURES / "preview-json_aws-s3-lambda_create.json")
    report = build_report(plan, catalog=catalog, profile=load_profile())
    function = next(r for r in report.resources if r.type == "aws:lambda/function:Function")
    assert function.region == "us-east-1"
    assert "region unknown" in function.note
    assert function.monthly > 0
    given = build_report(plan, catalog=catalog, profile=load_profile(), region="us-west-2")
    assert {r.region for r in given.with_status("priced")} == {"us-west-2"}
