"""Benchmarks (not part of the package). A package only so that bench.py and the tests can import the benchmark
fleet as ``benchmarks.fleet``; bench.py is run as a script (``python benchmarks/bench.py``)."""
