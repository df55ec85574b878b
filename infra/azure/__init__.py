"""Parley on Azure (target `azure`): Container Apps, PostgreSQL Flexible Server, Azure Cache for Redis and
Front Door, in one region or two. docs/azure.md tells how to deploy and operate it."""
