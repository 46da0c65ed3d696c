"""Webhooks: where deliveries may go, how they are sent, and how they are signed."""
