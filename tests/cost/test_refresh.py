"""`parley cost refresh` against stubbed price APIs: botocore's Stubber for the AWS Price List Query API and
httpx.MockTransport for the Azure Retail Prices API, answering with stored answers of each API's shape."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.stub import ANY, Stubber

from infra.cost.prices import CATALOG_DIR, load_catalog, read_file
from infra.cost.refresh import AZURE_PRICES_URL, RefreshError, refresh_catalog

FIXTURES = Path(__file__).parent / "fixtures"
TODAY = date(2026, 11, 1)


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    for cloud in ("aws", "azure"):
        shutil.copy(CATALOG_DIR / f"{cloud}.yaml", tmp_path / f"{cloud}.yaml")
    return tmp_path


def _only(tmp: Path, cloud: str, sku: str, region: str) -> None:
    """Keep one refreshable entry (and every entry without a query), so the stub answers exactly one call."""
    path = tmp / f"{cloud}.yaml"
    text = path.read_text()
    from infra.cost.prices import about_of, write_file

    kept = [p for p in read_file(path) if not p.refresh or (p.sku, p.region) == (sku, region)]
    write_file(path, kept, about=about_of(path))
    assert text != path.read_text()


def test_aws_refresh_updates_price_date_and_method(catalog_dir: Path):
    _only(catalog_dir, "aws", "rds.postgres.db.t4g.micro", "us-east-1")
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    answer = json.loads((FIXTURES / "aws-get-products-rds.json").read_text())
    with Stubber(client) as stub:
        expected = {
            "ServiceCode": "AmazonRDS",
            "Filters": [
                {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"},
                {"Type": "TERM_MATCH", "Field": "instanceType", "Value": "db.t4g.micro"},
                {"Type": "TERM_MATCH", "Field": "databaseEngine", "Value": "PostgreSQL"},
                {"Type": "TERM_MATCH", "Field": "deploymentOption", "Value": "Single-AZ"},
            ],
            "MaxResults": ANY,
        }
        stub.add_response("get_products", answer, expected)
        outcomes = refresh_catalog("aws", directory=catalog_dir, client=client, today=TODAY)
        stub.assert_no_pending_responses()
    assert [(o.sku, o.before, o.after, o.status) for o in outcomes] == [
        ("rds.postgres.db.t4g.micro", 0.016, 0.017, "updated")
    ]
    price = load_catalog(catalog_dir).prices[("aws", "rds.postgres.db.t4g.micro", "us-east-1")]
    assert (price.usd, price.date, price.method) == (0.017, "2026-11-01", "api")
    assert price.source.startswith("https://aws.amazon.com/rds/")
    untouched = load_catalog(catalog_dir).prices[("aws", "kms.key", "us-east-1")]
    assert untouched.method == "manual"


def test_aws_product_not_found_is_reported_and_kept(catalog_dir: Path):
    _only(catalog_dir, "aws", "elasticache.cache.t4g.micro", "us-west-2")
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": []})
        outcomes = refresh_catalog("aws", directory=catalog_dir, client=client, today=TODAY)
    assert [o.status for o in outcomes] == ["missing"]
    assert load_catalog(catalog_dir).prices[("aws", "elasticache.cache.t4g.micro", "us-west-2")].method == "manual"


def test_aws_api_error_is_a_refresh_error(catalog_dir: Path):
    _only(catalog_dir, "aws", "elasticache.cache.t4g.micro", "us-west-2")
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub, pytest.raises(RefreshError, match="Price List"):
        stub.add_client_error("get_products", "AccessDeniedException", "not allowed")
        refresh_catalog("aws", directory=catalog_dir, client=client, today=TODAY)


def test_azure_refresh_follows_filter_and_dry_run_writes_nothing(catalog_dir: Path):
    _only(catalog_dir, "azure", "redis.Standard_C0", "eastus")
    answer = json.loads((FIXTURES / "azure-retail-prices-redis.json").read_text())
    asked: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        assert str(request.url).startswith(AZURE_PRICES_URL)
        asked.append(request.url.params["$filter"])
        return httpx.Response(200, json=answer)

    before = (catalog_dir / "azure.yaml").read_text()
    http = httpx.Client(transport=httpx.MockTransport(handle))
    outcomes = refresh_catalog("azure", directory=catalog_dir, http=http, dry_run=True, today=TODAY)
    assert [(o.before, o.after, o.status) for o in outcomes] == [(0.055, 0.06, "updated")]
    assert "skuName eq 'C0'" in asked[0] and "armRegionName eq 'eastus'" in asked[0]
    assert (catalog_dir / "azure.yaml").read_text() == before
    refresh_catalog("azure", directory=catalog_dir, http=http, today=TODAY)
    assert load_catalog(catalog_dir).prices[("azure", "redis.Standard_C0", "eastus")].usd == 0.06


def test_azure_follows_next_page(catalog_dir: Path):
    _only(catalog_dir, "azure", "redis.Standard_C0", "eastus")
    answer = json.loads((FIXTURES / "azure-retail-prices-redis.json").read_text())
    pages = iter([{"Items": [], "NextPageLink": f"{AZURE_PRICES_URL}?page=2"}, answer])
    http = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, json=next(pages))))
    outcomes = refresh_catalog("azure", directory=catalog_dir, http=http, dry_run=True, today=TODAY)
    assert outcomes[0].after == 0.06


def test_azure_http_error_is_a_refresh_error(catalog_dir: Path):
    http = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(503)))
    with pytest.raises(RefreshError, match="Azure Retail Prices API"):
        refresh_catalog("azure", directory=catalog_dir, http=http, dry_run=True, today=TODAY)
