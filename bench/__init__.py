"""Benchmarks: Parley's HTTP hot paths measured against a bare Flask app in the same run.

The project measures performance here, never in timed tests: `python -m bench.http`
(or `invoke bench`), results in docs/benchmarks.md.
"""
