# The one list of commands. `make run` serves the API; `make test` checks everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
MINUTES ?= 30
N ?= 2

# $(call system-packages,COMMANDS,PACKAGES): install Debian's PACKAGES when any of COMMANDS is
# missing, as root or through sudo. /usr/sbin is searched too: Debian keeps daemons there, and a
# user's PATH may lack it.
system-packages = @PATH="$$PATH:/usr/sbin"; for tool in $(1); do command -v $$tool >/dev/null 2>&1 || missing=1; done; \
	[ -z "$$missing" ] || { sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2); }

.PHONY: help run test test-fast lint typecheck install install-dev lock bench bench-smoke bench-long profile soak wrk deploy-tools browser screenshots cluster clean newman tutorial client-models

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24.3"

$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

# Only its own stamp: the dev lock holds packages the runtime lock may lack, so installing it
# must never count as `make install` (a server once ran here only because of the dev lock).
$(VENV)/.installed-dev: requirements-dev.lock pyproject.toml clients/python/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e . -e clients/python
	@touch $@

install: $(VENV)/.installed ## install the app from the lock file

install-dev: $(VENV)/.installed-dev ## install the app and the test tools from the lock file

# The worker runs beside the server; Ctrl-C reaches both (one process group), and the trap
# stops the worker however the server ended. A job started with & ignores SIGINT, so a worker
# still starting (before it installs its own handler) would miss a Ctrl-C; and dash (/bin/sh)
# killed by an untrapped SIGINT or SIGTERM skips its EXIT trap: trapping both makes it exit
# through that trap once the server has stopped, and the worker is stopped either way.
# Webhooks may go to private and loopback addresses here (unless the caller says otherwise):
# this is a server on one's own machine, whose receivers are on that machine too.
run: install ## set up and serve the API and its background worker on http://127.0.0.1:8000 (SQLite by default)
	$(BIN)/storekeeper db upgrade
	export STOREKEEPER_WEBHOOK_ALLOW_PRIVATE=$${STOREKEEPER_WEBHOOK_ALLOW_PRIVATE:-true}; \
	STOREKEEPER_PUBLIC_URL=$${STOREKEEPER_PUBLIC_URL:-http://$(HOST):$(PORT)} $(BIN)/storekeeper worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; \
	$(BIN)/storekeeper serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

lint: install-dev ## ruff
	$(BIN)/ruff check src tests deploy bench clients docs
	$(BIN)/ruff format --check src tests deploy bench clients docs

typecheck: install-dev ## mypy --strict
	$(BIN)/mypy

test: lint typecheck deploy-tools browser newman wrk container-tools ## lint, type check and every test, on SQLite and PostgreSQL (when reachable), with coverage
	$(BIN)/python -m pytest -n 2 --dist loadgroup --cov --cov-report=term:skip-covered

# The quick loop while developing: no lint, no coverage, no system package, no live server.
# Every PostgreSQL variant is deselected by its "[postgresql]" id (the test_database fixture's
# parameter), so no test waits for or needs a database server; `make test` runs them all.
test-fast: install-dev ## unit and API tests on SQLite only, no system packages: the quick loop (about 30 s)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q tests/unit tests/api -k "not postgresql"

# newman runs the Postman collection (clients/postman) in tests/postman; node and npm are on the
# machine, the package versions come from clients/postman/package-lock.json.
NEWMAN := clients/postman/node_modules/.bin/newman
newman: $(NEWMAN) ## install newman from clients/postman/package-lock.json when missing

$(NEWMAN): clients/postman/package.json clients/postman/package-lock.json
	$(call system-packages,npm,nodejs npm)
	cd clients/postman && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Jupyter refuses to run as root unless told; a root shell (a container) is told.
tutorial: install-dev $(VENV)/.installed-tutorial ## open the tutorial notebook in JupyterLab (start `make run` first)
	$(BIN)/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) docs/tutorial/storekeeper.ipynb

