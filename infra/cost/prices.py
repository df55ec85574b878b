"""The price catalog: one YAML file per cloud under `infra/cost/catalog/`, each price with its sku, region,
unit, USD price, source and date. `parley cost refresh` rewrites the files (infra/cost/refresh.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

CATALOG_DIR = Path(__file__).parent / "catalog"
CLOUDS = ("aws", "azure", "gcp")
# Where a price is looked up when the catalog has none for a resource's region: the report says so in a note.
REFERENCE_REGION = {"aws": "us-east-1", "azure": "eastus", "gcp": "us-central1"}

_ENTRY_SCHEMA = {
    "type": "object",
    "required": ["sku", "service", "region", "unit", "usd", "source", "date", "method"],
    "properties": {
        "sku": {"type": "string", "minLength": 1},
        "service": {"type": "string"},
        "description": {"type": "string"},
        "region": {"type": "string"},
        "unit": {"type": "string"},
        "usd": {"type": "number", "minimum": 0},
        "source": {"type": "string", "pattern": "^https://"},
        "date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        "method": {"enum": ["manual", "api"]},
        "refresh": {"type": "object"},
    },
}
_FILE_SCHEMA = {
    "type": "object",
    "required": ["cloud", "currency", "prices"],
    "properties": {
        "cloud": {"enum": list(CLOUDS)},
        "currency": {"const": "USD"},
        "prices": {"type": "array", "items": _ENTRY_SCHEMA},
    },
}


class CatalogError(Exception):
    """A catalog file that cannot be read, or a price the catalog does not hold."""


@dataclass(frozen=True)
class Price:
    """One list price: `usd` per `unit` of `sku` in `region`. `method` is `manual` (written from the public page
    at `source` on `date`) or `api` (fetched by `parley cost refresh` on `date`). `refresh` holds the query that
    refresh sends for it, if any."""

    cloud: str
    sku: str
    service: str
    region: str
    unit: str
    usd: float
    source: str
    date: str
    method: str
    description: str = ""
    refresh: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class Catalog:
    """Every price of the clouds loaded, looked up by (cloud, sku, region)."""

    prices: dict[tuple[str, str, str], Price] = field(default_factory=dict)

    def get(self, cloud: str, sku: str, region: str) -> tuple[Price, str]:
        """The price of `sku` in `region` (or its `global` price: Front Door, DNS), and a note. When the catalog
        holds none for that region it falls back to the cloud's reference region and says so in the note; when
        it holds none at all, `CatalogError`."""
        found = self.prices.get((cloud, sku, region)) or self.prices.get((cloud, sku, "global"))
        if found is not None:
            return found, ""
        reference = REFERENCE_REGION[cloud]
        fallback = self.prices.get((cloud, sku, reference))
        if fallback is None:
            raise CatalogError(f"the {cloud} catalog has no price for {sku}")
        return fallback, f"{reference} price of {sku}: the catalog has none for {region}"

    def of_cloud(self, cloud: str) -> list[Price]:
        return [p for (c, _, _), p in self.prices.items() if c == cloud]


def read_file(path: Path) -> list[Price]:
    """The prices of one catalog file, validated; a `CatalogError` naming the file and the bad entry."""
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise CatalogError(f"{path}: {error}") from error
    try:
        jsonschema.validate(document, _FILE_SCHEMA)
    except jsonschema.ValidationError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise CatalogError(f"{path}: {where}: {error.message}") from error
    cloud = document["cloud"]
    return [
        Price(
            cloud=cloud,
            sku=entry["sku"],
            service=entry["service"],
            region=entry["region"],
            unit=entry["unit"],
            usd=float(entry["usd"]),
            source=entry["source"],
            date=entry["date"],
            method=entry["method"],
            description=entry.get("description", ""),
            refresh=entry.get("refresh", {}),
        )
        for entry in document["prices"]
    ]


def load_catalog(directory: Path = CATALOG_DIR) -> Catalog:
    """Every `<cloud>.yaml` of `directory`. A sku listed twice for one region is an error, since either price
    could be the one used."""
    catalog = Catalog()
    for cloud in CLOUDS:
        path = directory / f"{cloud}.yaml"
        if not path.exists():
            continue
        for price in read_file(path):
            key = (price.cloud, price.sku, price.region)
            if key in catalog.prices:
                raise CatalogError(f"{path}: {price.sku} in {price.region} is listed twice")
            catalog.prices[key] = price
    return catalog


def write_file(path: Path, prices: list[Price], *, about: str = "") -> None:
    """Write `prices` (all of one cloud) back in the catalog's format, keeping each entry's source."""
    cloud = prices[0].cloud if prices else path.stem
    entries = []
    for p in prices:
        entry: dict[str, Any] = {
            "sku": p.sku,
            "service": p.service,
            "description": p.description,
            "region": p.region,
            "unit": p.unit,
            "usd": p.usd,
            "source": p.source,
            "date": p.date,
            "method": p.method,
        }
        if p.refresh:
            entry["refresh"] = p.refresh
        entries.append(entry)
    document: dict[str, Any] = {"cloud": cloud, "currency": "USD"}
    if about:
        document["about"] = about
    document["prices"] = entries
    header = f"# The {cloud} price catalog of `parley cost` (docs/cost.md). One entry per sku and region.\n"
    path.write_text(header + yaml.safe_dump(document, sort_keys=False, width=200))


def about_of(path: Path) -> str:
    """The `about` text of a catalog file, kept when refresh rewrites it."""
    return str((yaml.safe_load(path.read_text()) or {}).get("about", ""))
