"""Parley: a self-hosted instant-messaging service."""

__version__ = "0.1.0"
