"""Side-by-side benchmarks (not part of the test suite): ``python -m bench [name ...]``."""
