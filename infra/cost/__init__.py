"""Cost reports for Parley's stacks (`parley cost`): a price catalog per cloud, pricers per resource type, usage
profiles for a messaging workload, and reports as tables, JSON, Markdown and HTML. See docs/cost.md."""

from infra.cost.prices import Catalog, CatalogError, Price, load_catalog
from infra.cost.report import Report, build_report, diff, from_json, to_json
from infra.cost.usage import Profile, ProfileError, load_profile, quantities

__all__ = [
    "Catalog",
    "CatalogError",
    "Price",
    "Profile",
    "ProfileError",
    "Report",
    "build_report",
    "diff",
    "from_json",
    "load_catalog",
    "load_profile",
    "quantities",
    "to_json",
]
