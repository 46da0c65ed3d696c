"""The production server: gunicorn's arbiter supervising gevent workers, safe to expose directly.

Why this server (measured, see docs/reliability.md): every slow or idle client costs a
greenlet, not a thread, so a flood of idle sockets or half-sent requests cannot starve the
workers; gunicorn reads the request line and headers under a deadline (the keep-alive
timeout, which also closes idle connections), its parser refuses ambiguous framing, and its
arbiter replaces a worker that dies or stops answering its heartbeat.

Built on gunicorn's public surface: its settings and server hooks, a worker class (a
documented setting) and `BaseApplication`. The modules, by what they hold:

- `limits`: every bound the server puts on a client;
- `application`: gunicorn's settings, the application it serves, `python -m storekeeper.serving`;
- `hooks`: the server hooks (Ctrl-C in the arbiter, requests in flight, metrics files);
- `worker`: the gevent worker's main loop (stops in stages) and its refusals' answer;
- `connection`: what each request's connection gets (timeouts, TCP_CORK, a fair turn);
- `refusals`: problem+json answers to what gunicorn's parser refuses;
- `handoff`: the settings `storekeeper serve` parsed, handed to the server it execs.

Nothing here imports the application at import time: workers are forked from the arbiter,
and each must import SQLAlchemy, psycopg and the app only after gevent has patched it.
"""
