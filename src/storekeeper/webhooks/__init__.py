"""Sending webhooks: where they may go (addresses.py)."""
