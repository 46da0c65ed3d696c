"""Webhooks: where they may go (addresses), how they are sent (sender)."""
