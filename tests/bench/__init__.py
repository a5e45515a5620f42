"""Benchmarks: figures the issues name, measured in one run each; not part of ``make test``."""
