"""The price catalog: every shipped price is well formed and sourced; bad files are refused, naming the entry."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.cost.prices import CATALOG_DIR, CLOUDS, CatalogError, load_catalog, read_file


def test_every_cloud_has_its_reference_region():
    catalog = load_catalog()
    for cloud, region in (("aws", "us-east-1"), ("azure", "eastus"), ("gcp", "us-central1")):
        assert any(p.region == region for p in catalog.of_cloud(cloud))


@pytest.mark.parametrize("cloud", CLOUDS)
def test_prices_name_their_source_and_how_they_were_got(cloud):
    for price in read_file(CATALOG_DIR / f"{cloud}.yaml"):
        assert price.source.startswith("https://"), price.sku
        assert price.method in ("manual", "api")
        assert price.usd >= 0


def _write(tmp_path: Path, entries: list[dict]) -> Path:
    document = yaml.safe_load((CATALOG_DIR / "aws.yaml").read_text())
    document["prices"] = entries
    (tmp_path / "aws.yaml").write_text(yaml.safe_dump(document))
    return tmp_path


def _entry(**changes):
    base = {
        "sku": "kms.key",
        "service": "KMS",
        "region": "us-east-1",
        "unit": "month",
        "usd": 1.0,
        "source": "https://aws.amazon.com/kms/pricing/",
        "date": "2026-11-27",
        "method": "manual",
    }
    return {**base, **changes}


def test_bad_entry_is_named(tmp_path: Path):
    directory = _write(tmp_path, [_entry(), _entry(sku="x", usd="cheap")])
    with pytest.raises(CatalogError, match=r"aws\.yaml: prices/1/usd: 'cheap' is not of type 'number'"):
        load_catalog(directory)


def test_price_listed_twice_is_refused(tmp_path: Path):
    directory = _write(tmp_path, [_entry(), _entry(usd=2.0)])
    with pytest.raises(CatalogError, match=r"kms\.key in us-east-1 is listed twice"):
        load_catalog(directory)


def test_unknown_sku_is_an_error_naming_it():
    with pytest.raises(CatalogError, match=r"no price for nothing\.here"):
        load_catalog().get("aws", "nothing.here", "us-east-1")
