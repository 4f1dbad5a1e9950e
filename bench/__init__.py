"""Benchmarks for convo-mock: throughput and latency against a bare Starlette app and Prism, start-up
time, memory per stored item and the conformance suite's speed. Run with ``python -m bench``.

Not part of the test run: the benchmark reports numbers, the tests assert behaviour.
"""
