"""Benchmarks behind `make bench`: each bench_*.py module measures one target of the README's
performance table."""
