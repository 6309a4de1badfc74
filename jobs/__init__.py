"""Durable jobs: a queue table with leases (queue.py) and the worker that runs them."""
