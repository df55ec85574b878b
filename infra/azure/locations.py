"""The Azure public-cloud locations a Parley stack may name (as `az account list-locations` spells them).
Sovereign clouds (Azure Government, Azure China) have other endpoints and are refused until someone deploys
there and tests it. Every location here offers availability zones, which prod's zone-redundant database,
cache and Container Apps environment need; locations without zones are left out on purpose."""

from __future__ import annotations

LOCATIONS = frozenset(
    {
        "australiaeast",
        "brazilsouth",
        "canadacentral",
        "centralindia",
        "centralus",
        "eastasia",
        "eastus",
        "eastus2",
        "francecentral",
        "germanywestcentral",
        "israelcentral",
        "italynorth",
        "japaneast",
        "japanwest",
        "koreacentral",
        "mexicocentral",
        "newzealandnorth",
        "northeurope",
        "norwayeast",
        "polandcentral",
        "qatarcentral",
        "southafricanorth",
        "southcentralus",
        "southeastasia",
        "spaincentral",
        "swedencentral",
        "switzerlandnorth",
        "uaenorth",
        "uksouth",
        "westeurope",
        "westus2",
        "westus3",
    }
)
