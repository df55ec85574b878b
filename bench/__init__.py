"""Parley's load benchmark: `python -m bench.run` (or `make bench`); see README.md."""
