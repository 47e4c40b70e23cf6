"""Benchmarks of the processing path; ``bash scripts/bench.sh`` prints them as one table."""
