"""Deployment files and operator tooling: nginx site, PgBouncer config, `make cluster`."""
