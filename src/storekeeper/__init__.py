"""Storekeeper: a REST API for stores, their items and tags, and the users who own them."""

__version__ = "0.1.0"
