"""`parley cost refresh`: update the catalog's prices from the clouds' price APIs. AWS through the Price List
Query API (boto3 `pricing` get_products, filtered by each entry's `refresh.filters`), Azure through the Retail
Prices API (`$filter` from each entry's `refresh.filter`). Entries without a `refresh` query keep their price."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import httpx

from infra.cost.prices import CATALOG_DIR, Price, about_of, read_file, write_file

AZURE_PRICES_URL = "https://prices.azure.com/api/retail/prices"
# The Price List Query API answers only in these regions; us-east-1 serves every region's prices.
AWS_PRICING_REGION = "us-east-1"
Status = Literal["updated", "unchanged", "missing"]


class RefreshError(Exception):
    """A price API that cannot be reached or answers something unreadable."""


@dataclass(frozen=True)
class Outcome:
    """What refresh found for one catalog entry: its price `before` and `after` (the same when unchanged or
    missing), and why when missing."""

    sku: str
    region: str
    before: float
    after: float
    status: Status
    detail: str = ""


def _first_usd(price_list: list[str]) -> float | None:
    """The first on-demand USD price of the first tier (beginRange 0) in a get_products answer."""
    for raw in price_list:
        product = json.loads(raw)
        for term in (product.get("terms") or {}).get("OnDemand", {}).values():
            dimensions = sorted(term.get("priceDimensions", {}).values(), key=lambda d: float(d.get("beginRange", 0)))
            for dimension in dimensions:
                usd = dimension.get("pricePerUnit", {}).get("USD")
                if usd is not None and float(dimension.get("beginRange", 0)) == 0:
                    return float(usd)
    return None


def aws_price(client: Any, query: dict[str, Any]) -> float | None:
    """The price one entry's query finds, scaled by its `per` (API prices are per unit; the catalog's may be per
    million), or None when the API knows no such product."""
    filters = [{"Type": "TERM_MATCH", "Field": field, "Value": str(value)} for field, value in query["filters"].items()]
    answer = client.get_products(ServiceCode=query["service_code"], Filters=filters, MaxResults=100)
    usd = _first_usd(answer.get("PriceList", []))
    return None if usd is None else usd * float(query.get("per", 1))


def azure_price(http: httpx.Client, query: dict[str, Any]) -> float | None:
    """The consumption price one entry's `$filter` finds (first tier, the entry's unit of measure when it names
    one), scaled by its `per`, following the API's next pages."""
    url: str | None = AZURE_PRICES_URL
    params: dict[str, str] | None = {"$filter": query["filter"]}
    while url:
        try:
            response = http.get(url, params=params)
            response.raise_for_status()
            page = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise RefreshError(f"Azure Retail Prices API: {error}") from error
        for item in page.get("Items", []):
            if query.get("unit") and item.get("unitOfMeasure") != query["unit"]:
                continue
            if float(item.get("tierMinimumUnits", 0)) == 0 and item.get("type", "Consumption") == "Consumption":
                return float(item["retailPrice"]) * float(query.get("per", 1))
        url, params = page.get("NextPageLink"), None
    return None


def refresh_prices(
    prices: list[Price], lookup: Callable[[dict[str, Any]], float | None], *, today: date
) -> tuple[list[Price], list[Outcome]]:
    """Every entry with a `refresh` query asked through `lookup`; found prices replace the old with today's date
    and `method: api`. A query that finds nothing leaves its entry alone and is reported as missing."""
    updated, outcomes = [], []
    for price in prices:
        if not price.refresh:
            updated.append(price)
            continue
        found = lookup(price.refresh)
        if found is None:
            outcomes.append(
                Outcome(price.sku, price.region, price.usd, price.usd, "missing", "no product matches the query")
            )
            updated.append(price)
            continue
        status: Status = "unchanged" if abs(found - price.usd) < 1e-12 else "updated"
        outcomes.append(Outcome(price.sku, price.region, price.usd, found, status))
        updated.append(dataclasses.replace(price, usd=found, date=today.isoformat(), method="api"))
    return updated, outcomes


def refresh_catalog(
    cloud: str,
    *,
    directory: Path = CATALOG_DIR,
    client: Any = None,
    http: httpx.Client | None = None,
    dry_run: bool = False,
    today: date | None = None,
) -> list[Outcome]:
    """Refresh `<directory>/<cloud>.yaml` (aws or azure) and rewrite it unless `dry_run`. `client` is a boto3
    `pricing` client and `http` an httpx client: tests pass stubbed ones; by default real ones are made."""
    path = directory / f"{cloud}.yaml"
    prices = read_file(path)
    if cloud == "aws":
        if client is None:
            import boto3  # only here: the other commands work without AWS credentials or boto3

            client = boto3.client("pricing", region_name=AWS_PRICING_REGION)
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            updated, outcomes = refresh_prices(prices, lambda q: aws_price(client, q), today=today or date.today())
        except (BotoCoreError, ClientError) as error:
            raise RefreshError(f"AWS Price List Query API: {error}") from error
    elif cloud == "azure":
        session = http or httpx.Client(timeout=30)
        try:
            updated, outcomes = refresh_prices(prices, lambda q: azure_price(session, q), today=today or date.today())
        finally:
            if http is None:
                session.close()
    else:
        raise RefreshError(f"no price API to refresh {cloud} from (aws and azure have one)")
    if not dry_run:
        write_file(path, updated, about=about_of(path))
    return outcomes