$(VENV)/.installed-tutorial: requirements-tutorial.lock
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements-tutorial.lock
	@touch $@

.PHONY: postman
postman: install-dev ## rebuild clients/postman's collection JSON from clients/postman/collection.toml
	$(BIN)/python -m tests.postman.build --write

client-models: install-dev ## regenerate clients/python's models from the app's OpenAPI document
	$(BIN)/python -m tests.client.codegen --write

wrk: ## install the wrk load generator from the system packages when it is missing
	$(call system-packages,wrk,wrk)

# nginx and PgBouncer for tests/cluster. Debian keeps them in /usr/sbin, which a user's PATH
# may lack. On a machine with systemd, the packages start their own services (nginx on port 80,
# PgBouncer on 6432); the tests run their own copies on free ports.
# openssl makes the self-signed certificate of the mail tests' STARTTLS and smtps servers.
# redis-server: the tests that count in Redis start their own (tests/redis_server.py), never
# sharing the machine's Redis with another test run.
deploy-tools: ## install nginx, PgBouncer, openssl and redis-server from the system packages when missing
	$(call system-packages,nginx pgbouncer openssl redis-server,nginx pgbouncer openssl redis-server)

# podman, runc and debootstrap for the container test (tests/container) and `make container`.
# No registry is reachable here, so the base image is debootstrapped from the machine's Debian
# mirror (deploy/container.py); podman runs with deploy/podman/containers.conf (runc, no
# ulimits, cgroupfs, events in a file: why in its comments). Debian keeps runc and debootstrap
# in /usr/sbin.
.PHONY: container-tools container
container-tools: ## install podman, runc and debootstrap from the system packages when missing
	$(call system-packages,podman runc debootstrap,podman runc debootstrap)

container: install container-tools ## build deploy/Containerfile with podman as localhost/storekeeper, on a Debian base made here
	$(BIN)/python -m deploy.container build

# Debian's Chromium for the console's browser tests (tests/console): Playwright drives it as
# /usr/bin/chromium, since Playwright's own browser download cannot work offline.
browser: ## install Chromium from the system packages when it is missing
	$(call system-packages,chromium,chromium)

screenshots: install-dev browser ## retake the console's pictures in docs/console/ (docs/console.md shows them)
	CONSOLE_SCREENSHOTS=docs/console $(BIN)/python -m pytest -p no:xdist -q tests/console/test_screenshots.py tests/console/test_webhooks.py

cluster: install deploy-tools ## N instances (N=2) + nginx on http://127.0.0.1:8080, PostgreSQL, Redis
	$(BIN)/python -m deploy.cluster --instances $(N)

bench: install-dev wrk deploy-tools ## benchmarks on SQLite and PostgreSQL (ratios to floors measured in the same run), and nginx in front
	$(BIN)/python -m bench.run

bench-smoke: install-dev wrk ## a few seconds, proving the benchmark harness runs
	$(BIN)/python -m bench.run --smoke

profile: install-dev wrk ## where a request's time goes, per layer: in process, and under load with py-spy
	$(BIN)/python -m bench.profile --load

bench-long: install-dev wrk ## adds the 1,000,000-item scaling run, the 10-minute leak check and the CSV export of 1,000,000 items
	$(BIN)/python -m bench.run --long
	$(BIN)/python -m bench.transfer_cost export --items 10000,1000000

soak: install-dev ## $(MINUTES) minutes of mixed and hostile load, a worker SIGKILL a minute (docs/reliability.md)
	$(BIN)/python -m bench.soak --minutes $(MINUTES)

lock: ## re-pin every dependency (needs network); the runtime and tutorial locks take the dev lock's versions
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements-dev.lock -q
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 -c requirements-dev.lock -o requirements.lock -q
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra tutorial --generate-hashes --python-version 3.11 -c requirements-dev.lock -o requirements-tutorial.lock -q

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.* htmlcov clients/postman/node_modules
