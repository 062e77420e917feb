"""Benchmarks of the matching service (see README.md)."""
