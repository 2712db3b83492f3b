"""Benchmarks of mirlearn against references measured in the same run; run by hand (python -m benchmarks)."""
