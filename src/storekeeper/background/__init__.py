"""Background work: the queue, the worker process, and the jobs it runs."""
