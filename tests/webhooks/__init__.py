"""The webhook sender against real receivers."""
