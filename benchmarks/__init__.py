"""Benchmarks (not part of the test suite): M4 Weekly accuracy and speed, a smart-retraining replay, and
automation at 1,000 ISBNs. Run them with ``python benchmarks/run.py --mode quick`` (see README.md)."""
