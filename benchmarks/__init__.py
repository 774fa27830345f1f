"""Benchmarks: each `bench_*.py` module measures one area side by side with its peer."""
