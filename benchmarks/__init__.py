"""Reproducible benchmarks; `python -m benchmarks` (what `make bench` runs) runs them all."""
